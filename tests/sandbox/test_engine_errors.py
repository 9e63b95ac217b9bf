"""A failing Pulumi command becomes one line with what to do, wherever it fails (no Pulumi CLI needed)."""

from __future__ import annotations

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

from ailab.errors import OperationFailedError
from ailab.sandbox import lifecycle


def _command_error(stderr: str) -> auto.CommandError:
    return auto.CommandError(CommandResult(stdout="", stderr=stderr, code=255))


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        ("error: incorrect passphrase\n", "error: incorrect passphrase; check PULUMI_CONFIG_PASSPHRASE_FILE"),
        (
            "warning: x\nerror: failed to log in to s3://bucket\n",
            "error: failed to log in to s3://bucket; check the state backend (AILAB_BACKEND_URL)",
        ),
        (
            "error: Unauthorized\n",
            "error: Unauthorized; the cluster did not accept your credentials: sign in again as the sandbox operator "
            "(the group <lab name>:sandbox-operators: on AWS assume the role of the lab's sandboxOperatorRoleArn output",
        ),
        (
            'error: namespaces "audit-a1" is forbidden: User "bob" cannot create resource "namespaces"\n',
            'error: namespaces "audit-a1" is forbidden: User "bob" cannot create resource "namespaces"; the cluster '
            "refused this identity: sandbox operations run as the sandbox operator",
        ),
        ("something odd happened\n", "something odd happened; the full engine output is above"),
        ("", "no message; the full engine output is above"),
    ],
)
def test_engine_errors_are_one_line_with_advice(stderr, expected):
    message = lifecycle.engine_error(_command_error(stderr))
    assert message.startswith(expected) and "\n" not in message


def test_a_stack_that_cannot_be_opened_is_an_operation_failure_not_a_traceback(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise _command_error("error: incorrect passphrase\n")

    monkeypatch.setattr(auto, "select_stack", refuse)
    monkeypatch.setattr(auto, "create_or_select_stack", refuse)
    for create in (False, True):
        with pytest.raises(
            OperationFailedError,
            match=r"^opening the Pulumi stack of sandbox 2026-042-x failed: error: incorrect passphrase; check",
        ):
            lifecycle.open_stack("2026-042-x", create=create)


def test_a_missing_stack_is_still_told_apart(monkeypatch):
    def missing(*_args, **_kwargs):
        raise auto.StackNotFoundError(CommandResult(stdout="", stderr="error: no stack named 'x' found", code=255))

    monkeypatch.setattr(auto, "select_stack", missing)
    with pytest.raises(auto.StackNotFoundError):
        lifecycle.open_stack("x")


def test_every_missing_prerequisite_is_named_at_once(monkeypatch):
    from ailab.errors import MissingPrerequisiteError

    monkeypatch.setattr(lifecycle, "pulumi_cli", lambda: None)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    with pytest.raises(MissingPrerequisiteError) as missing:
        lifecycle.require_engine("create")
    message = str(missing.value)
    assert "needs the Pulumi CLI, which is not on PATH" in message and "; and a passphrase" in message
    assert "\n" not in message
