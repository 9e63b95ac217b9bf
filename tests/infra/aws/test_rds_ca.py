"""The vendored RDS CA bundle: the file ailab was released with, AWS's CAs only, every EU region's roots in date."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from ailab.errors import MissingPrerequisiteError, OperationFailedError
from ailab.infra.aws import database
from ailab.spec.regions import EU_REGIONS

LIBPQ_VERIFY_FULL = "sslmode=verify-full&sslrootcert=/etc/ailab/database-ca/ca.pem"


def _certificates() -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(database.rds_ca_bundle("eu-central-1").encode())


def _g1_roots() -> dict[str, dict[str, dt.datetime]]:
    """Region to its G1 roots' common names and expiry."""
    found: dict[str, dict[str, dt.datetime]] = {}
    for certificate in _certificates():
        common_name = str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        match = re.fullmatch(r"Amazon RDS (\S+) Root CA (RSA2048|RSA4096|ECC384) G1", common_name)
        if match:
            found.setdefault(match.group(1), {})[common_name] = certificate.not_valid_after_utc
    return found


def test_every_certificate_is_an_rds_ca_of_aws() -> None:
    certificates = _certificates()
    assert len(certificates) == 118
    for certificate in certificates:
        subject = certificate.subject
        assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Amazon Web Services, Inc."
        assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "Amazon RDS"
        assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True


def test_the_recorded_regions_are_those_with_all_three_roots_in_date() -> None:
    roots = _g1_roots()
    assert {region for region, names in roots.items() if len(names) == 3} == database.RDS_CA_REGIONS
    thirty_years = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * 30)
    assert all(not_after > thirty_years for names in roots.values() for not_after in names.values())


def test_every_eu_region_but_the_sovereign_cloud_is_covered() -> None:
    assert set(EU_REGIONS) - database.RDS_CA_REGIONS == {"eusc-de-east-1"}


def test_a_region_without_its_cas_is_a_missing_prerequisite() -> None:
    with pytest.raises(MissingPrerequisiteError, match=r"lab\.aws\.region eusc-de-east-1: the RDS CA bundle ailab ships"):
        database.rds_ca_bundle("eusc-de-east-1")


def test_a_changed_bundle_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tmp_path / "global-bundle.pem"
    shutil.copy(database.RDS_CA_BUNDLE, changed)
    with changed.open("a") as bundle:
        bundle.write("\n")
    monkeypatch.setattr(database, "RDS_CA_BUNDLE", changed)
    with pytest.raises(OperationFailedError, match="SHA-256 differs"):
        database.rds_ca_bundle("eu-central-1")


def test_the_uri_names_the_file_the_platform_mounts() -> None:
    assert database.backend_store_uri("db.example", "pw").endswith(f"?{LIBPQ_VERIFY_FULL}")
