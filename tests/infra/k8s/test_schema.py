"""Every Kubernetes object the platform declares is valid against the Kubernetes OpenAPI schema (strict: no unknown fields).

The schema is that of the cluster's Kubernetes minor version (``spec.cluster.kubernetes_version``),
or the newest that kubernetes-validate ships below it.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from ailab.formats import SECRET


def manifest(inputs: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server would receive it; a Secret's whole ``stringData`` is hidden by the plan."""
    if inputs.get("stringData") == SECRET:
        return {**inputs, "stringData": {"hidden": SECRET}}
    return inputs


CUSTOM_RESOURCES = {"helm.cattle.io/v1"}
"""API groups of custom resources (k3s's HelmChartConfig), which Kubernetes's own schemas do not cover."""


def test_every_object_is_valid_for_the_clusters_version(lab):
    version = lab.spec.cluster.kubernetes_version
    objects = [r for r in lab.objects() if r.inputs["apiVersion"] not in CUSTOM_RESOURCES]
    assert len(objects) > 40
    for resource in objects:
        try:
            kubernetes_validate.validate(manifest(resource.inputs), version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{resource.type} {resource.name}: {'.'.join(map(str, error.path))}: {error.message}")


def test_validation_catches_a_wrong_field(lab):
    """The check is real: a misspelled field in a hardened pod spec is refused."""
    (deployment,) = (r.inputs for r in lab.objects() if r.type == "kubernetes:apps/v1:Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, lab.spec.cluster.kubernetes_version, strict=True)
