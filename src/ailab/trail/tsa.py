"""RFC 3161 timestamps over checkpoints, through the ``openssl ts`` commands a reviewer also runs by hand.

Stamping sends a TimeStampReq (SHA-256 imprint of the signed note, a nonce, the TSA's certificate
requested) to the TSA URL of the lab spec and keeps the whole TimeStampResp. Checking is
``openssl ts -verify -data <note> -in <response> -CAfile <roots>`` (imprint, signature, the TSA
certificate's timeStamping purpose and chain), then genTime is read from ``openssl ts -reply -text``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from ailab.errors import MissingPrerequisiteError, OperationFailedError
from ailab.trail.records import utc_time

MAX_RESPONSE = 64 * 1024
_GEN_TIME = re.compile(r"^Time stamp: (\w{3}) +(\d+) (\d\d:\d\d:\d\d)(?:\.(\d+))? (\d{4}) GMT$", re.MULTILINE)
TIMEOUT_S = 30


def _openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        raise MissingPrerequisiteError("openssl is not installed; install it (Debian: apt-get install openssl) for timestamps")
    return found


def _run(arguments: list[str], what: str) -> str:
    done = subprocess.run([_openssl(), *arguments], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no detail"])[-1]
        raise ValueError(f"{what}: {last}")
    return done.stdout


class HttpTimestamper:
    """Asks the TSA at ``url`` for a timestamp over each checkpoint (RFC 3161 over HTTP, RFC 3161 §3.4)."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def stamp(self, data: bytes) -> bytes:
        import httpx

        with tempfile.TemporaryDirectory(prefix="ailab-tsa-") as work:
            data_file, query_file = Path(work) / "data", Path(work) / "query.tsq"
            data_file.write_bytes(data)
            _run(["ts", "-query", "-data", str(data_file), "-sha256", "-cert", "-out", str(query_file)], "timestamp query")
            try:
                response = httpx.post(
                    self.url,
                    content=query_file.read_bytes(),
                    headers={"Content-Type": "application/timestamp-query"},
                    timeout=self.timeout_s,
                )
            except httpx.HTTPError as error:
                raise OperationFailedError(f"time-stamping authority {self.url}: unreachable ({error})") from None
            if response.status_code != 200 or len(response.content) > MAX_RESPONSE:
                raise OperationFailedError(f"time-stamping authority {self.url}: answered HTTP {response.status_code}")
            reply_file = Path(work) / "reply.tsr"
            reply_file.write_bytes(response.content)
            try:
                text = _run(["ts", "-reply", "-in", str(reply_file), "-text"], "timestamp reply")
                # The reply must answer this query (imprint and nonce), whoever signed it; trust is judged at verify.
                carried = _signer_certificate(reply_file, Path(work))
                check = ["ts", "-verify", "-queryfile", str(query_file), "-in", str(reply_file), "-CAfile", str(carried)]
                _run([*check, "-partial_chain", "-no_check_time"], "timestamp reply")
            except ValueError as error:
                raise OperationFailedError(f"time-stamping authority {self.url}: {error}") from None
            if "Status: Granted" not in text:
                raise OperationFailedError(f"time-stamping authority {self.url}: the request was not granted")
            return response.content


def _signer_certificate(reply: Path, work: Path) -> Path:
    """The certificates the reply carries, as PEM (to check the reply matches the query before trust is judged)."""
    token = work / "token.der"
    _run(["ts", "-reply", "-in", str(reply), "-token_out", "-out", str(token)], "timestamp token")
    certificates = _run(["pkcs7", "-inform", "DER", "-in", str(token), "-print_certs"], "timestamp certificates")
    pem = work / "certificates.pem"
    pem.write_text(certificates)
    return pem


class OpensslTimestampChecker:
    """Checks tokens against the PEM roots of the time-stamping authority (``--tsa-roots``)."""

    def __init__(self, roots: Path) -> None:
        self.roots = roots

    def check(self, data: bytes, token: bytes) -> str:
        with tempfile.TemporaryDirectory(prefix="ailab-tsa-") as work:
            data_file, reply_file = Path(work) / "data", Path(work) / "reply.tsr"
            data_file.write_bytes(data)
            reply_file.write_bytes(token)
            _run(["ts", "-verify", "-data", str(data_file), "-in", str(reply_file), "-CAfile", str(self.roots)], "openssl")
            return gen_time(_run(["ts", "-reply", "-in", str(reply_file), "-text"], "openssl"))


def gen_time(reply_text: str) -> str:
    """genTime from ``openssl ts -reply -text`` output, as the trail spells times."""
    found = _GEN_TIME.search(reply_text)
    if found is None:
        raise ValueError("the token has no time stamp")
    month, day, clock, fraction, year = found.groups()
    moment = datetime.strptime(f"{month} {day} {year} {clock}", "%b %d %Y %H:%M:%S").replace(tzinfo=UTC)
    if fraction:
        moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return utc_time(moment)
