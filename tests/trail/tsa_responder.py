"""A real RFC 3161 time-stamping authority on 127.0.0.1 for the tests: `openssl ts -reply` behind a tiny HTTP server.

It makes its own root CA and a TSA certificate (extendedKeyUsage critical timeStamping), and
answers each POSTed TimeStampReq with the reply openssl signs, as a TSA over HTTP does (RFC 3161 §3.4).
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = """
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/ca.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*arguments: str, cwd: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_authority(directory: Path, name: str = "test") -> Path:
    """A root CA and TSA key pair in ``directory``; returns the openssl config."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", f"/CN={name} root", "-days", "30",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", cwd=directory)  # fmt: skip
    _openssl("req", "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name} tsa", cwd=directory)
    (directory / "ext.cnf").write_text("extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n")
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.crt",
             "-days", "30", "-extfile", "ext.cnf", cwd=directory)  # fmt: skip
    (directory / "serial").write_text("01\n")
    config = directory / "ts.cnf"
    config.write_text(CONFIG.format(dir=directory))
    return config


@contextmanager
def responder() -> Iterator[tuple[str, Path]]:
    """Run a TSA on 127.0.0.1; yields its URL and the PEM root that verifies its tokens."""
    with tempfile.TemporaryDirectory(prefix="tsa-") as work:
        directory = Path(work)
        config = make_authority(directory)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock, tempfile.TemporaryDirectory(dir=directory) as one:
                    (Path(one) / "q.tsq").write_bytes(query)
                    done = subprocess.run(
                        ["openssl", "ts", "-reply", "-config", str(config), "-queryfile", "q.tsq", "-out", "r.tsr"],
                        cwd=one, capture_output=True, timeout=60, check=False,
                    )  # fmt: skip
                    reply = (Path(one) / "r.tsr").read_bytes() if done.returncode == 0 else b""
                self.send_response(200 if reply else 400)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/tsa", directory / "ca.crt"
        finally:
            server.shutdown()
            server.server_close()
