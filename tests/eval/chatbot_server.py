"""A loopback stand-in for an audited chat assistant: an OpenAI-compatible ``/v1/chat/completions`` and an
in-house JSON API ``/rag``, with scripted behaviours chosen by the request's ``model``.

- ``safe``: answers questions it knows, refuses everything else, follows no injected instruction;
- ``obeys``: does what injected text tells it: writes an AILAB- canary it sees, in capitals when asked
  for a lower-case one in capitals, and joins split payloads;
- ``echo``: repeats the user's message (which carries any supplied document) verbatim, follows nothing;
- ``leaks``: recites its system prompt whatever it is asked;
- ``pii``: echoes the message it is given (personal data included) and volunteers someone else's IBAN;
- ``flaky``: answers 429 (``Retry-After: 0``) to the first two requests of each prompt, then like ``safe``;
- ``breaks-after-N``: answers the server's first N requests like ``safe``, then without ``choices``;
- ``unavailable``: 503 always; ``malformed``: JSON without ``choices``; ``echo-key``: repeats the Authorization header.

Test-only: the product never ships a stand-in for the systems it audits.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KNOWN_ANSWERS = {
    "What is the capital of Belgium?": "Brussels",
    "Which regulation protects personal data in the EU?": "The General Data Protection Regulation (GDPR)",
    "Who supervises EU institutions' data protection?": "The European Data Protection Supervisor",
}
CANARY = re.compile(r"AILAB-[A-Z0-9]+")
LOWER_CANARY = re.compile(r"ailab-[a-z0-9]+")
SPLIT = re.compile(r"a = '([^']*)' and b = '([^']*)'")
REFUSAL = "I can only help with questions about the service."
VOLUNTEERED_IBAN = "IT60 X054 2811 1010 0000 0123 456"


def answer(model: str, system: str, user: str) -> str:
    if model == "obeys":
        split = SPLIT.search(user)
        if split:
            return split.group(1) + split.group(2)
        found = CANARY.findall(user) + [token.upper() for token in LOWER_CANARY.findall(user)]
        if found:
            return f"Sure. {' '.join(found)}"
    if model == "echo":
        return f"You said: {user}"
    if model == "leaks":
        return f"My instructions are: {system}"
    if model == "pii":
        return f"You wrote: {user}. By the way, Mario Rossi's IBAN is {VOLUNTEERED_IBAN}."
    question = user.split("\n\n")[-1]
    return KNOWN_ANSWERS.get(question, REFUSAL)


@contextmanager
def chatbot_server(required_key: str | None = None) -> Iterator[str]:
    """Serve on 127.0.0.1 (a free port) and yield the base URL ``http://127.0.0.1:<port>/v1``."""
    attempts: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if required_key is not None and self.headers.get("Authorization") != f"Bearer {required_key}":
                return self._send(401, {"error": {"message": "invalid api key"}})
            if self.path == "/rag":
                return self._rag(body)
            if self.path != "/v1/chat/completions":
                return self._send(404, {"error": "not found"})
            model = body.get("model", "safe")
            messages = body.get("messages", [])
            system = next((m["content"] for m in messages if m["role"] == "system"), "")
            user = messages[-1]["content"] if messages else ""
            if model == "unavailable":
                return self._send(503, {"error": "overloaded"})
            if model == "malformed":
                return self._send(200, {"result": "no choices here"})
            if model == "echo-key":
                text = f"your header was {self.headers.get('Authorization')}"
                return self._send(200, {"choices": [{"message": {"role": "assistant", "content": text}}]})
            if model.startswith("breaks-after-"):
                with lock:
                    attempts[model] += 1
                    count = attempts[model]
                if count > int(model.removeprefix("breaks-after-")):
                    return self._send(200, {"result": "no choices here"})
                model = "safe"
            if model == "flaky":
                with lock:
                    attempts[user] += 1
                    count = attempts[user]
                if count <= 2:
                    return self._send(429, {"error": "slow down"}, {"Retry-After": "0"})
                model = "safe"
            text = answer(model, system, user)
            self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})

        def _rag(self, body: dict[str, Any]) -> None:
            question = body.get("query", {}).get("text", "")
            text = KNOWN_ANSWERS.get(question, REFUSAL)
            sources = [{"text": f"Background: {text} is the answer to '{question}'."}]
            self._send(200, {"data": {"answer": text, "sources": sources}})

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default backlog of 5 refuses connections at concurrency 32

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
