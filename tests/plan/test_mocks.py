"""The mock monitor's answers: known data sources answer, an unknown one is an error, not ``{}``."""

from __future__ import annotations

import pulumi
import pytest

from ailab.plan.mocks import INVOKES, LabMocks, UnmockedInvokeError
from ailab.plan.runner import run_program


def _invoke(token: str) -> None:
    result = pulumi.runtime.invoke(token, {})
    pulumi.export("answer", result.value)


def test_a_known_data_source_answers_for_the_region() -> None:
    plan = run_program(lambda: _invoke("aws:index/getRegion:getRegion"), project="p", stack="s", kind="lab", region="eu-west-3")
    assert plan.outputs["answer"]["name"] == "eu-west-3"


def test_an_unknown_data_source_raises_naming_it_and_the_fix() -> None:
    token = "aws:ec2/getAmi:getAmi"
    assert token not in INVOKES
    with pytest.raises(UnmockedInvokeError, match=r"aws:ec2/getAmi:getAmi.*INVOKES in ailab\.plan\.mocks") as raised:
        run_program(lambda: _invoke(token), project="p", stack="s", kind="lab")
    assert raised.value.token == token


def test_call_answers_with_no_failures() -> None:
    args = pulumi.runtime.MockCallArgs(token="aws:index/getPartition:getPartition", args={}, provider="")
    answer, failures = LabMocks("eu-north-1").call(args)
    assert answer["partition"] == "aws" and failures == []
