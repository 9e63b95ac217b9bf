"""Sending probes to the system under audit: bounded concurrency, retries with backoff, a hard request
budget, and every exchange kept (the API key never is).

A run either completes every probe or stops with one line that says why and what to do:

- the endpoint unreachable (connection refused, DNS, TLS, time-outs after every retry): exit 3;
- the key refused (401/403), or a request the endpoint cannot take (another 4xx): exit 2;
- an answer without the expected shape (no ``choices[0].message.content``, nothing at ``answer_path``): exit 2;
- still 429 or 5xx after ``max_retries``: exit 3, the service is not available for an evaluation;
- the budget ``max_requests`` spent before the last probe: exit 2, the plan asks for more than it allows.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ailab.errors import BadInputError, MissingPrerequisiteError
from ailab.eval.llm import jsonpath
from ailab.eval.llm.settings import EndpointSettings, fill

RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0
MAX_ANSWER_BYTES = 4 * 2**20
"""One response body is read this far; a longer one is refused (an endpoint cannot exhaust the auditor's memory)."""
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Probe:
    id: str
    prompt: str
    document: str | None = None
    """A document handed to the system with the prompt (indirect injection): ``${document}``, or before the prompt."""
    system_prompt: str | None = None
    """Overrides the endpoint's system prompt for this probe (a canary-carrying one, for leakage probes)."""


@dataclass(frozen=True)
class _Response:
    """What a run keeps of one HTTP answer: its body read within the bound."""

    status: int
    retry_after: str | None
    content: bytes


@dataclass(frozen=True)
class Exchange:
    """One probe's request and the answer it got: what the run's transcript artifact holds."""

    probe_id: str
    request: dict[str, Any]
    status: int
    answer: str
    contexts: list[str] = field(default_factory=list)
    attempts: int = 1
    latency_s: float = 0.0

    def as_record(self) -> dict[str, Any]:
        return {
            "probe": self.probe_id,
            "request": self.request,
            "status": self.status,
            "answer": self.answer,
            "contexts": self.contexts,
            "attempts": self.attempts,
            "latency_s": round(self.latency_s, 4),
        }


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit, self.sent = limit, 0

    def take(self, probe: Probe) -> None:
        if self.sent >= self.limit:
            raise BadInputError(
                f"target.endpoint.max_requests: the budget of {self.limit} requests ran out at probe {probe.id}; "
                "raise max_requests or run fewer probes"
            )
        self.sent += 1


class EndpointClient:
    """Runs probes against one endpoint; ``backoff_s`` is the first retry's delay (doubling, with jitter)."""

    def __init__(self, settings: EndpointSettings, *, backoff_s: float = 0.5) -> None:
        self.settings = settings
        self.backoff_s = backoff_s
        self._key = settings.api_key()
        self._answer = jsonpath.parse(settings.answer_path) if settings.answer_path else None
        self._contexts = jsonpath.parse(settings.contexts_path) if settings.contexts_path else None
        # One budget for the client's life: an evaluation runs several suites through one client.
        self._budget = _Budget(settings.max_requests)

    @property
    def requests_sent(self) -> int:
        """Requests sent so far, retries included."""
        return self._budget.sent

    @property
    def url(self) -> str:
        base = self.settings.url
        return f"{base}/chat/completions" if self.settings.api == "openai-chat" else base

    def run(self, probes: Sequence[Probe], on_done: Callable[[Exchange], None] | None = None) -> list[Exchange]:
        """Every probe's exchange, in the order of ``probes``.

        On a loop of its own, closed afterwards: ``asyncio.run`` would also unset the thread's current
        loop, which libraries that rely on ``get_event_loop()`` (the Pulumi SDK) then miss.
        """
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(self._run(probes, on_done))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def body(self, probe: Probe) -> dict[str, Any]:
        """The JSON sent for ``probe`` (kept in the transcript as sent)."""
        system_prompt = probe.system_prompt if probe.system_prompt is not None else self.settings.system_prompt
        if self.settings.api == "openai-chat":
            user = probe.prompt if probe.document is None else f"{probe.document}\n\n{probe.prompt}"
            messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
            return {"model": self.settings.model, "messages": [*messages, {"role": "user", "content": user}]}
        template = self.settings.request_template or {}
        prompt = probe.prompt
        if probe.document is not None and "${document}" not in json.dumps(template):
            prompt = f"{probe.document}\n\n{prompt}"
        filled: dict[str, Any] = fill(
            template, {"prompt": prompt, "system_prompt": system_prompt or "", "document": probe.document or ""}
        )
        return filled

    async def _run(self, probes: Sequence[Probe], on_done: Callable[[Exchange], None] | None) -> list[Exchange]:
        budget = self._budget
        gate = asyncio.Semaphore(self.settings.max_concurrency)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key is not None:
            headers[self.settings.api_key_header] = f"{self.settings.api_key_prefix}{self._key}"
        limits = httpx.Limits(
            max_connections=self.settings.max_concurrency, max_keepalive_connections=self.settings.max_concurrency
        )
        timeout = httpx.Timeout(self.settings.timeout_s)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout, follow_redirects=False) as http:

            async def one(probe: Probe) -> Exchange:
                async with gate:
                    exchange = await self._send(http, probe, budget)
                if on_done is not None:
                    on_done(exchange)
                return exchange

            tasks = [asyncio.create_task(one(probe)) for probe in probes]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise

    async def _send(self, http: httpx.AsyncClient, probe: Probe, budget: _Budget) -> Exchange:
        body = self.body(probe)
        started = time.monotonic()
        for attempt in range(1, self.settings.max_retries + 2):
            budget.take(probe)
            last_try = attempt > self.settings.max_retries
            try:
                # timeout_s bounds the whole exchange: httpx's own time-out is per read, which a trickling body never hits.
                response = await asyncio.wait_for(self._post(http, probe, body), self.settings.timeout_s)
            except (httpx.TransportError, TimeoutError) as err:
                if last_try:
                    if isinstance(err, TimeoutError):
                        raise MissingPrerequisiteError(
                            f"target.endpoint.url: {self.url} did not answer within timeout_s ({self.settings.timeout_s:g} s) "
                            f"after {attempt} attempts; check that it is up, or raise target.endpoint.timeout_s"
                        ) from None
                    raise MissingPrerequisiteError(
                        f"target.endpoint.url: {self.url} unreachable ({type(err).__name__}: {self._redact(str(err)) or 'no answer'}) "
                        f"after {attempt} attempts; check the URL and that this machine can reach it"
                    ) from None
                await asyncio.sleep(self._delay(attempt, None))
                continue
            if response.status in RETRIED_STATUSES and not last_try:
                await asyncio.sleep(self._delay(attempt, response.retry_after))
                continue
            return self._exchange(probe, body, response, attempt, time.monotonic() - started)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _post(self, http: httpx.AsyncClient, probe: Probe, body: dict[str, Any]) -> _Response:
        """Send ``body`` and read at most ``MAX_ANSWER_BYTES`` of the answer."""
        async with http.stream("POST", self.url, json=body) as response:
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > MAX_ANSWER_BYTES:
                    raise BadInputError(
                        f"target.endpoint: the answer to probe {probe.id} is over {MAX_ANSWER_BYTES // 2**20} MiB; "
                        "check url and api (this is not a chat answer)"
                    )
            return _Response(response.status_code, response.headers.get("Retry-After"), bytes(content))

    def _exchange(self, probe: Probe, body: dict[str, Any], response: _Response, attempts: int, latency: float) -> Exchange:
        status = response.status
        if status in (401, 403):
            variable = self.settings.api_key_env or "api_key_env"
            raise BadInputError(f"target.endpoint: {self.url} refused the key ({status}); check the key in {variable}")
        if status in RETRIED_STATUSES:
            raise MissingPrerequisiteError(
                f"target.endpoint: {self.url} still answered {status} after {attempts} attempts; "
                "the service is not available for an evaluation now, try again later"
            )
        if status >= 400:
            # Quoted with repr: the endpoint's text may hold line breaks and terminal escapes, the error stays one inert line.
            excerpt = self._redact(response.content[:200].decode(errors="replace"))
            raise BadInputError(
                f"target.endpoint: {self.url} refused probe {probe.id} ({status}: {excerpt!r}); check url, api and model"
            )
        answer, contexts = self._parse(probe, response)
        return Exchange(probe.id, body, status, self._redact(answer), [self._redact(c) for c in contexts], attempts, latency)

    def _parse(self, probe: Probe, response: _Response) -> tuple[str, list[str]]:
        try:
            document = json.loads(response.content)
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
            raise BadInputError(
                f"target.endpoint: the answer to probe {probe.id} is not JSON; check url and api ({self.settings.api})"
            ) from None
        if self._answer is None:  # openai-chat
            found = jsonpath.parse("$.choices[0].message.content").find(document)
            where = "choices[0].message.content"
        else:
            found = self._answer.find(document)
            where = self._answer.text
        if not found or not isinstance(found[0], str):
            raise BadInputError(
                f"target.endpoint: the answer to probe {probe.id} has no text at {where}; check api and answer_path"
            )
        contexts = [str(item) for item in self._contexts.find(document)] if self._contexts else []
        return found[0], contexts

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(MAX_RETRY_AFTER_S, max(0.0, float(retry_after)))
            except ValueError:
                pass  # an HTTP date: fall back to the backoff
        return min(MAX_RETRY_AFTER_S, self.backoff_s * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def _redact(self, text: str) -> str:
        """The API key, should an endpoint echo it, never reaches a transcript or a message."""
        return text.replace(self._key, REDACTED) if self._key else text
