"""The controls the catalogue maps to, defined once so that every rule cites them identically.

Sources and editions (checked against the texts, not from memory alone):

* EUDPR: Regulation (EU) 2018/1725. Art. 4(1) principles, Art. 27 data protection by design
  and by default, Art. 33 security of processing, Chapter V (Arts. 46-51) transfers; Art. 46 is
  the general principle that any transfer to a third country complies with that chapter.
* GDPR: Regulation (EU) 2016/679, the parallel provisions (Art. 5(1), 25, 32, 44). The lab's
  controller is bound by the EUDPR; the GDPR references help reviewers who audit the same
  controls for bodies under the GDPR.
* AI Act: Regulation (EU) 2024/1689. The lab is not a provider or deployer of a high-risk AI
  system, so Art. 12 (record-keeping) and Art. 15 (accuracy, robustness, cybersecurity), which
  bind high-risk systems, are *not* cited. What binds the lab is Art. 78(2): an authority applying
  the Regulation (the EDPS is the market surveillance authority for Union institutions, Art. 74(9))
  must protect the security and confidentiality of the information and data it obtains with
  adequate and effective cybersecurity measures, and delete it when no longer needed. Only rules
  that protect or delete evaluation data cite it.
* ISO/IEC 27001:2022 Annex A control numbers and titles.
* CIS Kubernetes Benchmark v1.10.0 (section 5 numbering as in kube-bench ``cfg/cis-1.10``);
  CIS Amazon EKS Benchmark v1.7.0 (kube-bench ``cfg/eks-1.7.0``). Numbers moved between
  editions (5.2.1 was "privileged containers" before v1.7), so the edition matters.
* NSA/CISA Kubernetes Hardening Guidance v1.2, cited as ``section`` with the subsection as title.
"""

from __future__ import annotations

from ailab.policy.model import Control

# --- Regulation (EU) 2018/1725 (EUDPR) ---------------------------------------------------------
EUDPR_STORAGE_LIMITATION = Control("eudpr", "Art. 4(1)(e)", "Storage limitation")
EUDPR_BY_DEFAULT = Control("eudpr", "Art. 27(2)", "Data protection by default: not accessible to an indefinite number of persons")
EUDPR_SECURITY = Control("eudpr", "Art. 33(1)", "Security of processing")
EUDPR_ENCRYPTION = Control("eudpr", "Art. 33(1)(a)", "Security of processing: encryption of personal data")
EUDPR_CONFIDENTIALITY = Control(
    "eudpr", "Art. 33(1)(b)", "Security of processing: ongoing confidentiality, integrity, availability and resilience"
)
EUDPR_RESTORE = Control("eudpr", "Art. 33(1)(c)", "Security of processing: timely restoration of availability and access")
EUDPR_TRANSFERS = Control("eudpr", "Art. 46", "Transfers to third countries: general principle")

# --- Regulation (EU) 2016/679 (GDPR), parallel provisions --------------------------------------
GDPR_STORAGE_LIMITATION = Control("gdpr", "Art. 5(1)(e)", "Storage limitation")
GDPR_BY_DEFAULT = Control("gdpr", "Art. 25(2)", "Data protection by default")
GDPR_SECURITY = Control("gdpr", "Art. 32(1)", "Security of processing")
GDPR_ENCRYPTION = Control("gdpr", "Art. 32(1)(a)", "Security of processing: encryption of personal data")
GDPR_CONFIDENTIALITY = Control(
    "gdpr", "Art. 32(1)(b)", "Security of processing: ongoing confidentiality, integrity, availability and resilience"
)
GDPR_RESTORE = Control("gdpr", "Art. 32(1)(c)", "Security of processing: timely restoration of availability and access")
GDPR_TRANSFERS = Control("gdpr", "Art. 44", "Transfers: general principle")

# --- Regulation (EU) 2024/1689 (AI Act) ---------------------------------------------------------
AI_ACT_CONFIDENTIALITY = Control(
    "ai-act", "Art. 78(2)", "Confidentiality: cybersecurity measures protecting the information and data obtained"
)
AI_ACT_DELETION = Control("ai-act", "Art. 78(2)", "Confidentiality: delete the data collected when no longer needed")

# --- ISO/IEC 27001:2022 Annex A -----------------------------------------------------------------
ISO_ASSET_INVENTORY = Control("iso27001", "A.5.9", "Inventory of information and other associated assets")
ISO_CLASSIFICATION = Control("iso27001", "A.5.12", "Classification of information")
ISO_LABELLING = Control("iso27001", "A.5.13", "Labelling of information")
ISO_ACCESS_CONTROL = Control("iso27001", "A.5.15", "Access control")
ISO_CLOUD = Control("iso27001", "A.5.23", "Information security for use of cloud services")
ISO_CONTINUITY = Control("iso27001", "A.5.30", "ICT readiness for business continuity")
ISO_PII = Control("iso27001", "A.5.34", "Privacy and protection of PII")
ISO_PRIVILEGED_ACCESS = Control("iso27001", "A.8.2", "Privileged access rights")
ISO_ACCESS_RESTRICTION = Control("iso27001", "A.8.3", "Information access restriction")
ISO_AUTHENTICATION = Control("iso27001", "A.8.5", "Secure authentication")
ISO_CAPACITY = Control("iso27001", "A.8.6", "Capacity management")
ISO_VULNERABILITIES = Control("iso27001", "A.8.8", "Management of technical vulnerabilities")
ISO_CONFIGURATION = Control("iso27001", "A.8.9", "Configuration management")
ISO_DELETION = Control("iso27001", "A.8.10", "Information deletion")
ISO_BACKUP = Control("iso27001", "A.8.13", "Information backup")
ISO_LOGGING = Control("iso27001", "A.8.15", "Logging")
ISO_SOFTWARE_INSTALLATION = Control("iso27001", "A.8.19", "Installation of software on operational systems")
ISO_NETWORKS = Control("iso27001", "A.8.20", "Networks security")
ISO_NETWORK_SERVICES = Control("iso27001", "A.8.21", "Security of network services")
ISO_SEGREGATION = Control("iso27001", "A.8.22", "Segregation of networks")
ISO_CRYPTOGRAPHY = Control("iso27001", "A.8.24", "Use of cryptography")
ISO_SEPARATION = Control("iso27001", "A.8.31", "Separation of development, test and production environments")

# --- CIS Kubernetes Benchmark v1.10.0 -----------------------------------------------------------
CIS_K8S_CLUSTER_ADMIN = Control("cis-k8s", "5.1.1", "Ensure that the cluster-admin role is only used where required")
CIS_K8S_SECRETS = Control("cis-k8s", "5.1.2", "Minimize access to secrets")
CIS_K8S_WILDCARDS = Control("cis-k8s", "5.1.3", "Minimize wildcard use in Roles and ClusterRoles")
CIS_K8S_SA_TOKENS = Control("cis-k8s", "5.1.6", "Ensure that Service Account Tokens are only mounted where necessary")
CIS_K8S_SYSTEM_MASTERS = Control("cis-k8s", "5.1.7", "Avoid use of system:masters group")
CIS_K8S_BIND_ESCALATE = Control("cis-k8s", "5.1.8", "Limit use of the Bind, Impersonate and Escalate permissions")
CIS_K8S_POLICY_CONTROL = Control("cis-k8s", "5.2.1", "Ensure that the cluster has at least one active policy control mechanism")
CIS_K8S_PRIVILEGED = Control("cis-k8s", "5.2.2", "Minimize the admission of privileged containers")
CIS_K8S_HOST_PID = Control("cis-k8s", "5.2.3", "Minimize the admission of containers sharing the host process ID namespace")
CIS_K8S_HOST_IPC = Control("cis-k8s", "5.2.4", "Minimize the admission of containers sharing the host IPC namespace")
CIS_K8S_HOST_NETWORK = Control("cis-k8s", "5.2.5", "Minimize the admission of containers sharing the host network namespace")
CIS_K8S_PRIV_ESCALATION = Control("cis-k8s", "5.2.6", "Minimize the admission of containers with allowPrivilegeEscalation")
CIS_K8S_ROOT = Control("cis-k8s", "5.2.7", "Minimize the admission of root containers")
CIS_K8S_ADDED_CAPS = Control("cis-k8s", "5.2.9", "Minimize the admission of containers with added capabilities")
CIS_K8S_CAPS_ASSIGNED = Control("cis-k8s", "5.2.10", "Minimize the admission of containers with capabilities assigned")
CIS_K8S_HOST_PATH = Control("cis-k8s", "5.2.12", "Minimize the admission of HostPath volumes")
CIS_K8S_HOST_PORTS = Control("cis-k8s", "5.2.13", "Minimize the admission of containers which use HostPorts")
CIS_K8S_NETWORK_POLICIES = Control("cis-k8s", "5.3.2", "Ensure that all Namespaces have NetworkPolicies defined")
CIS_K8S_NAMESPACES = Control("cis-k8s", "5.7.1", "Create administrative boundaries between resources using namespaces")
CIS_K8S_SECCOMP = Control("cis-k8s", "5.7.2", "Ensure that the seccomp profile is set to docker/default in your Pod definitions")
CIS_K8S_DEFAULT_NAMESPACE = Control("cis-k8s", "5.7.4", "The default namespace should not be used")

# --- CIS Amazon EKS Benchmark v1.7.0 ------------------------------------------------------------
CIS_EKS_AUDIT_LOGS = Control("cis-eks", "2.1.1", "Enable audit Logs")
CIS_EKS_CLUSTER_ADMIN = Control("cis-eks", "4.1.1", "Ensure that the cluster-admin role is only used where required")
CIS_EKS_SECRETS = Control("cis-eks", "4.1.2", "Minimize access to secrets")
CIS_EKS_WILDCARDS = Control("cis-eks", "4.1.3", "Minimize wildcard use in Roles and ClusterRoles")
CIS_EKS_SA_TOKENS = Control("cis-eks", "4.1.6", "Ensure that Service Account Tokens are only mounted where necessary")
CIS_EKS_BIND_ESCALATE = Control("cis-eks", "4.1.8", "Limit use of the Bind, Impersonate and Escalate permissions")
CIS_EKS_PRIVILEGED = Control("cis-eks", "4.2.1", "Minimize the admission of privileged containers")
CIS_EKS_HOST_PID = Control("cis-eks", "4.2.2", "Minimize the admission of containers sharing the host process ID namespace")
CIS_EKS_HOST_IPC = Control("cis-eks", "4.2.3", "Minimize the admission of containers sharing the host IPC namespace")
CIS_EKS_HOST_NETWORK = Control("cis-eks", "4.2.4", "Minimize the admission of containers sharing the host network namespace")
CIS_EKS_PRIV_ESCALATION = Control("cis-eks", "4.2.5", "Minimize the admission of containers with allowPrivilegeEscalation")
CIS_EKS_NETWORK_POLICIES = Control("cis-eks", "4.3.2", "Ensure that all Namespaces have Network Policies defined")
CIS_EKS_NAMESPACES = Control("cis-eks", "4.5.1", "Create administrative boundaries between resources using namespaces")
CIS_EKS_DEFAULT_NAMESPACE = Control("cis-eks", "4.5.2", "The default namespace should not be used")
CIS_EKS_REGISTRIES = Control("cis-eks", "5.1.4", "Minimize Container Registries to only those approved")
CIS_EKS_SECRETS_KMS = Control("cis-eks", "5.3.1", "Ensure Kubernetes Secrets are encrypted using CMKs managed in AWS KMS")
CIS_EKS_ENDPOINT_RESTRICT = Control("cis-eks", "5.4.1", "Restrict Access to the Control Plane Endpoint")
CIS_EKS_PRIVATE_ENDPOINT = Control(
    "cis-eks", "5.4.2", "Ensure clusters are created with Private Endpoint Enabled and Public Access Disabled"
)
CIS_EKS_PRIVATE_NODES = Control("cis-eks", "5.4.3", "Ensure clusters are created with Private Nodes")
CIS_EKS_TLS_LB = Control("cis-eks", "5.4.5", "Encrypt traffic to HTTPS load balancers with TLS certificates")

# --- NSA/CISA Kubernetes Hardening Guidance v1.2 ------------------------------------------------
_POD = "Kubernetes Pod security"
_NET = "Network separation and hardening"
NSA_NON_ROOT = Control("nsa-cisa", _POD, "Non-root containers and rootless container engines")
NSA_IMMUTABLE_FS = Control("nsa-cisa", _POD, "Immutable container file systems")
NSA_SECURE_IMAGES = Control("nsa-cisa", _POD, "Building secure container images")
NSA_POD_SECURITY_ENFORCEMENT = Control("nsa-cisa", _POD, "Pod security enforcement")
NSA_SA_TOKENS = Control("nsa-cisa", _POD, "Protecting Pod service account tokens")
NSA_HARDENING_CONTAINERS = Control("nsa-cisa", _POD, "Hardening container environments")
NSA_NAMESPACES = Control("nsa-cisa", _NET, "Namespaces")
NSA_NETWORK_POLICIES = Control("nsa-cisa", _NET, "Network policies")
NSA_RESOURCE_POLICIES = Control("nsa-cisa", _NET, "Resource policies")
NSA_CONTROL_PLANE = Control("nsa-cisa", _NET, "Control plane hardening")
NSA_ENCRYPTION = Control("nsa-cisa", _NET, "Encryption")
NSA_SECRETS = Control("nsa-cisa", _NET, "Secrets")
NSA_CLOUD_INFRA = Control("nsa-cisa", _NET, "Protecting sensitive cloud infrastructure")
NSA_RBAC = Control("nsa-cisa", "Authentication and authorization", "Role-based access control")
NSA_LOGGING = Control("nsa-cisa", "Audit Logging and Threat Detection", "Logging")
