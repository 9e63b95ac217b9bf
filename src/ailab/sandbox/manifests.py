"""What is particular to one sandbox's Kubernetes objects: names, ownership, sizes from the profile, allowances.

The objects themselves come from the platform's builders (:mod:`ailab.infra.k8s`: metadata,
PSA labels, quota and limit range, network policies, roles, hardened pods), so a sandbox is
hardened exactly as the lab's own services are. Each function returns typed
``pulumi_kubernetes`` arguments; :mod:`.component` registers them. Values that come from the lab
stack at deployment time (namespace names, URLs) may be ``pulumi.Input`` s.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta, mlflow, namespaces, network, pods, qdrant, quota
from ailab.infra.k8s.rbac import MANAGE, READ, Grant
from ailab.sandbox.ids import owner_label
from ailab.sandbox.request import SandboxSpec, iso
from ailab.spec import gpu_sharing, labels, naming
from ailab.spec.model import LabSpec, Resources
from ailab.spec.types import byte_count, cpu_cores

TEAM = f"{labels.PREFIX}/team"
"""Annotation: the team members, comma-separated (usernames may not be label values)."""
REQUESTED_BY = f"{labels.PREFIX}/requested-by"
CREATED_AT = f"{labels.PREFIX}/created-at"

QUOTA = "sandbox-quota"
LIMITS = "sandbox-limits"
ROLE = naming.SANDBOX_TEAM_ROLE
WORKLOAD_SA = "workload"
WORKBENCH = "workbench"
QDRANT_SECRET = "qdrant-token"
WORKBENCH_PORT = 8888
EVAL_RUNNER = "eval-runner"
"""``app.kubernetes.io/name`` of evaluation Jobs' pods: the namespace's allowances leave them out, and
their own policy (:mod:`ailab.sandbox.evaljob`) lets them reach DNS and MLflow only."""

WORKBENCH_SHARE = 2
"""The workbench takes 1/2 of the profile's CPU and memory; the rest is for the team's jobs."""
DEFAULT_SHARE = 4
"""A container that states no resources gets 1/4 of the profile (LimitRange default)."""
WORKBENCH_RUN_AS = pods.RunAs(uid=1000, gid=100)
"""``jovyan`` and ``users`` of the Jupyter Docker Stacks images."""
HOME = pods.Scratch("home", "/home/jovyan", size_limit="10Gi")
TMP = pods.Scratch("tmp", "/tmp", size_limit="2Gi")

Egress = k8s.networking.v1.NetworkPolicyEgressRuleArgs


@dataclass(frozen=True)
class LabServices:
    """Where the lab's shared services live, as the sandbox's network policies and workbench need them."""

    mlflow_namespace: pulumi.Input[str]
    qdrant_namespace: pulumi.Input[str]
    mlflow_url: pulumi.Input[str]
    qdrant_url: pulumi.Input[str]


def namespace_name(spec: SandboxSpec) -> str:
    return naming.sandbox_namespace(spec.audit_id)


def tenant(spec: SandboxSpec) -> meta.Tenant:
    """The sandbox's objects belong to its lead, carry its data's classification and its audit id."""
    return meta.Tenant(
        owner=owner_label(spec.lead),
        data_classification=spec.data_classification,
        contact=spec.lead if "@" in spec.lead else None,
        labels={labels.AUDIT_ID: spec.audit_id},
    )


def metadata(
    spec: SandboxSpec, lab: LabSpec, name: str | None, namespace: pulumi.Input[str] | None, **extra_labels: str
) -> k8s.meta.v1.ObjectMetaArgs:
    """Metadata of an object in the sandbox (``namespace``: its name as the Namespace's Output, for ordering)."""
    return meta.object_meta(lab, name, meta.SANDBOX, namespace, tenant=tenant(spec), extra_labels=extra_labels)


def namespace_metadata(spec: SandboxSpec, lab: LabSpec) -> k8s.meta.v1.ObjectMetaArgs:
    """The namespace: PSA ``restricted``, labelled for ownership and profile, annotated with its expiry and team."""
    name = namespace_name(spec)
    ns_labels = {labels.SANDBOX_PROFILE: spec.profile_name, **namespaces.psa_labels(lab, name)}
    if spec.gpus and spec.profile.gpu_pool:
        ns_labels[labels.GPU_POOL] = spec.profile.gpu_pool
    annotations: dict[str, pulumi.Input[str]] = {
        labels.EXPIRES_AT: iso(spec.expires_at),
        labels.MAX_EXPIRES_AT: iso(spec.max_expires_at),
        labels.PURPOSE: spec.purpose,
        CREATED_AT: iso(spec.created_at),
        TEAM: ",".join(spec.team),
        REQUESTED_BY: spec.requested_by,
    }
    return meta.object_meta(lab, name, meta.SANDBOX, tenant=tenant(spec), extra_labels=ns_labels, extra_annotations=annotations)


def granted_gpus(spec: SandboxSpec, lab: LabSpec) -> dict[str, int]:
    """The quota key of the profile's pool and the sandbox's GPU count; nothing for a CPU profile."""
    if not (spec.gpus and spec.profile.gpu_pool):
        return {}
    return {gpu_sharing.quota_key(lab.gpu_pool(spec.profile.gpu_pool)): spec.gpus}


def resource_quota_spec(spec: SandboxSpec, lab: LabSpec) -> k8s.core.v1.ResourceQuotaSpecArgs:
    """The profile's CPU, memory, storage and pods; its GPUs on its pool's resource and 0 of every other GPU resource."""
    profile = spec.profile
    footprint = quota.Footprint(
        pods=profile.pods,
        millicores=round(cpu_cores(profile.cpu) * 1000),
        memory_bytes=byte_count(profile.memory),
        storage_bytes=byte_count(profile.storage),
        caps_claims=False,
    )
    return k8s.core.v1.ResourceQuotaSpecArgs(hard=quota.quota_hard(lab, footprint, gpus=granted_gpus(spec, lab)))


def _cpu_share(quantity: str, share: int) -> str:
    return f"{max(1, int(cpu_cores(quantity) * 1000) // share)}m"


def _memory_share(quantity: str, share: int) -> str:
    return f"{max(1, byte_count(quantity) // share // 2**20)}Mi"


def default_share(spec: SandboxSpec) -> dict[str, str]:
    """CPU and memory of a container that states none: 1/:data:`DEFAULT_SHARE` of the profile (evaluation Jobs take as much)."""
    profile = spec.profile
    return {"cpu": _cpu_share(profile.cpu, DEFAULT_SHARE), "memory": _memory_share(profile.memory, DEFAULT_SHARE)}


def limit_range_spec(spec: SandboxSpec) -> k8s.core.v1.LimitRangeSpecArgs:
    """A container that states no resources gets a quarter of the profile; none may exceed the profile."""
    profile = spec.profile
    default = default_share(spec)
    return quota.limit_range_spec(
        default_request=default,
        default_limit=default,
        container_max={"cpu": profile.cpu, "memory": profile.memory},
        claim_max=profile.storage,
    )


def network_policy_specs(lab: LabSpec, services: LabServices) -> dict[str, k8s.networking.v1.NetworkPolicySpecArgs]:
    """Default deny both ways, then only: DNS, the sandbox's own pods, MLflow's and Qdrant's pods, the lab's egress allowlist.

    Policies are additive, so each allowance is its own object named for what it allows. The
    allowances select every pod but evaluation Jobs' (:data:`EVAL_RUNNER`): an allowance cannot be
    taken back by another policy, so a Job's narrower policy holds only if these leave its pods out.
    """
    own_pods = [network.Peer(pod_selector=k8s.meta.v1.LabelSelectorArgs())]
    not_eval_jobs = k8s.meta.v1.LabelSelectorArgs(
        match_expressions=[k8s.meta.v1.LabelSelectorRequirementArgs(key=labels.NAME, operator="NotIn", values=[EVAL_RUNNER])]
    )
    lab_services = [
        Egress(
            to=[network.namespace_peer(services.mlflow_namespace, meta.selector_labels(lab, mlflow.APP))],
            ports=network.tcp(naming.MLFLOW_PORT),
        ),
        Egress(
            to=[network.namespace_peer(services.qdrant_namespace, meta.selector_labels(lab, qdrant.APP))],
            ports=network.tcp(naming.QDRANT_HTTP_PORT, naming.QDRANT_GRPC_PORT),
        ),
    ]
    specs = {
        "default-deny": network.isolating_spec({}),
        "allow-dns": network.isolating_spec(not_eval_jobs, egress=[network.dns_egress()]),
        "allow-same-namespace": network.isolating_spec(
            not_eval_jobs, ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=own_pods)], egress=[Egress(to=own_pods)]
        ),
        "allow-lab-services": network.isolating_spec(not_eval_jobs, egress=lab_services),
    }
    if lab.sandbox.egress_allowlist:
        allowed = [
            Egress(
                to=network.cidr_peers([rule.cidr]),
                ports=[network.Port(protocol=rule.protocol, port=port) for port in rule.ports],
            )
            for rule in lab.sandbox.egress_allowlist
        ]
        specs["allow-egress-allowlist"] = network.isolating_spec(not_eval_jobs, egress=allowed)
    return specs


TEAM_GRANTS = (
    Grant(("",), ("pods",), (*READ, "create", "delete")),
    Grant(("",), ("pods/log",), ("get",)),
    # WebSocket clients (kubectl >= 1.30) open exec and port-forward with GET, older ones with POST.
    Grant(("",), ("pods/exec", "pods/portforward"), ("get", "create")),
    Grant(("",), ("configmaps", "persistentvolumeclaims", "services"), MANAGE),
    Grant(("",), ("events", "resourcequotas", "limitranges"), READ),
    Grant(("",), ("secrets",), ("get",), resource_names=(QDRANT_SECRET,)),
    Grant(("apps",), ("deployments", "replicasets", "statefulsets"), READ),
    Grant(("apps",), ("deployments/scale",), ("get", "update", "patch")),
    Grant(("batch",), ("jobs", "cronjobs"), MANAGE),
    Grant(("networking.k8s.io",), ("networkpolicies",), READ),
)
"""What an audit team does in its namespace: run and inspect workloads, use the workbench, read its Qdrant token.

Deliberately absent: secrets beyond the sandbox's own token (creating pods already exposes every
secret in the namespace, so there is only that one), creating secrets (a service-account-token
secret would mint credentials), service accounts, RBAC, quotas, network policies (read-only)
and anything outside the namespace.
"""


def qdrant_secret_data(services: LabServices, collection: str, token: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The collection-scoped JWT, with where to use it; the workbench reads it as environment variables."""
    return {"QDRANT_URL": services.qdrant_url, "QDRANT_COLLECTION": collection, "QDRANT_API_KEY": token}


def workbench_spec(
    spec: SandboxSpec,
    lab: LabSpec,
    services: LabServices,
    *,
    service_account: pulumi.Input[str],
    experiment_id: pulumi.Input[str],
    secret_data: dict[str, pulumi.Input[str]],
) -> k8s.apps.v1.DeploymentSpecArgs:
    """A hardened JupyterLab (:func:`~ailab.infra.k8s.pods.hardened_pod_spec`), Guaranteed, with the sandbox's GPUs on its pool's nodes.

    MLflow clients in it use the audit's experiment by id (``MLFLOW_EXPERIMENT_ID``), never by
    name: given a name that does not exist (renamed away on a server without the lab's rule), the
    MLflow client would create a new experiment of that name, owned by whoever ran it. The pod
    template carries a digest of the Qdrant token Secret, so a new token restarts the workbench.

    Reached with ``kubectl port-forward`` (through the API server, not the network) and Jupyter's
    token, printed in its log.
    """
    profile = spec.profile
    share = Resources(cpu=_cpu_share(profile.cpu, WORKBENCH_SHARE), memory=_memory_share(profile.memory, WORKBENCH_SHARE))
    gpus: dict[str, str] = {}
    placement = pods.Placement()  # any node without a taint: GPU nodes are tainted
    if spec.gpus and profile.gpu_pool:
        gpus[gpu_sharing.resource_name(lab.gpu_pool(profile.gpu_pool))] = str(spec.gpus)
        placement = pods.gpu_pool_placement(profile.gpu_pool)
    container = k8s.core.v1.ContainerArgs(
        name=WORKBENCH,
        image=lab.sandbox.workbench_image,
        image_pull_policy="IfNotPresent",
        args=["start-notebook.py", f"--ServerApp.port={WORKBENCH_PORT}"],
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=WORKBENCH_PORT, protocol="TCP")],
        env=pods.plain_env(
            {"HOME": HOME.mount_path, "MLFLOW_TRACKING_URI": services.mlflow_url, "MLFLOW_EXPERIMENT_ID": experiment_id}
        ),
        env_from=[k8s.core.v1.EnvFromSourceArgs(secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=QDRANT_SECRET))],
        resources=pods.guaranteed_resources(share, gpus),
        security_context=pods.container_security_context(WORKBENCH_RUN_AS),
        readiness_probe=pods.http_probe("/api", "http", initial_delay=5),
        volume_mounts=[HOME.mount(), TMP.mount()],
    )
    selector = {labels.NAME: WORKBENCH, labels.AUDIT_ID: spec.audit_id}
    return k8s.apps.v1.DeploymentSpecArgs(
        replicas=1,
        # GPUs are exclusive: a rolling update would wait forever for a second set.
        strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=meta.object_meta(
                lab,
                None,
                meta.SANDBOX,
                tenant=tenant(spec),
                extra_labels=selector,
                extra_annotations=meta.config_checksum(secret_data),
            ),
            spec=pods.hardened_pod_spec(
                run_as=WORKBENCH_RUN_AS,
                service_account=service_account,
                containers=[container],
                volumes=[HOME.volume(), TMP.volume()],
                spec=lab,
                placement=placement,
            ),
        ),
    )
