"""Encrypted stack values checked without the passphrase: malformed ones and a missing salt refused, example ones flagged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ailab.errors import BadInputError
from ailab.spec import stack_secrets
from ailab.spec.stackfile import example_secrets_warning, find_project, read_stack

REPO = Path(__file__).resolve().parents[2]
OTHER_SALT = "v1:AAECAwQFBgc=:v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
"""Well-formed, but no passphrase's: its check word does not decrypt with the example passphrase."""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    shutil.copy(REPO / "stacks" / "Pulumi.onprem.yaml", tmp_path / "stacks" / "Pulumi.copy.yaml")
    return tmp_path


def _edit(project: Path, old: str, new: str) -> None:
    stack = project / "stacks" / "Pulumi.copy.yaml"
    text = stack.read_text()
    assert old in text
    stack.write_text(text.replace(old, new, 1))


def test_a_copied_example_stack_is_flagged(project: Path) -> None:
    warning = example_secrets_warning(read_stack(find_project(project), "copy"))
    assert warning is not None and "published example passphrase" in warning and "change-secrets-provider -s copy" in warning


def test_a_new_salt_with_the_example_passphrase_is_flagged(project: Path) -> None:
    """The salt changes with every stack: the check word decides, by decrypting it with the example passphrase."""
    salt = stack_secrets.parse_salt(
        "v1:UYFCIX75jPQ=:v1:LhQcZbjTmKdRd6eE:nixk5mD0z2SYX9Ri1BSS0G4ESOyd1Q=="  # aws-eu's, not in the onprem copy
    )
    assert salt is not None and stack_secrets.opens_with(stack_secrets.EXAMPLE_PASSPHRASE, salt)
    assert not stack_secrets.opens_with("another passphrase", salt)


def test_a_stack_with_its_own_salt_is_not_flagged(project: Path) -> None:
    text = (project / "stacks" / "Pulumi.copy.yaml").read_text()
    salt_line = next(line for line in text.splitlines() if line.startswith("encryptionsalt:"))
    _edit(project, salt_line, f"encryptionsalt: {OTHER_SALT}")
    assert example_secrets_warning(read_stack(find_project(project), "copy")) is None


def test_a_secure_value_that_is_no_ciphertext_is_refused_at_its_line(project: Path) -> None:
    text = (project / "stacks" / "Pulumi.copy.yaml").read_text()
    (first,) = [line for line in text.splitlines() if "secure: v1:" in line][:1]
    _edit(project, first.split("secure: ", 1)[1], "garbage")
    line = text.splitlines().index(first) + 1
    with pytest.raises(
        BadInputError, match=rf"Pulumi.copy.yaml:{line - 1}: ailab:lab\.[a-z_.]+: secure value is not a Pulumi ciphertext"
    ):
        read_stack(find_project(project), "copy")


def test_a_passphrase_stack_without_its_salt_is_refused(project: Path) -> None:
    text = (project / "stacks" / "Pulumi.copy.yaml").read_text()
    salt_line = next(line for line in text.splitlines() if line.startswith("encryptionsalt:"))
    _edit(project, salt_line + "\n", "")
    with pytest.raises(BadInputError, match=r"Pulumi\.copy\.yaml:1: secure values but no encryptionsalt"):
        read_stack(find_project(project), "copy")


def test_a_kms_stack_needs_no_salt(project: Path) -> None:
    text = (project / "stacks" / "Pulumi.copy.yaml").read_text()
    salt_line = next(line for line in text.splitlines() if line.startswith("encryptionsalt:"))
    _edit(project, salt_line + "\n", "")
    _edit(project, "secretsprovider: passphrase", "secretsprovider: awskms://alias/ailab-pulumi?region=eu-central-1")
    stack = read_stack(find_project(project), "copy")
    assert stack.secret_paths and example_secrets_warning(stack) is None


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "v1:abc",
        "v2:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==",
        "v1:AAAA:AAAAAAAAAAAAAAAAAAAAAA==",
        "v1:AAAAAAAAAAAAAAAA:AAAA",
    ],
)
def test_malformed_ciphertexts(text: str) -> None:
    assert stack_secrets.parse_ciphertext(text) is None
