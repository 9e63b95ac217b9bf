"""Network isolation of the platform: deny everything, then allow exactly the flows the lab needs.

Every platform namespace gets a default-deny policy for both directions and an allowance for
DNS (kube-system's kube-dns, UDP and TCP 53). On top of that:

* MLflow accepts connections only from sandbox namespaces (any namespace labelled with an
  audit id) and, when the spec has an ingress, from the ingress controller's namespace
  (``ingress.controller_namespace``). It may reach its database: the in-cluster PostgreSQL
  on-premises; on AWS the VPC on 5432 (RDS) and 443 (S3 and STS through the VPC's interface
  endpoints, whose private DNS names resolve inside the VPC: nothing leaves it).
* PostgreSQL accepts connections from MLflow's pods and its backup job only; it initiates none.
* Qdrant accepts connections from sandboxes and the ingress controller (REST and gRPC); in
  cluster mode its replicas also talk to each other on the peer port.
* The lab's Traefik (``ingress.controller: traefik``, namespace ``<name>-ingress``) accepts
  connections on its TLS port from ``ingress.source_ranges`` only (its Service keeps the
  client's address, ``externalTrafficPolicy: Local``), and may reach MLflow's and Qdrant's
  pods on their HTTP ports and the API server, which it watches for Ingresses.
* The GPU operator's pods (operator, NFD, the operands' validators and config managers) only
  need the Kubernetes API server (ports 443 and 6443). They reach it through the
  ``default/kubernetes`` Service, and CNIs differ in which address a policy sees: the
  ClusterIP (enforcement before Service translation, as the VPC CNI's eBPF agent does) or the
  API server's own address (after it, as iptables-based ones do). On AWS both are known: the
  ClusterIP in the Service network the AWS layer names on the cluster
  (:func:`~ailab.infra.contracts.eks_service_network`) and the EKS endpoint's interfaces in the
  VPC. On-premises they are the site's, from ``onprem.api_server_cidrs``. Nothing may connect to
  the operator's pods: the DCGM exporter's metrics port stays closed until the lab has a
  monitoring namespace to allow. Operands on the host network (if any) are outside
  NetworkPolicy by design.

Kubelet probes and ``kubectl port-forward`` reach pods from the node and are not affected.
DNS is allowed to kube-system's ``k8s-app: kube-dns`` pods (CoreDNS on EKS and k3s alike);
a node-local DNS cache on a link-local address would need its own rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.contracts import eks_service_network, kubernetes_service_ip
from ailab.infra.k8s import meta, mlflow, postgres, postgres_backup, qdrant, traefik
from ailab.spec import labels, naming
from ailab.spec.model import LabSpec

DNS_PORT = 53
HTTPS_PORT = 443
API_SERVER_PORTS = (443, 6443)

Peer = k8s.networking.v1.NetworkPolicyPeerArgs
Port = k8s.networking.v1.NetworkPolicyPortArgs


def tcp(*ports: int) -> list[Port]:
    return [Port(protocol="TCP", port=port) for port in ports]


def namespace_peer(namespace: pulumi.Input[str], pod_labels: Mapping[str, str] | None = None) -> Peer:
    """The pods of ``namespace``: all of them, or those labelled ``pod_labels``."""
    return Peer(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={labels.NAMESPACE_NAME: namespace}),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pod_labels)) if pod_labels else None,
    )


def dns_egress() -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """Name resolution: kube-system's DNS pods, UDP and TCP 53."""
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[namespace_peer("kube-system", labels.KUBE_DNS)],
        ports=[Port(protocol="UDP", port=DNS_PORT), Port(protocol="TCP", port=DNS_PORT)],
    )


def api_server_egress(spec: LabSpec) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """The Kubernetes API server (:func:`api_server_networks`), on its ports."""
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=cidr_peers(api_server_networks(spec)), ports=tcp(*API_SERVER_PORTS))


def mlflow_egress(spec: LabSpec, namespace: pulumi.Input[str] | None = None) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """MLflow's pods on its port; ``namespace`` as a sandbox reads it from the lab (default: the spec's)."""
    where = naming.mlflow_namespace(spec) if namespace is None else namespace
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[namespace_peer(where, meta.selector_labels(spec, mlflow.APP))], ports=tcp(naming.MLFLOW_PORT)
    )


def admin_egress(spec: LabSpec) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """MLflow's and Qdrant's HTTP APIs: where the ingress controller and the reaper send admin calls."""
    qdrant_pods = namespace_peer(naming.vector_db_namespace(spec), meta.selector_labels(spec, qdrant.APP))
    return [
        mlflow_egress(spec),
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[qdrant_pods], ports=tcp(naming.QDRANT_HTTP_PORT)),
    ]


def isolating_spec(
    pod_selector: Mapping[str, str] | k8s.meta.v1.LabelSelectorArgs,
    ingress: Sequence[k8s.networking.v1.NetworkPolicyIngressRuleArgs] = (),
    egress: Sequence[k8s.networking.v1.NetworkPolicyEgressRuleArgs] = (),
) -> k8s.networking.v1.NetworkPolicySpecArgs:
    """A policy for the pods it selects (all of them for an empty selector): what it does not list is denied.

    ``pod_selector`` is labels to match, or a whole selector where expressions are needed.

    Both policy types are declared on every policy, so each one read alone still shows its
    pods isolated in both directions, whether or not the default-deny policy is present.
    """
    return k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector=(
            pod_selector
            if isinstance(pod_selector, k8s.meta.v1.LabelSelectorArgs)
            else k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pod_selector) or None)
        ),
        policy_types=["Ingress", "Egress"],
        ingress=list(ingress),
        egress=list(egress),
    )


def network_policy(
    resource_name: str,
    spec: LabSpec,
    *,
    name: str,
    namespace: pulumi.Input[str],
    pod_selector: Mapping[str, str],
    ingress: Sequence[k8s.networking.v1.NetworkPolicyIngressRuleArgs] = (),
    egress: Sequence[k8s.networking.v1.NetworkPolicyEgressRuleArgs] = (),
    extra_labels: Mapping[str, str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.networking.v1.NetworkPolicy:
    """A NetworkPolicy with the lab's metadata around :func:`isolating_spec`."""
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=meta.object_meta(spec, name, meta.NETWORK_ISOLATION, namespace, extra_labels=extra_labels),
        spec=isolating_spec(pod_selector, ingress, egress),
        opts=opts,
    )


def sandbox_peer() -> Peer:
    """Every sandbox namespace: those labelled with an audit id (set by the sandbox program)."""
    exists = k8s.meta.v1.LabelSelectorRequirementArgs(key=labels.AUDIT_ID, operator="Exists")
    return Peer(namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_expressions=[exists]))


def pods_peer(spec: LabSpec, app: str) -> Peer:
    """The pods of ``app`` in the policy's own namespace."""
    return Peer(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=meta.selector_labels(spec, app)))


def cidr_peers(networks: Sequence[str | IPv4Network]) -> list[Peer]:
    return [Peer(ip_block=k8s.networking.v1.IPBlockArgs(cidr=str(network))) for network in networks]


def client_peers(spec: LabSpec) -> list[Peer]:
    """Who may use the shared services: sandboxes, and the ingress controller when the lab has an ingress."""
    peers = [sandbox_peer()]
    controller_namespace = naming.ingress_controller_namespace(spec)
    if spec.ingress is not None and controller_namespace is not None:
        peers.append(namespace_peer(controller_namespace, spec.ingress.pod_labels))
    return peers


def api_server_networks(spec: LabSpec) -> list[str]:
    """Where the Kubernetes API server answers, before and after Service translation (see the module's docstring).

    AWS: the ``default/kubernetes`` ClusterIP and the VPC (the private endpoint's interfaces).
    On-premises: the spec's ``onprem.api_server_cidrs``.
    """
    if spec.target == "aws":
        vpc_cidr = spec.aws_settings().vpc_cidr
        service_ip = kubernetes_service_ip(eks_service_network(vpc_cidr))
        return [f"{service_ip}/32", str(vpc_cidr)]
    return [str(network) for network in spec.onprem_settings().api_server_cidrs]


@dataclass(frozen=True)
class NetworkPoliciesArgs:
    spec: LabSpec
    namespaces: Mapping[str, pulumi.Input[str]]
    """Platform namespace name to its name as an Output of the Namespace (for ordering)."""
    in_cluster_database: bool
    """On-premises: MLflow's PostgreSQL runs in the MLflow namespace."""


class NetworkPolicies(pulumi.ComponentResource):
    """Default deny and DNS in every platform namespace, then the services' own flows."""

    def __init__(self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:NetworkPolicies", name, None, opts)
        self._name, self._spec, self._namespaces = name, args.spec, args.namespaces
        spec = args.spec
        dns = dns_egress()
        for namespace in naming.platform_namespaces(spec):
            self._policy(namespace, "default-deny", pod_selector={})
            self._policy(namespace, "allow-dns", pod_selector={}, egress=[dns])
        self._mlflow(args.in_cluster_database)
        self._qdrant()
        self._policy(naming.gpu_namespace(spec), "allow-api-server", pod_selector={}, egress=[api_server_egress(spec)])
        if spec.ingress is not None and spec.ingress.installed:
            self._traefik(spec.ingress.source_ranges)
        self.register_outputs({})

    def _traefik(self, source_ranges: Sequence[IPv4Network]) -> None:
        """The lab's Traefik: TLS in from the VPN, out to the two services and the API server."""
        spec = self._spec
        self._policy(
            naming.ingress_namespace(spec),
            "traefik",
            pod_selector=traefik.POD_LABELS,
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=cidr_peers(source_ranges), ports=tcp(traefik.WEBSECURE_POD_PORT)
                )
            ],
            egress=[*admin_egress(spec), api_server_egress(spec)],
        )

    def _mlflow(self, in_cluster_database: bool) -> None:
        spec = self._spec
        namespace = naming.mlflow_namespace(spec)
        mlflow_pods = meta.selector_labels(spec, mlflow.APP)
        self._policy(
            namespace,
            "mlflow-ingress",
            pod_selector=mlflow_pods,
            ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=client_peers(spec), ports=tcp(naming.MLFLOW_PORT))],
        )
        if in_cluster_database:
            database = k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[pods_peer(spec, postgres.APP)], ports=tcp(naming.POSTGRES_PORT)
            )
            self._policy(namespace, "mlflow-egress", pod_selector=mlflow_pods, egress=[database])
            self._policy(
                namespace,
                "postgres-backup-egress",
                pod_selector=meta.selector_labels(spec, postgres_backup.APP),
                egress=[database],
            )
            self._policy(
                namespace,
                "postgres-ingress",
                pod_selector=meta.selector_labels(spec, postgres.APP),
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[pods_peer(spec, mlflow.APP), pods_peer(spec, postgres_backup.APP)],
                        ports=tcp(naming.POSTGRES_PORT),
                    )
                ],
            )
        else:
            # An external MLflow database is an AWS one.
            cloud = k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=cidr_peers([spec.aws_settings().vpc_cidr]), ports=tcp(naming.POSTGRES_PORT, HTTPS_PORT)
            )
            self._policy(namespace, "mlflow-egress", pod_selector=mlflow_pods, egress=[cloud])

    def _qdrant(self) -> None:
        spec = self._spec
        namespace = naming.vector_db_namespace(spec)
        qdrant_pods = meta.selector_labels(spec, qdrant.APP)
        self._policy(
            namespace,
            "qdrant-ingress",
            pod_selector=qdrant_pods,
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=client_peers(spec), ports=tcp(naming.QDRANT_HTTP_PORT, naming.QDRANT_GRPC_PORT)
                )
            ],
        )
        if spec.vector_db.replicas > 1:
            peers = [pods_peer(spec, qdrant.APP)]
            self._policy(
                namespace,
                "qdrant-peers",
                pod_selector=qdrant_pods,
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=peers, ports=tcp(qdrant.P2P_PORT))],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=peers, ports=tcp(qdrant.P2P_PORT))],
            )

    def _policy(
        self,
        namespace: str,
        policy: str,
        *,
        pod_selector: Mapping[str, str],
        ingress: Sequence[k8s.networking.v1.NetworkPolicyIngressRuleArgs] = (),
        egress: Sequence[k8s.networking.v1.NetworkPolicyEgressRuleArgs] = (),
    ) -> k8s.networking.v1.NetworkPolicy:
        """One of the platform's policies, in one of its namespaces (see :func:`network_policy`)."""
        return network_policy(
            f"{self._name}-{namespace}-{policy}",
            self._spec,
            name=policy,
            namespace=self._namespaces[namespace],
            pod_selector=pod_selector,
            ingress=ingress,
            egress=egress,
            opts=pulumi.ResourceOptions(parent=self),
        )
