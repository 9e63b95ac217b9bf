"""Evidence bundles: built from the real trail, checked offline; one flipped byte in any member is rejected."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.evidence.bundle import TRAIL, TamperedError, build, check
from ailab.trail import AuditLog
from ailab.trail.signer import public_pem

runner = CliRunner()
AUDIT = "2026-017-chatbot"


def _trail() -> AuditLog:
    log = AuditLog()
    verdict = {"result": "pass", "controls": {"AC-3": True, "SC-8": True, "AU-9": False}}
    log.append(
        "sandbox.plan", audit_id=AUDIT, arguments={"team": "alice,bob", "profile": "gpu-small"}, outcome="ok", verdict=verdict
    )
    log.append("sandbox.create", audit_id="2026-099-other", arguments={"team": "carol"}, outcome="ok")
    log.append("sandbox.create", audit_id=AUDIT, arguments={"team": "alice,bob"}, outcome="ok", verdict=verdict)
    log.append("eval.run", audit_id=AUDIT, arguments={"metrics": {"demographic_parity_difference": 0.031}}, outcome="ok")
    log.append("sandbox.destroy", audit_id="2026-099-other", arguments={}, outcome="ok")
    return log


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[Path, AuditLog]:
    log = _trail()
    output = tmp_path / "bundle.zip"
    built = build(AUDIT, output, log)
    assert (built.records, built.checkpoint_size, built.timestamped) == (4, 6, False)
    return output, log


def test_a_bundle_holds_only_its_audit_and_verifies(bundle: tuple[Path, AuditLog]) -> None:
    path, log = bundle
    checked = check(path, log.signer.public_key())
    assert (checked.audit_id, checked.records, checked.tree_size) == (AUDIT, 4, 6)
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        records = archive.read(f"ailab-evidence-{AUDIT}/data/trail/records.jsonl").decode()
        oscal = json.loads(archive.read(f"ailab-evidence-{AUDIT}/data/oscal/assessment-results.json"))
    assert "2026-099-other" not in records and "carol" not in records
    assert [json.loads(line)["seq"] for line in records.splitlines()] == [1, 3, 4, 6]
    assert f"ailab-evidence-{AUDIT}/bagit.txt" in names and f"ailab-evidence-{AUDIT}/tagmanifest-sha256.txt" in names
    result = oscal["assessment-results"]["results"][0]
    assert len(result["observations"]) == 3  # the records before the bundle record
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in result["findings"]}
    assert states == {"AC-3": "satisfied", "SC-8": "satisfied", "AU-9": "not-satisfied"}
    metric = [p for o in result["observations"] for p in o["props"] if p["name"].startswith("metric-")]
    assert metric == [{"name": "metric-demographic_parity_difference", "ns": "https://ailab.example/ns", "value": "0.031"}]


def _rewritten(path: Path, target: Path, member: str, edit: object) -> None:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            copy.writestr(info, edit(data) if info.filename == member else data)  # type: ignore[operator]


def test_one_flipped_byte_in_any_member_is_rejected(bundle: tuple[Path, AuditLog], tmp_path: Path) -> None:
    path, log = bundle
    key = log.signer.public_key()
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    checked = 0
    for member, data in members.items():
        for index in range(0, len(data), max(1, len(data) // 40)):  # 40 positions spread over every member

            def flip(content: bytes, at: int = index) -> bytes:
                return content[:at] + bytes([content[at] ^ 0x01]) + content[at + 1 :]

            target = tmp_path / "flipped.zip"
            _rewritten(path, target, member, flip)
            with pytest.raises(TamperedError) as caught:
                check(target, key)
            assert caught.value.item, member
            checked += 1
    assert checked > 300


def test_raw_bytes_flipped_anywhere_in_the_zip_are_rejected(bundle: tuple[Path, AuditLog], tmp_path: Path) -> None:
    """Every 3rd byte of the file, headers and central directory included: tampered (1) or unreadable (2), never intact."""
    from ailab.errors import BadInputError

    path, log = bundle
    key = log.signer.public_key()
    original = path.read_bytes()
    target = tmp_path / "raw.zip"
    for index in range(0, len(original), 3):
        mutated = bytearray(original)
        mutated[index] ^= 0x01
        target.write_bytes(bytes(mutated))
        with pytest.raises((TamperedError, BadInputError)):
            check(target, key)
    assert len(original) > 10_000


def test_a_rebagged_edit_is_still_caught_by_the_signed_record(bundle: tuple[Path, AuditLog], tmp_path: Path) -> None:
    """Editing the sandbox verdict and re-hashing every BagIt manifest: the signed bundle record still disagrees."""
    from ailab.evidence.bagit import bag_bytes, read_bag

    path, log = bundle
    bag = read_bag(str(path))
    payload = dict(bag.payload)
    payload["sandbox/requests.json"] = payload["sandbox/requests.json"].replace(b'"pass"', b'"fail"')
    info = {k: v for k, v in bag.info.items() if k != "Payload-Oxum"}
    (tmp_path / "rebagged.zip").write_bytes(bag_bytes(bag.name, payload, info, {"README.txt": bag.tags["README.txt"]}))
    with pytest.raises(
        TamperedError, match=r"data/sandbox/requests\.json: its SHA-256 is not the one the signed bundle record holds"
    ):
        check(tmp_path / "rebagged.zip", log.signer.public_key())


def test_a_record_of_another_audit_slipped_in_is_refused(bundle: tuple[Path, AuditLog], tmp_path: Path) -> None:
    from ailab.evidence.bagit import bag_bytes, read_bag

    path, log = bundle
    bag = read_bag(str(path))
    other = log.path.read_bytes().splitlines()[1] + b"\n"
    payload = {**bag.payload, f"{TRAIL}records.jsonl": other + bag.payload[f"{TRAIL}records.jsonl"]}
    info = {k: v for k, v in bag.info.items() if k != "Payload-Oxum"}
    (tmp_path / "more.zip").write_bytes(bag_bytes(bag.name, payload, info, {"README.txt": bag.tags["README.txt"]}))
    with pytest.raises(TamperedError, match="a record of another audit"):
        check(tmp_path / "more.zip", log.signer.public_key())


def _key_file(log: AuditLog, tmp_path: Path) -> Path:
    path = tmp_path / "pinned.pem"
    path.write_text(public_pem(log.signer.public_key()))
    return path


def test_cli_bundle_and_verify_exit_codes(tmp_path: Path) -> None:
    log = _trail()
    output = tmp_path / "b.zip"
    made = runner.invoke(app, ["evidence", "bundle", "--audit", AUDIT, "--output", str(output)])
    assert made.exit_code == 0, made.output
    key = _key_file(log, tmp_path)
    ok = runner.invoke(app, ["evidence", "verify", str(output), "--log-key", str(key), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["intact"] is True
    (tmp_path / "other.pem").write_text(
        public_pem(
            __import__("cryptography.hazmat.primitives.asymmetric.ed25519", fromlist=["x"])
            .Ed25519PrivateKey.generate()
            .public_key()
        )
    )
    wrong = runner.invoke(app, ["evidence", "verify", str(output), "--log-key", str(tmp_path / "other.pem")])
    assert wrong.exit_code == 1 and "checkpoint.note" in wrong.output
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    unreadable = runner.invoke(app, ["evidence", "verify", str(tmp_path / "junk.zip"), "--log-key", str(key)])
    assert unreadable.exit_code == 2 and "not a zip file" in unreadable.output
    missing = runner.invoke(app, ["evidence", "bundle", "--audit", "2026-404-none", "--output", str(tmp_path / "n.zip")])
    assert missing.exit_code == 2 and "no records" in missing.output and not (tmp_path / "n.zip").exists()


def test_the_readme_hand_steps_work(bundle: tuple[Path, AuditLog], tmp_path: Path) -> None:
    """Steps 1, 2 and 4 of the bundle's README, run as written with sha256sum, openssl and bash."""
    path, log = bundle
    key = _key_file(log, tmp_path)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "out")
    bag = tmp_path / "out" / f"ailab-evidence-{AUDIT}"
    script = f"""
set -e
sha256sum -c tagmanifest-sha256.txt >/dev/null && sha256sum -c manifest-sha256.txt >/dev/null
head -n 4 data/trail/checkpoint.note > body.txt
sed -n 6p data/trail/checkpoint.note | cut -d' ' -f3 | base64 -d | tail -c 64 > signature.bin
openssl pkeyutl -verify -pubin -inkey {key} -rawin -in body.txt -sigfile signature.bin
sed -n 1p data/trail/records.jsonl | tr -d '\\n' | (printf '\\000'; cat) | sha256sum | cut -c1-64
node() {{ printf "$(printf '01%s%s' "$1" "$2" | sed 's/../\\\\x&/g')" | sha256sum | cut -c1-64; }}
node 00 11
sed -n 3p data/trail/checkpoint.note | base64 -d | od -An -tx1 | tr -d ' \\n'
"""
    done = subprocess.run(["bash", "-c", script], cwd=bag, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Signature Verified Successfully"
    proofs = json.loads((bag / "data" / "trail" / "proofs.json").read_text())
    assert lines[1] == proofs["proofs"][0]["leaf_hash"]
    import hashlib

    assert lines[2] == hashlib.sha256(bytes.fromhex("010011")).hexdigest()
    from ailab.trail import merkle

    assert lines[3] == merkle.root(log.leaves()[:6]).hex()


def test_a_timestamped_bundle_verifies_with_the_authority_roots(tmp_path: Path) -> None:
    from tests.trail.tsa_responder import make_authority, responder

    from ailab.trail.signer import LocalKeySigner
    from ailab.trail.tsa import HttpTimestamper, OpensslTimestampChecker

    with responder() as (url, roots):
        log = AuditLog(tmp_path / "audit", signer=LocalKeySigner(tmp_path / "key.pem"), timestamper=HttpTimestamper(url))
        log.append("sandbox.create", audit_id=AUDIT, arguments={}, outcome="ok")
        built = build(AUDIT, tmp_path / "stamped.zip", log)
        assert built.timestamped
        checked = check(tmp_path / "stamped.zip", log.signer.public_key(), OpensslTimestampChecker(roots))
    assert checked.timestamp is not None and checked.timestamp.startswith("20")
    (tmp_path / "other").mkdir()
    make_authority(tmp_path / "other", name="other")
    with pytest.raises(TamperedError, match=r"checkpoint\.tsr: does not verify"):
        check(tmp_path / "stamped.zip", log.signer.public_key(), OpensslTimestampChecker(tmp_path / "other" / "ca.crt"))
