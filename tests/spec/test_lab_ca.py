"""lab.ingress.ca_bundle: a PEM file of the project, checked when the stack is read, refused in one located line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.lab_ca import LabCa

from ailab.errors import BadInputError
from ailab.spec import load_stack_spec
from ailab.spec.lab_ca import CA_BUNDLE_MAX_BYTES, lab_ca_bundle
from ailab.spec.stackfile import Project

RANGES = "      source_ranges: [10.200.0.0/24]\n"


@pytest.fixture
def with_bundle(project: Project, write_stack: Callable[[str, str], Path], aws_text: str) -> Callable[[str], Path]:
    """Name ``certs/lab-ca.pem`` (or ``value``) as the aws-eu lab's CA bundle; returns where the PEM goes."""

    def name(value: str = "certs/lab-ca.pem") -> Path:
        assert RANGES in aws_text
        write_stack("aws-eu", aws_text.replace(RANGES, RANGES + f"      ca_bundle: {value}\n"))
        (project.root / "certs").mkdir(exist_ok=True)
        return project.root / "certs" / "lab-ca.pem"

    return name


def test_a_pem_ca_is_read_from_the_project(project: Project, with_bundle: Callable[[str], Path]) -> None:
    pem = with_bundle()
    pem.write_bytes(LabCa.make().pem + LabCa.make().pem)  # a bundle: several certificates
    lab, _ = load_stack_spec("aws-eu", project)
    assert lab.ingress is not None and lab.ingress.ca_bundle == "certs/lab-ca.pem"
    assert lab_ca_bundle(lab, project.root) == pem


def test_no_bundle_means_the_system_store(project: Project) -> None:
    lab, _ = load_stack_spec("aws-eu", project)
    assert lab_ca_bundle(lab, project.root) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"not a certificate\n", "no readable PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "no readable PEM certificate"),
        ("key", "holds a private key"),
        (b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "holds X509 CRL"),
        (b"#" * (CA_BUNDLE_MAX_BYTES + 1), "too large"),
    ],
)
def test_a_wrong_file_is_refused_in_one_located_line(
    project: Project, with_bundle: Callable[[str], Path], content: bytes | str | None, message: str
) -> None:
    pem = with_bundle()
    if content == "key":
        ca = LabCa.make()
        pem.write_bytes(ca.pem + ca.key_pem())
    elif isinstance(content, bytes):
        pem.write_bytes(content)
    with pytest.raises(BadInputError) as failure:
        load_stack_spec("aws-eu", project)
    text = str(failure.value)
    assert "\n" not in text and message in text, text
    assert text.startswith(f"{project.stack_file('aws-eu')}:") and "ingress.ca_bundle" in text, text


@pytest.mark.parametrize("value", ["/etc/ssl/lab-ca.pem", "../lab-ca.pem", "certs/../../lab-ca.pem"])
def test_the_bundle_stays_inside_the_project(project: Project, with_bundle: Callable[[str], Path], value: str) -> None:
    with_bundle(value)
    with pytest.raises(BadInputError) as failure:
        load_stack_spec("aws-eu", project)
    assert "relative to the project directory" in str(failure.value) and "ingress.ca_bundle" in str(failure.value)
