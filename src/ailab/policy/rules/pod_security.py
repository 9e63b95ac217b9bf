"""Pod security for every workload kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob, OpenShift DeploymentConfig, and the removed API versions of
them, read as their current kinds): the Pod Security Standards' ``restricted`` profile checked
before admission, plus host access, service account tokens and namespace enforcement labels.

Workloads that legitimately need more (the NVIDIA GPU operator's driver and device plugin run
privileged with host paths) keep the rules and get a waiver with a justification and expiry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, resource_rule, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.pods import WORKLOAD_TYPES, containers, pod_spec
from ailab.policy.rules.helpers.tokens import CONFIG_MAP, NAMESPACE, SERVICE, SERVICE_ACCOUNT
from ailab.policy.rules.helpers.values import as_bool, ev, hides, is_unknown, known_and_not, label_path, mapping, strings
from ailab.spec import labels as keys

_WORKLOADS = list(WORKLOAD_TYPES)
_POD_SECURITY = [c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_CONFIGURATION]


@resource_rule(
    id="AILAB-K8S-001",
    title="Containers run as a non-root user",
    severity="high",
    rationale=(
        "A container running as UID 0 is one kernel or runtime flaw away from root on the node, where other "
        "sandboxes' data and GPU memory live."
    ),
    remediation="Set securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser in images that need one.",
    types=_WORKLOADS,
    controls=[*_POD_SECURITY, c.CIS_K8S_ROOT, c.NSA_NON_ROOT],
)
def run_as_non_root(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record):
        user_path, user = ref.effective("runAsUser")
        if is_unknown(user):
            continue
        if user == 0:
            yield Violation(f"Container {ref.name} runs as UID 0", (ev(user_path, user),))
            continue
        path, value = ref.effective("runAsNonRoot")
        if known_and_not(value, True) and not (isinstance(user, int) and user > 0):
            yield Violation(f"Container {ref.name} may run as root", (ev(path, value),))


@resource_rule(
    id="AILAB-K8S-002",
    title="No privileged containers",
    severity="critical",
    rationale="A privileged container has every capability and every host device: it is root on the node.",
    remediation="Remove securityContext.privileged (or set it to false); waive the GPU operator's driver pods explicitly.",
    types=_WORKLOADS,
    controls=[
        *_POD_SECURITY,
        c.ISO_PRIVILEGED_ACCESS,
        c.CIS_K8S_PRIVILEGED,
        c.CIS_EKS_PRIVILEGED,
        c.NSA_POD_SECURITY_ENFORCEMENT,
    ],
)
def not_privileged(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record):
        path, value = ref.own("privileged")
        if as_bool(value) is True:
            yield Violation(f"Container {ref.name} is privileged", (ev(path, value),))


@resource_rule(
    id="AILAB-K8S-003",
    title="Containers cannot escalate privileges",
    severity="high",
    rationale=(
        "Unless allowPrivilegeEscalation is false, a setuid binary in the image can gain privileges the container "
        "was not given (Kubernetes defaults it to true)."
    ),
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
    types=_WORKLOADS,
    controls=[*_POD_SECURITY, c.CIS_K8S_PRIV_ESCALATION, c.CIS_EKS_PRIV_ESCALATION, c.NSA_POD_SECURITY_ENFORCEMENT],
)
def no_privilege_escalation(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record):
        path, value = ref.own("allowPrivilegeEscalation")
        if known_and_not(value, False):
            yield Violation(f"Container {ref.name} allows privilege escalation", (ev(path, value),))


# The only capability the restricted Pod Security Standard lets a container add back.
_ADDABLE = frozenset({"NET_BIND_SERVICE"})


@resource_rule(
    id="AILAB-K8S-004",
    title="Containers drop all capabilities",
    severity="medium",
    rationale=(
        "The runtime's default capabilities (NET_RAW, CHOWN, SETUID, ...) are not needed by the lab's services or "
        "by evaluated models and widen what a compromised process can do."
    ),
    remediation="Set securityContext.capabilities.drop: [ALL]; add back NET_BIND_SERVICE only if the process binds a port below 1024.",
    types=_WORKLOADS,
    controls=[*_POD_SECURITY, c.CIS_K8S_ADDED_CAPS, c.CIS_K8S_CAPS_ASSIGNED, c.NSA_HARDENING_CONTAINERS],
)
def drop_all_capabilities(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record):
        path, capabilities = ref.own("capabilities")
        if is_unknown(capabilities):
            continue
        drop = mapping(capabilities).get("drop", MISSING)
        if not hides(drop) and "ALL" not in [cap.upper() for cap in strings(drop)]:
            yield Violation(f"Container {ref.name} does not drop all capabilities", (ev(f"{path}.drop", drop),))
        add = mapping(capabilities).get("add", MISSING)
        extra = [cap for cap in strings(add) if cap.upper().removeprefix("CAP_") not in _ADDABLE and not is_unknown(cap)]
        if extra:
            yield Violation(f"Container {ref.name} adds capabilities {', '.join(extra)}", (ev(f"{path}.add", add),))


@resource_rule(
    id="AILAB-K8S-005",
    title="Container root filesystems are read-only",
    severity="medium",
    rationale=(
        "A writable root filesystem lets an intruder or a model under evaluation drop tools and persist changes; "
        "data belongs on declared volumes that are wiped with the sandbox."
    ),
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the process writes (/tmp, caches).",
    types=_WORKLOADS,
    controls=[*_POD_SECURITY, c.NSA_IMMUTABLE_FS],
)
def read_only_root_filesystem(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record):
        path, value = ref.own("readOnlyRootFilesystem")
        if known_and_not(value, True):
            yield Violation(f"Container {ref.name} has a writable root filesystem", (ev(path, value),))


_SECCOMP_OK = ("RuntimeDefault", "Localhost")


@resource_rule(
    id="AILAB-K8S-006",
    title="Containers run under a seccomp profile",
    severity="medium",
    rationale=(
        "Without seccomp every system call reaches the kernel, the shared boundary between sandboxes on a node; "
        "RuntimeDefault removes the rarely needed, frequently exploited ones."
    ),
    remediation="Set securityContext.seccompProfile.type: RuntimeDefault in the pod spec (or Localhost with a reviewed profile).",
    types=_WORKLOADS,
    controls=[*_POD_SECURITY, c.CIS_K8S_SECCOMP, c.NSA_HARDENING_CONTAINERS],
)
def seccomp_profile(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record):
        path, profile = ref.effective("seccompProfile")
        kind = mapping(profile).get("type", MISSING) if not is_unknown(profile) else profile
        if not is_unknown(kind) and kind not in _SECCOMP_OK:
            yield Violation(f"Container {ref.name} runs without a seccomp profile", (ev(f"{path}.type", kind),))


_HOST_NAMESPACES = {
    "hostNetwork": (c.CIS_K8S_HOST_NETWORK, c.CIS_EKS_HOST_NETWORK),
    "hostPID": (c.CIS_K8S_HOST_PID, c.CIS_EKS_HOST_PID),
    "hostIPC": (c.CIS_K8S_HOST_IPC, c.CIS_EKS_HOST_IPC),
}


@resource_rule(
    id="AILAB-K8S-007",
    title="Pods do not share the host's network, PID or IPC namespace",
    severity="high",
    rationale=(
        "Host namespaces let a pod see every process and connection on the node, bypass NetworkPolicies and read "
        "other pods' traffic and shared memory."
    ),
    remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).",
    types=_WORKLOADS,
    controls=[
        *_POD_SECURITY,
        c.ISO_SEGREGATION,
        *[ctl for pair in _HOST_NAMESPACES.values() for ctl in pair],
        c.NSA_POD_SECURITY_ENFORCEMENT,
    ],
)
def no_host_namespaces(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    pod = pod_spec(record)
    if pod is None:
        return
    for field in _HOST_NAMESPACES:
        path, value = pod.field(field)
        if as_bool(value) is True:
            yield Violation(f"{record.name} shares the host's {field.removeprefix('host')} namespace", (ev(path, value),))


@resource_rule(
    id="AILAB-K8S-008",
    title="Pods mount no hostPath volumes",
    severity="high",
    rationale=(
        "A hostPath volume exposes the node's filesystem (kubelet credentials, container runtime socket, other "
        "pods' volumes) to the pod."
    ),
    remediation="Use emptyDir, PersistentVolumeClaims, ConfigMaps or Secrets instead of hostPath.",
    types=_WORKLOADS,
    controls=[*_POD_SECURITY, c.CIS_K8S_HOST_PATH, c.NSA_POD_SECURITY_ENFORCEMENT],
)
def no_host_path(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    pod = pod_spec(record)
    if pod is None:
        return
    volumes = pod.spec.get("volumes")
    for index, volume in enumerate(volumes if isinstance(volumes, list) else ()):
        volume = mapping(volume)
        if "hostPath" not in volume or volume["hostPath"] is None:  # a hidden volume is not known to be a hostPath one
            continue
        host_path, path = volume["hostPath"], f"{pod.path}.volumes[{index}].hostPath"
        yield Violation(f"{record.name} mounts host path {mapping(host_path).get('path', '?')}", (ev(path, host_path),))


@resource_rule(
    id="AILAB-K8S-009",
    title="Containers bind no host ports",
    severity="medium",
    rationale="A hostPort publishes the container on the node's address, outside Services, ingress TLS and most NetworkPolicy implementations.",
    remediation="Remove ports[].hostPort; expose the port through a ClusterIP Service.",
    types=_WORKLOADS,
    controls=[*_POD_SECURITY, c.ISO_NETWORKS, c.CIS_K8S_HOST_PORTS],
)
def no_host_ports(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record):
        ports = ref.container.get("ports")
        for index, port in enumerate(ports if isinstance(ports, list) else ()):
            host_port = mapping(port).get("hostPort")
            if isinstance(host_port, int) and host_port != 0:
                yield Violation(
                    f"Container {ref.name} binds host port {host_port}", (ev(f"{ref.path}.ports[{index}].hostPort", host_port),)
                )


@stack_rule(
    id="AILAB-K8S-010",
    title="Pods mount a service account token only when they use the API",
    severity="medium",
    rationale=(
        "Every mounted token is a credential for the Kubernetes API that code in the pod (including a model under "
        "evaluation) can steal; most lab workloads never call the API."
    ),
    remediation=(
        "Set automountServiceAccountToken: false in the pod spec or on its ServiceAccount; workloads that call the "
        "API (operators, controllers) get a waiver naming why."
    ),
    types=[*_WORKLOADS, SERVICE_ACCOUNT],
    controls=[
        c.EUDPR_CONFIDENTIALITY,
        c.GDPR_CONFIDENTIALITY,
        c.ISO_ACCESS_CONTROL,
        c.CIS_K8S_SA_TOKENS,
        c.CIS_EKS_SA_TOKENS,
        c.NSA_SA_TOKENS,
    ],
)
def service_account_token_mount(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    accounts: dict[tuple[str | None, str], Any] = {}
    # A service account whose name or namespace is hidden may be the one a workload names.
    unseen: set[tuple[Any, Any]] = set()  # (namespace, name), "*" standing for the hidden part
    for account in records.of_type(SERVICE_ACCOUNT):
        account_name, namespace = account.get("metadata.name"), account.namespace
        if is_unknown(account_name) or is_unknown(namespace):
            unseen.add(("*" if is_unknown(namespace) else namespace, "*" if is_unknown(account_name) else account_name))
        elif isinstance(account_name, str):
            accounts[(namespace, account_name)] = account.properties.get("automountServiceAccountToken", MISSING)
    for record in records.of_type(*WORKLOAD_TYPES):
        pod = pod_spec(record)
        if pod is None:
            continue
        path, value = pod.field("automountServiceAccountToken")
        if is_unknown(value) or as_bool(value) is False:
            continue
        if value is MISSING:
            name = pod.spec.get("serviceAccountName", pod.spec.get("serviceAccount", "default"))
            namespace = record.namespace
            if not isinstance(name, str) or is_unknown(name) or is_unknown(namespace):
                continue  # a service account we cannot name: its setting cannot be looked up
            inherited = accounts.get((namespace, name), MISSING)
            if inherited is MISSING and unseen & {(namespace, name), (namespace, "*"), ("*", name), ("*", "*")}:
                continue  # a service account whose name or namespace is hidden may be this one
            if is_unknown(inherited) or as_bool(inherited) is False:
                continue
        yield Violation(f"{record.name} mounts a service account token", (ev(path, value),), record)


@resource_rule(
    id="AILAB-K8S-011",
    title="Namespaces enforce the restricted Pod Security Standard",
    severity="high",
    rationale=(
        "Pod Security Admission is the cluster's own gate: even a workload that slips past this review (a Helm "
        "chart, kubectl apply in a sandbox) is refused if it is not restricted."
    ),
    remediation=(
        "Label the namespace pod-security.kubernetes.io/enforce: restricted (ailab.spec.labels.psa_restricted()); the "
        "GPU operator's namespace needs privileged and gets a waiver, not a weaker rule."
    ),
    types=[NAMESPACE],
    controls=[*_POD_SECURITY, c.CIS_K8S_POLICY_CONTROL, c.NSA_POD_SECURITY_ENFORCEMENT],
)
def namespace_psa_restricted(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    value = record.labels.get(keys.PSA_ENFORCE, MISSING)
    if not is_unknown(value) and value != "restricted":
        yield Violation(
            f"Namespace {record.name} does not enforce the restricted profile", (ev(label_path(keys.PSA_ENFORCE), value),)
        )


@resource_rule(
    id="AILAB-K8S-012",
    title="Nothing runs in the default namespace",
    severity="low",
    rationale="The default namespace has no quota, network policy or Pod Security labels of the lab; every workload belongs to a namespace the lab governs.",
    remediation=(
        "Set metadata.namespace to the service's or sandbox's namespace: an object without one lands in the "
        "default namespace of kubectl's context (or of Pulumi's default provider)."
    ),
    types=[*_WORKLOADS, SERVICE, CONFIG_MAP],
    controls=[
        c.ISO_CONFIGURATION,
        c.CIS_K8S_DEFAULT_NAMESPACE,
        c.CIS_EKS_DEFAULT_NAMESPACE,
        c.CIS_K8S_NAMESPACES,
        c.CIS_EKS_NAMESPACES,
        c.NSA_NAMESPACES,
    ],
)
def not_default_namespace(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    namespace = record.get("metadata.namespace")
    if namespace == "default":
        yield Violation(f"{record.name} is in the default namespace", (ev("metadata.namespace", "default"),))
    elif namespace is MISSING and not _explicit_provider(record):
        # kubectl apply and Pulumi's default provider put an object without a namespace in the context's
        # namespace, which is "default" unless someone changed it: the manifest does not say.
        yield Violation(
            f"{record.name} has no metadata.namespace, so it lands in the default namespace when applied",
            (ev("metadata.namespace", MISSING),),
        )


def _explicit_provider(record: Record) -> bool:
    """Whether an explicit Pulumi Kubernetes provider manages ``record`` (it may set a default namespace of its own)."""
    return record.provider is not None and not record.provider.rpartition("::")[2].startswith("default")
