"""Where an evaluation Job may reach the LLM or RAG system it audits, decided before anything is planned.

A NetworkPolicy names networks and namespaces, never host names, so the endpoint's URL is read as
one of three cases:

* a Service of the cluster (``<service>.<namespace>.svc[.cluster.local]``): its namespace, on the
  URL's port (another audit's sandbox is refused: sandboxes never reach each other);
* an IP literal: that address alone, on the port, once an entry of the lab's
  ``sandbox.egress_allowlist`` with that port contains it;
* a DNS name: whatever address it resolves to in the cluster is unknown here, so the Job may reach
  every allowlist entry that opens the port, and the auditor is told which.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

from ailab.errors import BadInputError
from ailab.spec.constants import SANDBOX_NAMESPACE_PREFIX
from ailab.spec.model import LabSpec

DEFAULT_PORTS = {"http": 80, "https": 443}
IN_CLUSTER_SUFFIXES = (".svc.cluster.local", ".svc")
"""A Service's names in the cluster's DNS (the cluster domain is ``cluster.local`` on EKS and k3s alike)."""
ALLOWLIST = "lab.sandbox.egress_allowlist"


JOB_ENV = frozenset(
    {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"}
    | {"HOME", "MPLCONFIGDIR", "PATH"}
)
"""What the Job's container environment already holds (:mod:`.program`): an endpoint key may not take one of these names."""


@dataclass(frozen=True)
class Endpoint:
    """The system under audit as the plan names it: ``target.endpoint``'s URL and key variable, and where the URL is."""

    url: str
    key_env: str | None
    where: str
    """``plan.yaml:LINE: plan.target.endpoint.url``, for one-line refusals."""


@dataclass(frozen=True)
class EndpointRoute:
    """What the Job's NetworkPolicy opens towards the endpoint: a namespace, or networks, on one TCP port."""

    endpoint: Endpoint
    host: str
    port: int
    namespace: str | None = None
    networks: tuple[str, ...] = ()
    entries: tuple[str, ...] = ()
    """The allowlist entries (by name) that let the Job reach ``networks``."""

    def summary(self) -> str:
        """One line for the auditor: what the Job may reach, and why."""
        where = f"{self.host}:{self.port}"
        if self.namespace is not None:
            return f"endpoint {where}: the Job may reach namespace {self.namespace} on TCP {self.port}"
        if ip_literal(self.host):
            return f"endpoint {where}: the Job may reach {self.networks[0]} on TCP {self.port}, inside {ALLOWLIST} entry {self.entries[0]}"
        reach = ", ".join(f"{name} ({network})" for name, network in zip(self.entries, self.networks, strict=True))
        return f"endpoint {where} is a DNS name: the Job may reach the {ALLOWLIST} entries {reach} on TCP {self.port}"


def ip_literal(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def route(endpoint: Endpoint, lab: LabSpec, own_namespace: str, setting: str) -> EndpointRoute:
    """The route to ``endpoint`` from a Job in ``own_namespace``; ``setting`` locates the lab's allowlist for refusals."""
    if endpoint.key_env is not None and endpoint.key_env in JOB_ENV:
        raise BadInputError(
            f"{endpoint.where.rsplit('.url', 1)[0]}.api_key_env: {endpoint.key_env} is set by the evaluation Job itself; "
            "name another variable for the endpoint's key (e.g. AUDITED_API_KEY)"
        )
    parts = urlsplit(endpoint.url)
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    namespace = _service_namespace(endpoint, host)
    if namespace is not None:
        if namespace.startswith(SANDBOX_NAMESPACE_PREFIX) and namespace != own_namespace:
            raise BadInputError(
                f"{endpoint.where}: {host} is in {namespace}, another audit's sandbox; a sandbox never reaches another: "
                f"deploy the system under audit in {own_namespace} or a namespace of its own"
            )
        return EndpointRoute(endpoint, host, port, namespace=namespace)
    opening = [rule for rule in lab.sandbox.egress_allowlist if rule.protocol == "TCP" and port in rule.ports]
    if ip_literal(host):
        address = ip_address(host)
        covering = [rule for rule in opening if address in rule.cidr]
        if not covering:
            raise BadInputError(
                f"{setting}: no entry contains {host} with port {port}, which {endpoint.where} names; add one "
                f"(name, cidr, ports: [{port}], description) for the system under audit, or run the plan with --local"
            )
        return EndpointRoute(endpoint, host, port, networks=(f"{address}/32",), entries=(covering[0].name,))
    if not opening:
        raise BadInputError(
            f"{setting}: no entry opens TCP port {port}, which {endpoint.where} needs; add the network {host} resolves to "
            f"(name, cidr, ports: [{port}], description), or run the plan with --local"
        )
    return EndpointRoute(
        endpoint,
        host,
        port,
        networks=tuple(str(rule.cidr) for rule in opening),
        entries=tuple(rule.name for rule in opening),
    )


def _service_namespace(endpoint: Endpoint, host: str) -> str | None:
    """The namespace of an in-cluster Service's name, None for any other host."""
    for suffix in IN_CLUSTER_SUFFIXES:
        if host.endswith(suffix):
            labels = host.removesuffix(suffix).split(".")
            if len(labels) != 2 or not all(labels):
                raise BadInputError(f"{endpoint.where}: {host} is not a Service's name; write <service>.<namespace>{suffix}")
            return labels[1]
    return None
