"""Label and annotation keys shared by the lab, the sandboxes and the policy rules.

One place, so a rule that looks for the owner label and the program that sets it
cannot drift apart.
"""

from __future__ import annotations

PREFIX = "ailab.eu"

PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
COMPONENT = "app.kubernetes.io/component"
NAME = "app.kubernetes.io/name"

OWNER = f"{PREFIX}/owner"
COST_CENTRE = f"{PREFIX}/cost-centre"
DATA_CLASSIFICATION = f"{PREFIX}/data-classification"
AUDIT_ID = f"{PREFIX}/audit-id"
SANDBOX_PROFILE = f"{PREFIX}/sandbox-profile"
GPU_POOL = f"{PREFIX}/gpu-pool"
EXPIRES_AT = f"{PREFIX}/expires-at"
"""Annotation (not a label: a timestamp is not a valid label value) on sandbox namespaces."""
MAX_EXPIRES_AT = f"{PREFIX}/max-expires-at"
"""Annotation: the latest moment the sandbox's profile allows it to live."""
OWNER_CONTACT = f"{PREFIX}/owner-contact"
PURPOSE = f"{PREFIX}/purpose"

PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
PSA_AUDIT = "pod-security.kubernetes.io/audit"
PSA_WARN = "pod-security.kubernetes.io/warn"

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_PRESENT = "nvidia.com/gpu.present"
DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
MIG_CONFIG = "nvidia.com/mig.config"

AWS_TAG_OWNER = "ailab:owner"
AWS_TAG_COST_CENTRE = "ailab:cost-centre"
AWS_TAG_DATA_CLASSIFICATION = "ailab:data-classification"
AWS_TAG_LAB = "ailab:lab"
AWS_TAG_OWNER_CONTACT = "ailab:owner-contact"

NAMESPACE_NAME = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace: what NetworkPolicies select a namespace by."""
KUBE_DNS = {"k8s-app": "kube-dns"}
"""The cluster DNS pods in kube-system (CoreDNS on EKS and k3s alike)."""


def psa_restricted() -> dict[str, str]:
    """Namespace labels that make Pod Security Admission enforce ``restricted``."""
    return {
        PSA_ENFORCE: "restricted",
        PSA_ENFORCE_VERSION: "latest",
        PSA_AUDIT: "restricted",
        PSA_WARN: "restricted",
    }
