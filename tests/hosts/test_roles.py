"""The roles' contracts, checked without running them: argument specs, prefixes, the shared NVML code, the GPU facts module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from tests.gpu.fake_nvml import FakeGpu, FakeNvml, h100

import ailab.gpu.inventory
from ailab.spec.gpu_sharing import pool_node_labels
from ailab.spec.labels import MIG_CONFIG
from ailab.spec.stackfile import load_stack_spec

REPO = Path(__file__).resolve().parents[2]
ROLES = ("hardening", "gpu_node", "k8s_node")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_is_prefixed_and_specified(role: str) -> None:
    defaults = _yaml(REPO / "roles" / role / "defaults" / "main.yml")
    specs = _yaml(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    options = specs["main"]["options"]
    assert all(name.startswith(f"{role}_") for name in [*defaults, *options])
    required = {name for name, spec in options.items() if spec.get("required")}
    assert set(defaults) == set(options) - required, "defaults/main.yml and meta/argument_specs.yml disagree"
    assert all(spec.get("description") and spec.get("type") for spec in options.values())
    # site.yml checks every role's variables first, through the preflight entry point
    assert specs["preflight"]["options"] == options


@pytest.mark.parametrize("role", ROLES)
def test_galaxy_layout(role: str) -> None:
    base = REPO / "roles" / role
    for part in (
        "meta/main.yml",
        "meta/argument_specs.yml",
        "defaults/main.yml",
        "tasks/main.yml",
        "tasks/preflight.yml",
        "handlers/main.yml",
    ):
        assert (base / part).is_file(), part
    assert _yaml(base / "meta" / "main.yml")["galaxy_info"]["role_name"] == role


def test_gpu_role_ships_the_gpu_modules_own_file() -> None:
    shipped = REPO / "roles" / "gpu_node" / "module_utils" / "ailab_gpu_inventory.py"
    assert shipped.is_symlink()
    assert shipped.resolve() == Path(ailab.gpu.inventory.__file__).resolve()


def _facts_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The role's module, imported with its module_utils import pointing at ailab's own module, as Ansible bundles it."""
    monkeypatch.setitem(sys.modules, "ansible.module_utils.ailab_gpu_inventory", ailab.gpu.inventory)
    path = REPO / "roles" / "gpu_node" / "library" / "ailab_gpu_facts.py"
    spec = importlib.util.spec_from_file_location("ailab_gpu_facts", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_facts_module_documents_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _facts_module(monkeypatch)
    assert yaml.safe_load(module.DOCUMENTATION)["module"] == "ailab_gpu_facts"
    assert yaml.safe_load(module.EXAMPLES) and yaml.safe_load(module.RETURN)["ansible_facts"]


def test_facts_module_reports_gpus_labels_and_pending_mig(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _facts_module(monkeypatch)
    pending = FakeGpu(mig_mode=(0, 1), failures=h100().failures)
    FakeNvml(gpus=[h100(), pending]).install(monkeypatch.setattr)
    fact = module.gpu_fact()
    assert fact["available"] and fact["reason"] is None and fact["gpu_count"] == 2
    assert fact["labels"]["nvidia.com/gpu.count"] == "2"
    assert fact["inventory"]["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
    assert fact["mig_pending"] is True


def test_facts_module_without_a_driver_is_a_clean_fact(monkeypatch: pytest.MonkeyPatch) -> None:
    import pynvml

    module = _facts_module(monkeypatch)
    FakeNvml(gpus=[], init_error=pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)).install(monkeypatch.setattr)
    fact = module.gpu_fact()
    assert fact == {
        "available": False,
        "reason": "no NVIDIA driver: libnvidia-ml.so.1 (NVML) was not found; install the NVIDIA driver",
        "gpu_count": 0,
        "inventory": None,
        "labels": {},
        "mig_pending": False,
    }


def test_example_inventory_expresses_the_onprem_gpu_pool() -> None:
    """The example gpu_nodes select the onprem stack's pool, with the MIG layout its sharing implies."""
    spec, _ = load_stack_spec("onprem")
    group = _yaml(REPO / "inventories" / "example" / "group_vars" / "gpu_nodes.yml")
    pool = next(pool for pool in spec.gpu_pools if pool.name == group["k8s_node_gpu_pool"])
    assert group["k8s_node_mig_config"] == pool_node_labels(pool)[MIG_CONFIG]
    assert group["gpu_node_sharing"] == pool.sharing.mode
