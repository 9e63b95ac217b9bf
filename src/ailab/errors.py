"""Errors that reach the user as one line and a meaningful exit code.

Every layer raises these instead of printing; the CLI turns them into a single
line on stderr and the exit code below. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_MISSING_PREREQUISITE = 3


class AilabError(Exception):
    """Base of the errors a user can act on. ``str(err)`` is the whole message."""

    exit_code = EXIT_FINDINGS


class BadInputError(AilabError):
    """The user gave something wrong: a stack file, an argument, a manifest.

    The message names the place (file, line, path) and what is allowed.
    """

    exit_code = EXIT_BAD_INPUT


class MissingPrerequisiteError(AilabError):
    """A tool or service ailab needs is absent (the Pulumi CLI, an NVIDIA driver)."""

    exit_code = EXIT_MISSING_PREREQUISITE


class OperationFailedError(AilabError):
    """An operation ran and failed (a deployment, an unreachable service)."""

    exit_code = EXIT_FINDINGS
