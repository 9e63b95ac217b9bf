"""The rule context: one constructor from a lab spec, the defaults applied there and nowhere else."""

from __future__ import annotations

import pytest
from tests.policy.support import DATA, REPO

from ailab.policy.loaders import LoadedInputs, load_inputs
from ailab.policy.model import RuleContext
from ailab.spec.constants import DEFAULT_REGISTRIES
from ailab.spec.regions import EU_REGIONS
from ailab.spec.stackfile import find_project, load_stack_spec


def test_without_a_lab_the_defaults_apply() -> None:
    context = RuleContext.from_lab()
    assert context.allowed_registries == DEFAULT_REGISTRIES
    assert context.allowed_regions == tuple(EU_REGIONS)
    assert RuleContext() == context


def test_the_lab_s_registries_apply_unless_registries_are_given() -> None:
    spec = load_stack_spec("aws-eu", find_project(REPO))[0]
    assert RuleContext.from_lab(spec).allowed_registries == tuple(spec.supply_chain.allowed_registries)
    given = RuleContext.from_lab(spec, allowed_registries=["ghcr.io/acme"])
    assert given.allowed_registries == ("ghcr.io/acme",)
    assert given.allowed_regions == tuple(EU_REGIONS)


def test_regions_given_replace_the_eu() -> None:
    assert RuleContext.from_lab(allowed_regions=["eu-west-3"]).allowed_regions == ("eu-west-3",)


def test_an_empty_context_is_refused() -> None:
    # Rules apply no defaults of their own: an empty list would fail every image or region.
    with pytest.raises(ValueError, match="at least one"):
        RuleContext(allowed_registries=())
    with pytest.raises(ValueError, match="at least one"):
        RuleContext(allowed_regions=())


def test_load_inputs_reads_every_file_in_order() -> None:
    loaded = load_inputs(plan=DATA / "plan.json", state=DATA / "state.json", manifests=[DATA / "manifests"])
    records, sources = loaded.records, loaded.sources
    assert sources == [str(DATA / "plan.json"), str(DATA / "state.json"), str(DATA / "manifests")]
    assert {record.source for record in records} >= {str(DATA / "plan.json"), str(DATA / "state.json")}
    assert load_inputs() == LoadedInputs()
