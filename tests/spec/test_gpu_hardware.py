"""Instance types, the GPU of each family and its MIG profiles: hardware mistakes are caught before the nodes."""

from __future__ import annotations

import pytest

from ailab.spec.gpu_hardware import GPU_BY_FAMILY, ec2_instance_types, gpu_of, instance_type_problem, mig_problem


def test_botocores_model_knows_the_gpu_types_of_every_family():
    known = ec2_instance_types()
    assert len(known) > 500
    for family in GPU_BY_FAMILY:
        assert any(t.startswith(f"{family}.") for t in known), family


@pytest.mark.parametrize("instance_type", ["p5.48xlarge", "g6.12xlarge", "m7i.2xlarge", "p4de.24xlarge"])
def test_real_types_pass(instance_type):
    assert instance_type_problem(instance_type) is None


def test_a_typo_is_refused_with_the_nearest_types():
    problem = instance_type_problem("p5.48xlarg")
    assert problem is not None and "'p5.48xlarg' is not an EC2 instance type; did you mean p5.48xlarge" in problem


def test_nonsense_is_refused_without_a_guess():
    assert instance_type_problem("banana") == "'banana' is not an EC2 instance type; see the EC2 instance types of your region"


@pytest.mark.parametrize(
    ("instance_type", "gpu"),
    [("p5.48xlarge", "NVIDIA H100 80GB"), ("p5en.48xlarge", "NVIDIA H200 141GB"), ("g6.12xlarge", "NVIDIA L4 24GB")],
)
def test_gpu_models(instance_type, gpu):
    model = gpu_of(instance_type)
    assert model is not None and model.name == gpu


def test_an_h100_has_no_1g_5gb_profile():
    problem = mig_problem("p5.48xlarge", "1g.5gb")
    assert problem == (
        "the NVIDIA H100 80GB of p5.48xlarge has no MIG profile 1g.5gb; "
        "it offers 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb"
    )
    assert mig_problem("p4d.24xlarge", "1g.5gb") is None  # the A100 40GB has it


def test_an_l4_has_no_mig():
    assert (
        mig_problem("g6.12xlarge", "1g.10gb")
        == "the NVIDIA L4 24GB of g6.12xlarge has no MIG; use exclusive or time-slicing sharing"
    )


def test_a_mig_gpu_without_a_profile_table_is_refused_not_guessed():
    problem = mig_problem("p6-b300.48xlarge", "1g.23gb")
    assert problem is not None and "no MIG profile table" in problem


@pytest.mark.parametrize(
    ("instance_type", "profile"), [("p5.48xlarge", "3g.40gb"), ("p5e.48xlarge", "1g.18gb+me"), ("p6-b200.48xlarge", "7g.180gb")]
)
def test_real_profiles_pass(instance_type, profile):
    assert mig_problem(instance_type, profile) is None
