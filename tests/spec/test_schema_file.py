"""The stack-file JSON Schema accepts the project's own stack files and refuses what ailab refuses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from ailab.spec.schema import DRAFT, SCHEMA_ID, render, stack_file_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "docs" / "schemas" / "stack-file.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = stack_file_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _example(name: str) -> dict:
    return yaml.safe_load((REPO / "stacks" / f"Pulumi.{name}.yaml").read_text())


def _errors(validator, document) -> list[str]:
    return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def test_the_committed_schema_is_current():
    assert SCHEMA_FILE.read_text() == render(), "run .venv/bin/ailab lab schema > docs/schemas/stack-file.schema.json"


def test_identity():
    schema = stack_file_schema()
    assert (schema["$schema"], schema["$id"]) == (DRAFT, SCHEMA_ID)


@pytest.mark.parametrize("name", ["aws-eu", "onprem"])
def test_the_example_stacks_are_valid(validator, name):
    assert _errors(validator, _example(name)) == []


def test_a_plain_text_secret_is_refused(validator):
    document = _example("aws-eu")
    document["config"]["ailab:lab"]["mlflow"]["admin_password"] = "a-plain-text-password-of-length"
    assert any(error.startswith("config.ailab:lab.mlflow.admin_password") for error in _errors(validator, document))


def test_an_unquoted_version_is_refused(validator):
    document = _example("aws-eu")
    document["config"]["ailab:lab"]["cluster"]["kubernetes_version"] = 1.31
    assert any("kubernetes_version" in error and "not of type 'string'" in error for error in _errors(validator, document))


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["config"]["ailab:lab"].update(colour="blue"), "config.ailab:lab"),
        (lambda d: d["config"].update({"ailab:other": 1}), "config"),
        (lambda d: d.update(extra=True), ""),
        (lambda d: d.update(encryptionsalt="garbage"), "encryptionsalt"),
        (
            lambda d: d["config"]["ailab:lab"]["mlflow"].update(admin_password={"secure": "garbage"}),
            "config.ailab:lab.mlflow.admin_password.secure",
        ),
    ],
)
def test_what_ailab_refuses_the_schema_refuses(validator, edit, where):
    document = copy.deepcopy(_example("aws-eu"))
    edit(document)
    assert any(error.split(": ", 1)[0] == where for error in _errors(validator, document))


def test_other_providers_keys_are_allowed(validator):
    document = _example("aws-eu")
    document["config"]["aws:region"] = "eu-central-1"
    assert _errors(validator, document) == []


def test_the_file_is_json_the_editors_read():
    assert json.loads(SCHEMA_FILE.read_text())["$id"] == SCHEMA_ID
