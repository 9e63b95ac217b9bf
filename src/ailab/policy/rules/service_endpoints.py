"""AILAB-DEP-006: the sandbox's MLflow and Qdrant admin calls can reach those services from where they run.

An audit's MLflow experiment and Qdrant collection are made and deleted by Pulumi dynamic providers,
which run in the engine's Python process: on the operator's machine for ``ailab sandbox
create/extend/destroy``, and inside the cluster only for the reaper, which names its cluster-local
endpoints itself (``AILAB_MLFLOW_ADMIN_URL``, ``AILAB_QDRANT_ADMIN_URL``). A sandbox program is run by
the CLI, so the endpoint its resources record must be one the operator's machine resolves: the lab's
ingress, never a Service's cluster-local name. The lab, for its part, must give MLflow and Qdrant an
Ingress, or no sandbox can ever be made (or reaped from a workstation).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.tokens import INGRESS, SERVICE
from ailab.policy.rules.helpers.values import dig, elements, ev, hides, is_unknown
from ailab.spec import labels as keys
from ailab.spec.service_env import MLFLOW_ADMIN_URL_ENV, QDRANT_ADMIN_URL_ENV

AUDIT_EXPERIMENT = "pulumi-python:dynamic/ailab:AuditExperiment"
AUDIT_COLLECTION = "pulumi-python:dynamic/ailab:AuditCollection"
ADMIN_URL_PROPERTY = {AUDIT_EXPERIMENT: "tracking_url", AUDIT_COLLECTION: "url"}
"""ailab's sandbox service resources and the property holding the admin endpoint they record."""

CLUSTER_LOCAL_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local")
"""Host names the cluster's DNS alone resolves (a Service's short and full names)."""

SERVICE_APPS = {"mlflow": "MLflow", "qdrant": "Qdrant"}
"""The lab's admin-bearing services, by the ``app.kubernetes.io/name`` their Services select."""


@stack_rule(
    id="AILAB-DEP-006",
    title="Sandbox MLflow and Qdrant admin calls reach the services from the operator's machine",
    severity="high",
    rationale=(
        "The experiment and collection of an audit are created and deleted by Pulumi dynamic providers running on "
        "the operator's machine; a cluster-local URL (*.svc, *.svc.cluster.local) does not resolve there, so every "
        "sandbox create and destroy fails and expired sandboxes keep their data. A lab whose MLflow or Qdrant has no "
        "Ingress offers those machines no path at all."
    ),
    remediation=(
        "Declare lab.ingress (docs/ingress.md) so that MLflow and Qdrant get Ingresses on the lab's internal "
        "controller, and record the lab's ingress URLs (its mlflowExternalUrl and qdrantExternalUrl outputs) in the "
        f"sandbox's resources; in-cluster jobs set {MLFLOW_ADMIN_URL_ENV} and {QDRANT_ADMIN_URL_ENV} instead."
    ),
    types=[AUDIT_EXPERIMENT, AUDIT_COLLECTION, SERVICE, INGRESS],
    controls=[c.ISO_NETWORK_SERVICES, c.ISO_DELETION, c.AI_ACT_DELETION, c.ISO_CONTINUITY],
)
def sandbox_services_reachable(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    for record in records.of_type(AUDIT_EXPERIMENT, AUDIT_COLLECTION):
        path = ADMIN_URL_PROPERTY[record.type]
        url = record.properties.get(path, MISSING)
        if isinstance(url, str) and not is_unknown(url) and cluster_local(url):
            yield Violation(
                f"{record.name} records the cluster-local endpoint {url}, which the operator's machine running "
                "ailab sandbox create/destroy cannot resolve",
                (ev(path, url),),
                record,
            )
    yield from _services_without_ingress(records)


def cluster_local(url: str) -> bool:
    """Whether ``url``'s host is a name only the cluster's DNS resolves."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    return host.endswith(CLUSTER_LOCAL_SUFFIXES)


def _services_without_ingress(records: RecordSet) -> Iterator[Violation]:
    routed = _routed_services(records)
    if routed is None:
        return  # an Ingress whose namespace or backends are hidden may route to any Service
    for service in records.of_type(SERVICE):
        app = _admin_app(service)
        name, namespace = dig(service.properties, "metadata", "name"), service.namespace
        if app is None or not isinstance(name, str) or hides(name) or namespace is None or is_unknown(namespace):
            continue
        if (namespace, name) not in routed:
            yield Violation(
                f"{SERVICE_APPS[app]} (Service {namespace}/{name}) has no Ingress: sandbox operations on the operator's "
                "machine cannot reach it",
                (ev(f'spec.selector["{keys.NAME}"]', app),),
                service,
            )


def _admin_app(service: Record) -> str | None:
    """``mlflow`` or ``qdrant`` for the lab's own client-facing Service of that app (not a headless one); else None."""
    app = dig(service.properties, "spec", "selector", keys.NAME)
    if not isinstance(app, str) or app not in SERVICE_APPS or is_unknown(service.labels):
        return None
    cluster_ip = dig(service.properties, "spec", "clusterIP")
    if service.labels.get(keys.PART_OF) != "ailab" or is_unknown(cluster_ip) or cluster_ip == "None":
        return None  # a hidden clusterIP may be a headless Service's, which peers use and no Ingress needs
    return app


def _routed_services(records: RecordSet) -> set[tuple[str, str]] | None:
    """``(namespace, Service name)`` of every Ingress backend; None when one of them cannot be read."""
    routed: set[tuple[str, str]] = set()
    for ingress in records.of_type(INGRESS):
        namespace = ingress.namespace
        spec = dig(ingress.properties, "spec")
        if namespace is None or is_unknown(namespace) or is_unknown(spec):
            return None
        backends = [dig(spec, "defaultBackend")]
        for rule in elements(dig(spec, "rules")):
            for route in elements(dig(rule, "http", "paths")):
                backends.append(dig(route, "backend"))
        for backend in backends:
            if backend is MISSING:
                continue
            name = dig(backend, "service", "name")
            if is_unknown(name):
                return None
            if isinstance(name, str):
                routed.add((namespace, name))
    return routed
