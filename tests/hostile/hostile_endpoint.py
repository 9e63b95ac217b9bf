"""A loopback stand-in for a hostile audited endpoint: the request's ``model`` picks how it misbehaves.

- ``giant``: a valid JSON answer of 64 MiB (Content-Length announced);
- ``endless``: a chunked body that never ends (it stops when the client hangs up);
- ``trickle``: a slow-loris answer, one byte every 50 ms, each read well within any per-read time-out;
- ``deep``: JSON nested 100,000 deep; ``garbage``: not JSON; ``html``: an HTML page (text/html);
- ``escapes``: a well-formed answer holding terminal escape sequences and rich markup;
- ``refuses``: 400 with a body of escape sequences and a line that looks like one of ailab's errors.

Test-only: the product never ships a stand-in for the systems it audits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ESCAPES = "\x1b[2J\x1b]0;pwned\x07\r[bold red]OWNED[/] [link=https://evil.example]x[/link] \x1b[31mred\x9b"
"""Clears a terminal, retitles it, overwrites the line, and rich markup that would restyle ailab's own output."""
GIANT_BYTES = 64 * 2**20


def _chat(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


@contextmanager
def hostile_server() -> Iterator[str]:
    """Serve on 127.0.0.1 (a free port) and yield the base URL ``http://127.0.0.1:<port>/v1``."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            model = body.get("model", "")
            # The client hanging up mid-answer is what a bounded reader does.
            with suppress(BrokenPipeError, ConnectionResetError):
                getattr(self, f"_{model}")()

        def _head(self, content_type: str = "application/json", length: int | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            if length is None:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(length))
            self.end_headers()

        def _whole(self, data: bytes, content_type: str = "application/json") -> None:
            self._head(content_type, len(data))
            self.wfile.write(data)

        def _giant(self) -> None:
            prefix, suffix = b'{"choices": [{"message": {"content": "', b'"}}]}'
            self._head(length=len(prefix) + GIANT_BYTES + len(suffix))
            self.wfile.write(prefix)
            block = b"x" * 2**20
            for _ in range(GIANT_BYTES // len(block)):
                self.wfile.write(block)
            self.wfile.write(suffix)

        def _endless(self) -> None:
            self._head()
            chunk = b"x" * 65536
            while not stop.is_set():
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

        def _trickle(self) -> None:
            data = _chat("slow")
            self._head(length=len(data))
            for byte in data:
                if stop.wait(0.05):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

        def _deep(self) -> None:
            self._whole(b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")

        def _garbage(self) -> None:
            self._whole(b"\xff\xfe not json {")

        def _html(self) -> None:
            self._whole(b"<html><body>Service temporarily moved</body></html>", "text/html")

        def _refuses(self) -> None:
            data = ESCAPES.encode() + b"\nerror: a second line\n"
            self.send_response(400)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _escapes(self) -> None:
            self._whole(_chat(ESCAPES))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
