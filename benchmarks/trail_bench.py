"""Audit-trail targets (issue 16): append 10,000 records with a checkpoint every 100 in under 20 s;
verify a 1,000,000-record trail in under 60 s and 1 GiB (`ailab audit verify`, start-up included);
verify an evidence bundle in under 5 s (`ailab evidence verify`, a bundle of 1,000 records).

    .venv/bin/python benchmarks/trail_bench.py [--runs 3] [--records 1000000]

The 1,000,000-record trail is written directly (records as ``append`` writes them, a signed,
chained checkpoint every 10,000) so that building it does not dominate the run; ``append`` itself
is measured by the first target.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import VENV_BIN, machine, measure

APPEND = """
import sys
from pathlib import Path
from ailab.trail import AuditLog
from ailab.trail.signer import LocalKeySigner
directory = Path(sys.argv[1])
log = AuditLog(directory / "audit", signer=LocalKeySigner(directory / "key.pem"), checkpoint_every=100)
for index in range(10_000):
    log.append("eval.run", audit_id="2026-001-bench", arguments={"index": index, "model": "m"}, outcome="ok",
               verdict={"result": "pass"}, hashes={"report": "sha256:" + "ab" * 32})
assert log.verify().problem is None
"""


def build_trail(home: Path, count: int, every: int = 10_000) -> None:
    """A valid trail of ``count`` records in ``home``'s default place, signed by its default key."""
    os.environ["AILAB_HOME"] = str(home)
    from ailab.trail import AuditLog, merkle
    from ailab.trail.jcs import canonicalize
    from ailab.trail.note import Checkpoint, sign
    from ailab.trail.records import actor, utc_time

    log = AuditLog()
    log.directory.mkdir(parents=True, exist_ok=True)
    who = actor()
    leaves: list[bytes] = []
    previous = 0
    with log.path.open("wb") as records, log.checkpoints_path.open("wb") as checkpoints:
        for seq in range(1, count + 1):
            record = {
                "seq": seq, "time": utc_time(), "actor": who, "action": "sandbox.plan", "audit_id": f"2026-{seq % 500:03d}-bench",
                "arguments": {"team": "alice,bob", "profile": "gpu-small", "index": seq}, "verdict": {"result": "pass"},
                "outcome": "ok", "detail": None, "hashes": {"plan": "sha256:" + "cd" * 32},
            }  # fmt: skip
            line = canonicalize(record)
            records.write(line + b"\n")
            leaves.append(merkle.leaf_hash(line))
            if seq % every == 0 or seq == count:
                proof = (
                    None if not previous else [base64.b64encode(p).decode() for p in merkle.consistency_proof(previous, leaves)]
                )
                note = sign(Checkpoint(log.origin, seq, merkle.root(leaves), utc_time()), log.signer)
                checkpoints.write(canonicalize({"note": note, "consistency": proof, "timestamp": None}) + b"\n")
                previous = seq
    log.leaves_path.write_bytes(b"".join(leaves))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--records", type=int, default=1_000_000)
    options = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="trail-bench-") as work:
        scratch = Path(work)
        append = measure([str(VENV_BIN / "python"), "-c", APPEND, str(scratch / "append")], runs=options.runs, warmup=0)
        print(append.row(), "(10,000 appends, a checkpoint every 100, then verify)")
        build_trail(scratch / "home", options.records)
        size = (scratch / "home" / "audit" / "records.jsonl").stat().st_size
        env = {**os.environ, "AILAB_HOME": str(scratch / "home")}
        verify = measure([str(VENV_BIN / "ailab"), "audit", "verify"], runs=options.runs, warmup=1, env=env)
        print(verify.row(), f"({options.records:,} records, {size / 2**20:.0f} MiB)")
        bundle, key = build_bundle(scratch / "bundle-home")
        check = measure(
            [str(VENV_BIN / "ailab"), "evidence", "verify", str(bundle), "--log-key", str(key)],
            runs=options.runs,
            warmup=1,
            env=env,
        )
        print(check.row(), f"(a bundle of 1,000 records, {bundle.stat().st_size / 2**20:.1f} MiB, proofs in a tree of 2,001)")


def build_bundle(home: Path) -> tuple[Path, Path]:
    """A trail of 2,000 records, half of them one audit's, and that audit's bundle."""
    os.environ["AILAB_HOME"] = str(home)
    from ailab.evidence.bundle import build
    from ailab.trail import AuditLog
    from ailab.trail.signer import public_pem

    log = AuditLog(checkpoint_every=500)
    for index in range(2_000):
        audit = "2026-001-bench" if index % 2 else "2026-002-other"
        log.append("eval.run", audit_id=audit, arguments={"index": index, "metrics": {"accuracy": 0.9}}, outcome="ok")
    output = home / "bundle.zip"
    build("2026-001-bench", output, log)
    key = home / "pinned.pem"
    key.write_text(public_pem(log.signer.public_key()))
    return output, key


if __name__ == "__main__":
    main()
