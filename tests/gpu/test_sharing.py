"""The lab's GPU sharing configuration (ailab.spec.gpu_sharing, ailab.infra.k8s.gpu_config) against what NVIDIA's components accept.

Formats checked: the device plugin's config file ``version: v1`` (``flags.migStrategy``,
``sharing.timeSlicing.{renameByDefault,failRequestsGreaterThanOne,resources[].{name,replicas}}``),
the resource names it advertises (``nvidia.com/gpu``, ``nvidia.com/mig-<profile>`` with a profile's
``+`` written ``.``), the MIG manager's ``nvidia.com/mig.config`` values (``all-disabled``,
``all-<profile>``) and the GPU operator chart's values (``mig.strategy``,
``devicePlugin.config.name/default``, ``migManager.config.default``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ailab.infra.k8s.gpu_config import (
    DEVICE_PLUGIN_CONFIGMAP,
    device_plugin_config,
    device_plugin_entry,
    gpu_operator_values,
    mig_strategy,
)
from ailab.spec import labels
from ailab.spec.constants import WHOLE_GPU
from ailab.spec.gpu_sharing import gpu_taint, pool_node_labels, quota_key, resource_name
from ailab.spec.model import ExclusiveSharing, GpuPool, LabSpec, MigSharing, TimeSlicingSharing
from ailab.spec.stackfile import find_project, load_stack_spec

REPO = Path(__file__).resolve().parents[2]

# Kubernetes: an extended resource name is a qualified name, <dns-subdomain>/<name>; a label value
# is at most 63 characters of alphanumerics, '-', '_', '.', alphanumeric at both ends.
QUALIFIED_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# The device plugin's v1 config keys (api/config/v1 of NVIDIA/k8s-device-plugin).
TOP_KEYS = {"version", "flags", "resources", "sharing", "imex"}
TIME_SLICING_KEYS = {"strategy", "renameByDefault", "failRequestsGreaterThanOne", "resources"}
REPLICA_KEYS = {"name", "rename", "devices", "replicas"}


def pool(sharing, name: str = "gpu", gpus_per_node: int = 4) -> GpuPool:
    return GpuPool(name=name, instance_types=["p5.48xlarge"], gpus_per_node=gpus_per_node, sharing=sharing)


EXCLUSIVE = pool(ExclusiveSharing(), "whole")
TIME_SLICED = pool(TimeSlicingSharing(mode="time-slicing", replicas=4), "shared")
MIG_MIXED = pool(MigSharing(mode="mig", profile="1g.10gb", strategy="mixed"), "mig")
MIG_SINGLE = pool(MigSharing(mode="mig", profile="3g.40gb", strategy="single"), "mig-single")
MIG_MEDIA = pool(MigSharing(mode="mig", profile="1g.10gb+me", strategy="mixed"), "mig-media")
ALL = [EXCLUSIVE, TIME_SLICED, MIG_MIXED, MIG_SINGLE, MIG_MEDIA]
IDS = [p.name for p in ALL]


@pytest.fixture(scope="module")
def spec() -> LabSpec:
    lab, _ = load_stack_spec("aws-eu", find_project(REPO))
    return lab


def with_pools(spec: LabSpec, *pools: GpuPool) -> LabSpec:
    return spec.model_copy(update={"gpu_pools": list(pools)})


@pytest.mark.parametrize(
    ("gpu_pool", "expected"),
    [
        (EXCLUSIVE, "nvidia.com/gpu"),
        (TIME_SLICED, "nvidia.com/gpu"),  # renameByDefault is false: replicas keep the plain name
        (MIG_MIXED, "nvidia.com/mig-1g.10gb"),
        (MIG_SINGLE, "nvidia.com/gpu"),  # single strategy: every MIG device is advertised as a GPU
        (MIG_MEDIA, "nvidia.com/mig-1g.10gb.me"),  # the device plugin writes the profile's '+' as '.'
    ],
    ids=IDS,
)
def test_resource_and_quota_names(gpu_pool, expected):
    assert resource_name(gpu_pool) == expected
    assert quota_key(gpu_pool) == f"requests.{expected}"
    assert QUALIFIED_NAME.match(resource_name(gpu_pool))


def test_time_slicing_entry_parsed_back_from_yaml(spec):
    data = yaml.safe_load(device_plugin_config(with_pools(spec, TIME_SLICED))["shared"])
    assert data == {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {
            "timeSlicing": {
                "renameByDefault": False,
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": "nvidia.com/gpu", "replicas": 4}],
            }
        },
    }


@pytest.mark.parametrize(
    ("gpu_pool", "strategy"),
    [(EXCLUSIVE, "none"), (MIG_MIXED, "mixed"), (MIG_SINGLE, "single")],
    ids=["whole", "mixed", "single"],
)
def test_entries_without_sharing_set_only_the_mig_strategy(spec, gpu_pool, strategy):
    data = yaml.safe_load(device_plugin_config(with_pools(spec, gpu_pool))[gpu_pool.name])
    assert data == {"version": "v1", "flags": {"migStrategy": strategy}}


@pytest.mark.parametrize("gpu_pool", ALL, ids=IDS)
def test_every_entry_uses_only_keys_the_device_plugin_knows(gpu_pool):
    entry = device_plugin_entry(gpu_pool)
    assert set(entry) <= TOP_KEYS and entry["version"] == "v1"
    assert entry["flags"]["migStrategy"] in {"none", "single", "mixed"}
    time_slicing = entry.get("sharing", {}).get("timeSlicing")
    if time_slicing:
        assert set(time_slicing) <= TIME_SLICING_KEYS
        for resource in time_slicing["resources"]:
            assert set(resource) <= REPLICA_KEYS and resource["replicas"] >= 2
            assert resource["name"] == WHOLE_GPU


def test_config_map_has_one_document_per_pool(spec):
    data = device_plugin_config(spec)
    assert set(data) == {p.name for p in spec.gpu_pools} == {"h100", "l4"}
    assert yaml.safe_load(data["h100"])["flags"]["migStrategy"] == "mixed"
    assert yaml.safe_load(data["l4"])["sharing"]["timeSlicing"]["resources"][0]["replicas"] == 4


@pytest.mark.parametrize(
    ("gpu_pool", "mig_config"),
    [
        (EXCLUSIVE, "all-disabled"),
        (TIME_SLICED, "all-disabled"),
        (MIG_MIXED, "all-1g.10gb"),
        (MIG_SINGLE, "all-3g.40gb"),
        (MIG_MEDIA, "all-1g.10gb.me"),  # the MIG manager's default config for one 1g.10gb+me device
    ],
    ids=IDS,
)
def test_node_labels_select_the_device_plugin_entry_and_mig_layout(gpu_pool, mig_config):
    node_labels = pool_node_labels(gpu_pool)
    assert node_labels == {
        labels.GPU_PRESENT: "true",
        labels.GPU_POOL: gpu_pool.name,
        labels.DEVICE_PLUGIN_CONFIG: gpu_pool.name,
        labels.MIG_CONFIG: mig_config,
    }
    assert all(LABEL_VALUE.match(value) and len(value) <= 63 for value in node_labels.values())


def test_the_taint_is_the_one_the_operator_tolerates(spec):
    values = gpu_operator_values(spec)
    assert values["daemonsets"]["tolerations"] == [{**gpu_taint(), "operator": "Equal"}]
    assert gpu_taint() == {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def test_operator_values_of_the_example_lab(spec):
    values = yaml.safe_load(yaml.safe_dump(gpu_operator_values(spec)))  # what helm receives
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}
    assert values["mig"] == {"strategy": "mixed"}
    assert values["migManager"] == {"enabled": True, "config": {"default": "all-disabled"}}
    assert values["devicePlugin"]["config"] == {"name": DEVICE_PLUGIN_CONFIGMAP, "default": "h100"}
    assert values["devicePlugin"]["config"]["default"] in device_plugin_config(spec)


def test_operator_values_without_mig(spec):
    lab = with_pools(spec, TIME_SLICED, EXCLUSIVE)
    values = gpu_operator_values(lab)
    assert mig_strategy(lab) == "none" and values["mig"] == {"strategy": "none"}
    assert values["migManager"]["enabled"] is False
    assert values["devicePlugin"]["config"]["default"] == "shared"


def test_single_strategy_is_the_clusters(spec):
    assert mig_strategy(with_pools(spec, EXCLUSIVE, MIG_SINGLE)) == "single"
