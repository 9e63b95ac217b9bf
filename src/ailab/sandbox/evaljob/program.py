"""The evaluation Job as a Pulumi program: stack ``<audit>-<plan>`` of project ``ailab-evals``.

In the sandbox's namespace, built with the platform's builders: a ServiceAccount of its own
without token, the plan and data in a Secret, the submitting member's MLflow login in another
(never the admin's), an endpoint plan's API key in a third, a NetworkPolicy letting the Job's pods
reach DNS, MLflow and an endpoint plan's system under audit only (the namespace's own allowances
leave them out, see :data:`~ailab.sandbox.manifests.EVAL_RUNNER`), and
a run-once Job whose pod is hardened to Pod Security ``restricted`` and sized within the
sandbox's quota. Like the sandbox program, it runs for real (lab values from the lab stack's
outputs) and offline (derived from the spec) for the plan and the policy gate.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from ailab.plan.graph import Plan
from ailab.sandbox import manifests
from ailab.sandbox.evaljob.bundle import MOUNT, PLAN_FILE, EvalBundle, secret_items
from ailab.sandbox.evaljob.endpoint import EndpointRoute
from ailab.sandbox.program import EVAL_PROJECT, OFFLINE_SECRET, LabConnection, connection_from_spec
from ailab.sandbox.request import SandboxSpec
from ailab.spec import labels, naming
from ailab.spec.model import LabSpec

EVAL_PLAN = f"{labels.PREFIX}/eval-plan"
"""Label: the plan a Job's objects belong to (plan names are DNS labels, so valid label values)."""
COMPONENT = "evaluation"
CONTAINER = "evaluate"
RESULT_PATH = "/dev/termination-log"
"""The container's termination message: the runner writes its JSON result there (at most 4 KiB)."""
DEADLINE_SECONDS = 3600
TTL_SECONDS = 3600
"""Kept an hour after it ends, for ``kubectl logs``; ailab destroys the stack once it has the result."""
RUNNER_UID = 65532
"""``nonroot`` of distroless images (docker/eval-runner runs as it)."""
TMP_SIZE = "1Gi"
MAX_NAME = 63


@dataclass(frozen=True)
class MlflowLogin:
    """The team member's MLflow user, whose grant on ``audit/<id>`` the run uses."""

    username: str
    password: pulumi.Input[str]


@dataclass(frozen=True)
class EvalJob:
    """What to run where: a plan bundle, in a sandbox of a lab, with the lab's runner image (and an endpoint plan's route)."""

    sandbox: SandboxSpec
    lab: LabSpec
    bundle: EvalBundle
    image: str
    route: EndpointRoute | None = None

    @property
    def name(self) -> str:
        """``eval-<plan>``, shortened with a hash when the plan's name is long (object and label values: 63)."""
        name = f"eval-{self.bundle.plan_name}"
        if len(name) <= MAX_NAME:
            return name
        digest = hashlib.sha256(self.bundle.plan_name.encode()).hexdigest()[:8]
        return f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"

    @property
    def stack_name(self) -> str:
        return f"{self.sandbox.audit_id}-{self.bundle.plan_name}"

    @property
    def namespace(self) -> str:
        return naming.sandbox_namespace(self.sandbox.audit_id)

    def selector(self) -> dict[str, str]:
        """The labels of the Job's pods that its NetworkPolicy selects."""
        return {labels.NAME: manifests.EVAL_RUNNER, EVAL_PLAN: self.bundle.plan_name}


class EvaluationJob(pulumi.ComponentResource):
    """One evaluation Job and its fences (type ``ailab:sandbox:EvaluationJob``)."""

    job_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        job: EvalJob,
        connection: LabConnection,
        login: MlflowLogin,
        api_key: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ailab:sandbox:EvaluationJob", name, None, opts)
        import pulumi_kubernetes as k8s

        from ailab.infra.k8s import meta, network, pods
        from ailab.infra.k8s.jobs import run_once_job
        from ailab.services.mlflow.local_server import NO_TELEMETRY
        from ailab.spec.model import Resources

        lab, namespace = job.lab, job.namespace
        child = pulumi.ResourceOptions(parent=self)
        own_labels = {EVAL_PLAN: job.bundle.plan_name}

        def metadata(suffix: str = "") -> k8s.meta.v1.ObjectMetaArgs:
            # The sandbox's tenant (owner, classification, audit id): the Job is the audit's, not the lab's.
            return meta.object_meta(
                lab, job.name + suffix, COMPONENT, namespace, tenant=manifests.tenant(job.sandbox), extra_labels=own_labels
            )

        account = pods.workload_service_account(
            f"{name}-account", lab, name=job.name, namespace=namespace, component=COMPONENT, parent=self
        )
        items = secret_items(job.bundle)
        files = k8s.core.v1.Secret(
            f"{name}-files",
            metadata=metadata("-files"),
            type="Opaque",
            immutable=True,
            data={
                key: pulumi.Output.secret(base64.b64encode(job.bundle.files[path]).decode("ascii")) for key, path in items.items()
            },
            opts=child,
        )
        mlflow_login = k8s.core.v1.Secret(
            f"{name}-mlflow-login",
            metadata=metadata("-mlflow"),
            type="Opaque",
            string_data={"username": login.username, "password": pulumi.Output.secret(login.password)},
            opts=child,
        )
        secrets = [files, mlflow_login]
        key_env: list[k8s.core.v1.EnvVarArgs] = []
        route = job.route
        if route is not None and route.endpoint.key_env is not None:
            if api_key is None:
                raise ValueError(f"the endpoint's key ({route.endpoint.key_env}) was not given to the Job")
            # The Job's own Secret, never the plan bundle's: the bundle is the plan as written, which holds no key.
            endpoint_key = k8s.core.v1.Secret(
                f"{name}-endpoint-key",
                metadata=metadata("-endpoint-key"),
                type="Opaque",
                string_data={"key": pulumi.Output.secret(api_key)},
                opts=child,
            )
            secrets.append(endpoint_key)
            key_env.append(pods.secret_env(route.endpoint.key_env, meta.name_of(endpoint_key), "key"))
        egress = [network.dns_egress(), network.mlflow_egress(lab, connection.services.mlflow_namespace)]
        if route is not None:
            peers = [network.namespace_peer(route.namespace)] if route.namespace else network.cidr_peers(route.networks)
            egress.append(k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=peers, ports=network.tcp(route.port)))
        policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-egress",
            metadata=metadata("-egress"),
            spec=network.isolating_spec(job.selector(), egress=egress),
            opts=child,
        )

        run_as = pods.RunAs(RUNNER_UID, RUNNER_UID)
        tmp = pods.Scratch("tmp", "/tmp", size_limit=TMP_SIZE)
        env = {
            "MLFLOW_TRACKING_URI": connection.services.mlflow_url,
            **NO_TELEMETRY,
            # The root filesystem is read-only: libraries' caches and config go to the scratch volume.
            "HOME": tmp.mount_path,
            "MPLCONFIGDIR": f"{tmp.mount_path}/matplotlib",
        }
        container = k8s.core.v1.ContainerArgs(
            name=CONTAINER,
            image=job.image,
            image_pull_policy="IfNotPresent",
            args=[f"{MOUNT}/{PLAN_FILE}", "--result", RESULT_PATH],
            env=[
                *pods.plain_env(env),
                pods.secret_env("MLFLOW_TRACKING_USERNAME", meta.name_of(mlflow_login), "username"),
                pods.secret_env("MLFLOW_TRACKING_PASSWORD", meta.name_of(mlflow_login), "password"),
                *key_env,
            ],
            resources=pods.guaranteed_resources(Resources(**manifests.default_share(job.sandbox))),
            security_context=pods.container_security_context(run_as),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="plan", mount_path=MOUNT, read_only=True),
                tmp.mount(),
            ],
            termination_message_path=RESULT_PATH,
            termination_message_policy="File",
        )
        plan_volume = k8s.core.v1.VolumeArgs(
            name="plan",
            secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=meta.name_of(files),
                default_mode=0o440,
                items=[k8s.core.v1.KeyToPathArgs(key=key, path=path) for key, path in items.items()],
            ),
        )
        created = run_once_job(
            f"{name}-job",
            metadata=metadata(),
            pod_labels={**own_labels, **job.selector()},
            pod_spec=pods.hardened_pod_spec(
                run_as=run_as,
                service_account=meta.name_of(account),
                containers=[container],
                volumes=[plan_volume, tmp.volume()],
                spec=lab,
                restart_policy="Never",
                placement=pods.Placement(),
            ),
            deadline_seconds=DEADLINE_SECONDS,
            ttl_seconds=TTL_SECONDS,
            # Admitted only once it is fenced: its egress policy and its identity exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, account, *secrets]),
        )
        self.job_name = meta.name_of(created)
        self.register_outputs({"job": self.job_name})


def eval_job_program(
    job: EvalJob, connect: Callable[[], LabConnection], login: MlflowLogin, api_key: pulumi.Input[str] | None = None
) -> Callable[[], None]:
    """The Pulumi program for ``job``; ``connect`` is called inside it (a StackReference is a resource).

    ``api_key``: the endpoint's key, for a plan whose endpoint names ``api_key_env``.
    """

    def program() -> None:
        import pulumi_kubernetes as k8s

        connection = connect()
        provider = k8s.Provider(
            "lab-cluster", kubeconfig=connection.kubeconfig, context=connection.kube_context, enable_server_side_apply=True
        )
        created = EvaluationJob(
            job.stack_name, job, connection, login, api_key, opts=pulumi.ResourceOptions(providers={"kubernetes": provider})
        )
        pulumi.export("namespace", job.namespace)
        pulumi.export("job", created.job_name)
        pulumi.export("kubeconfig", connection.kubeconfig)
        pulumi.export("kubeContext", connection.kube_context)

    return program


def plan_job(job: EvalJob) -> Plan:
    """The Job's offline plan: the real program under the mock monitor, the login and any key secret placeholders."""
    from ailab.plan.runner import run_program

    login = MlflowLogin(job.sandbox.lead, pulumi.Output.secret(OFFLINE_SECRET))
    program = eval_job_program(job, lambda: connection_from_spec(job.lab), login, pulumi.Output.secret(OFFLINE_SECRET))
    return run_program(program, project=EVAL_PROJECT, stack=job.stack_name, kind="evaluation", region=job.lab.region)
