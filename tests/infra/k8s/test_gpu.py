"""The GPU operator: a pinned helm.v3 Release whose values carry the spec's sharing modes, and the device plugin's config."""

from __future__ import annotations

import yaml

from ailab.infra import tagging
from ailab.infra.k8s import gpu, gpu_config
from ailab.spec import naming

RELEASE = "kubernetes:helm.sh/v3:Release"


def operator_release(lab):
    """The planned GPU operator release (the lab may also install Traefik)."""
    (release,) = (r for r in lab.plan.of_type(RELEASE) if r.inputs["chart"] == gpu.GPU_OPERATOR_CHART)
    return release


def test_release_is_pinned_from_nvidias_repository(lab):
    release = operator_release(lab).inputs
    assert release["chart"] == "gpu-operator"
    assert release["repositoryOpts"] == {"repo": "https://helm.ngc.nvidia.com/nvidia"}
    assert release["version"] == gpu.GPU_OPERATOR_CHART_VERSION and release["version"][0] == "v"
    assert release["namespace"] == naming.gpu_namespace(lab.spec)
    assert release["createNamespace"] is False and release["atomic"] is True


def test_values_are_the_specs_plus_labels(lab):
    release = operator_release(lab).inputs
    values = release["values"]
    expected = gpu_config.gpu_operator_values(lab.spec)
    assert values["devicePlugin"] == expected["devicePlugin"]
    assert values["mig"] == expected["mig"] and values["migManager"] == expected["migManager"]
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}
    assert values["daemonsets"]["tolerations"] == expected["daemonsets"]["tolerations"]
    assert values["daemonsets"]["labels"] == tagging.k8s_labels(lab.spec, "gpu-operator")
    assert values["psa"] == {"enabled": False}


def test_mig_strategy_follows_the_pools(aws, onprem):
    for lab in (aws, onprem):
        release = operator_release(lab).inputs
        assert release["values"]["mig"]["strategy"] == "mixed"
        assert release["values"]["migManager"]["enabled"] is True


def test_device_plugin_config_has_one_entry_per_pool(lab):
    config = lab.one("kubernetes:core/v1:ConfigMap", "device-plugin-config", naming.gpu_namespace(lab.spec))
    assert config["data"] == gpu_config.device_plugin_config(lab.spec)
    assert set(config["data"]) == {pool.name for pool in lab.spec.gpu_pools}


def test_time_slicing_pool_entry(aws):
    config = aws.one("kubernetes:core/v1:ConfigMap", "device-plugin-config")
    entry = yaml.safe_load(config["data"]["l4"])
    assert entry["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]


def test_release_waits_for_its_config_and_namespace(lab):
    release = operator_release(lab)
    assert any(urn.endswith("::ailab-platform-gpu-device-plugin-config") for urn in release.dependencies)
    assert any(urn.endswith(f"::ailab-platform-namespaces-{naming.gpu_namespace(lab.spec)}") for urn in release.dependencies)
