"""The user-facing errors every service client raises, so MLflow and Qdrant failures read alike.

Each message is one line naming the service, its URL and the fix. Nothing secret goes in:
callers pass what they sent that must never be echoed (passwords, keys) to :func:`redact`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ailab.errors import BadInputError, OperationFailedError

REDACTED = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced, and only its first line.

    Servers sometimes append diagnostics (SQL statements and their parameters, password hashes
    included) after the first line; the first line is the part a user can act on.
    """
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    for secret in secrets:
        if secret:
            first_line = first_line.replace(secret, REDACTED)
    return first_line


def unreachable(service: str, url: str, cause: BaseException, attempts: int = 1) -> OperationFailedError:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return OperationFailedError(
        f"{service} at {url} is unreachable{tries} ({type(cause).__name__}: {cause}): "
        "check the URL, that the server is running and that this machine can reach it (VPN, port-forward)"
    )


def credentials_rejected(service: str, url: str, who: str, status: int) -> BadInputError:
    return BadInputError(
        f"{service} at {url} rejected the credentials of {who} (HTTP {status}): "
        f"check the {service} admin credentials in the lab stack's configuration"
    )


def not_permitted(service: str, url: str, who: str, what: str) -> BadInputError:
    return BadInputError(
        f"{service} at {url} refused {what} to {who} (HTTP 403): "
        f"use an account with {service} admin rights (the lab stack's {service} admin)"
    )


def not_a_url(service: str, url: str) -> BadInputError:
    return BadInputError(
        f"{service} URL {url!r} is not an http:// or https:// URL: give the server's address, e.g. http://host:port"
    )
