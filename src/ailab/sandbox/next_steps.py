"""What an auditor does next with a sandbox: how to get in, where the services are, how it ends.

``sandbox plan``, ``create`` and ``show`` end with these steps, so nobody has to ask the architects
how to reach the namespace, MLflow, Qdrant or the workbench. Everything comes from the lab's spec and
the sandbox's own spec and outputs; nothing secret is printed (passwords and tokens are named by where
they are kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ailab.sandbox.manifests import QDRANT_SECRET, WORKBENCH, WORKBENCH_PORT
from ailab.sandbox.request import SandboxSpec, iso
from ailab.spec import naming
from ailab.spec.model import LabSpec

NO_INGRESS = "the lab has no ingress (lab.ingress), so the services are not reachable from your machine"


@dataclass(frozen=True)
class Step:
    title: str
    lines: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "lines": list(self.lines)}


def next_steps(
    spec: SandboxSpec, lab: LabSpec, outputs: Mapping[str, Any] | None = None, credentials_file: str | None = None
) -> list[Step]:
    """The steps for ``spec`` in ``lab``; ``outputs`` (a created sandbox's) and ``credentials_file`` refine them."""
    outputs = outputs or {}
    namespace = str(outputs.get("namespace") or naming.sandbox_namespace(spec.audit_id))
    return [
        Step(
            "Your sandbox",
            (
                f"namespace {namespace}, for {', '.join(spec.team)}",
                f"expires {iso(spec.expires_at)}; extend it up to {iso(spec.max_expires_at)} with "
                f"ailab sandbox extend {spec.audit_id} --by 1d",
            ),
        ),
        _kubernetes(spec, lab, namespace),
        _mlflow(spec, lab, outputs, credentials_file),
        _qdrant(spec, lab, namespace, outputs),
        Step(
            "Workbench (JupyterLab)",
            (
                f"kubectl port-forward -n {namespace} deploy/{WORKBENCH} {WORKBENCH_PORT}:{WORKBENCH_PORT}",
                f"then open http://127.0.0.1:{WORKBENCH_PORT}/ with the token from: kubectl logs -n {namespace} deploy/{WORKBENCH}",
            ),
        ),
        Step(
            "When the audit is done",
            (f"ailab sandbox destroy {spec.audit_id}  (or let it expire: it is removed at {iso(spec.expires_at)})",),
        ),
    ]


def _kubernetes(spec: SandboxSpec, lab: LabSpec, namespace: str) -> Step:
    oidc = lab.access.oidc
    if oidc is None:
        return Step(
            "Kubernetes access",
            ("the lab has no OIDC provider (lab.access.oidc): ask its architects for a kubeconfig for " + namespace,),
        )
    context = f"ailab-{spec.audit_id}"
    if lab.aws is not None:
        cluster = (
            f"aws eks update-kubeconfig --name {lab.cluster.name} --region {lab.aws.region} --alias {lab.cluster.name}  "
            "(the cluster's address and CA; you sign in below, not with AWS)"
        )
    else:
        cluster = f"the cluster entry of the kubeconfig context {lab.onprem.kubeconfig_context if lab.onprem else ''} (from the architects)"
    return Step(
        "Kubernetes access (sign in with your organisation's account through kubelogin)",
        (
            cluster,
            "kubectl config set-credentials ailab-oidc --exec-api-version=client.authentication.k8s.io/v1 "
            "--exec-command=kubectl --exec-arg=oidc-login --exec-arg=get-token "
            f"--exec-arg=--oidc-issuer-url={oidc.issuer_url} --exec-arg=--oidc-client-id={oidc.client_id}",
            f"kubectl config set-context {context} --cluster={lab.cluster.name} --user=ailab-oidc --namespace={namespace}",
            f"kubectl --context {context} get pods   (you may act in {namespace} only)",
        ),
    )


def _mlflow(spec: SandboxSpec, lab: LabSpec, outputs: Mapping[str, Any], credentials_file: str | None) -> Step:
    external = outputs.get("mlflowExternalUrl") or naming.mlflow_external_url(lab)
    reach = (
        f"MLFLOW_TRACKING_URI={external}  (over the lab's VPN)"
        if external
        else f"from the workbench, where MLFLOW_TRACKING_URI is set ({NO_INGRESS})"
    )
    where = f"shown once at creation and kept in {credentials_file} (mode 0600)" if credentials_file else "shown once at creation"
    # MLflow's client reads this variable for requests' verify (mlflow.environment_variables).
    trust = _lab_ca(lab, "MLFLOW_TRACKING_SERVER_CERT_PATH=<the lab CA's PEM file>") if external else ()
    return Step(
        "MLflow",
        (
            reach,
            *trust,
            f"experiment {naming.mlflow_experiment(spec.audit_id)}; MLFLOW_TRACKING_USERNAME is your user name",
            f"MLFLOW_TRACKING_PASSWORD: the one-time password {where}; change it at first use "
            "(MLflow UI, or PATCH /api/2.0/mlflow/users/update-password)",
        ),
    )


def _lab_ca(lab: LabSpec, setting: str) -> tuple[str, ...]:
    """How a client trusts the lab's own CA, when the lab names one (else the system store already does)."""
    if lab.ingress is None or lab.ingress.ca_bundle is None:
        return ()
    return (
        f"{setting}  (the ingress certificate is signed by the lab's CA: {lab.ingress.ca_bundle} of the lab's "
        "project; ask its architects for a copy)",
    )


def _qdrant(spec: SandboxSpec, lab: LabSpec, namespace: str, outputs: Mapping[str, Any]) -> Step:
    external = outputs.get("qdrantExternalUrl") or naming.qdrant_external_url(lab)
    reach = f"{external}  (over the lab's VPN)" if external else f"from the workbench, where QDRANT_URL is set ({NO_INGRESS})"
    # qdrant-client speaks through httpx, which reads SSL_CERT_FILE; requests-based clients read REQUESTS_CA_BUNDLE.
    trust = (
        _lab_ca(lab, "SSL_CERT_FILE=<the lab CA's PEM file> (qdrant-client; REQUESTS_CA_BUNDLE for requests)") if external else ()
    )
    return Step(
        "Qdrant",
        (
            reach,
            *trust,
            f"collection {outputs.get('qdrantCollection') or naming.qdrant_collection(spec.audit_id)} (the token opens this one only)",
            f"token: kubectl get secret -n {namespace} {QDRANT_SECRET} -o jsonpath='{{.data.QDRANT_API_KEY}}' | base64 -d",
        ),
    )
