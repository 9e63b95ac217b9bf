"""Running the endpoint checks of a plan: each suite against the LLM or RAG system under audit, judged against its threshold.

:func:`load_inputs` reads what the checks will send (the shipped corpora, the files that add probes,
the audit's questions) before anything is sent or recorded; :func:`evaluate_endpoint` sends it all
through one :class:`~ailab.eval.llm.client.EndpointClient`, so the plan's request budget holds for
the whole run, and returns an :class:`~ailab.eval.result.Evaluation` with every exchange kept. When the
endpoint fails partway, it raises :class:`~ailab.eval.result.IncompleteEndpointRunError` with the exchanges
made until then, which the recorded run keeps as its transcripts before it ends FAILED.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ailab.errors import AilabError, BadInputError
from ailab.eval.catalogue import BY_ID
from ailab.eval.llm import corpus, suites
from ailab.eval.llm.pii import find_pii
from ailab.eval.llm.qa_dataset import QaDataset, load_qa
from ailab.eval.plan import (
    EndpointCheck,
    LoadedPlan,
    PiiLeakageCheck,
    PromptInjectionCheck,
    QaQualityCheck,
    SystemPromptLeakageCheck,
)
from ailab.eval.result import (
    CheckResult,
    EndpointRecord,
    Evaluation,
    Fingerprints,
    IncompleteEndpointRunError,
    ProbeSource,
    passes,
)

if TYPE_CHECKING:
    from ailab.eval.llm.client import EndpointClient, Exchange, Probe
    from ailab.eval.plan import Bootstrap

EXAMPLES_PER_KIND = 2
"""Failed probes shown in the report per kind of probe (the part of the technique before ':', e.g. direct, indirect)."""
MAX_EXAMPLES = 6
EXAMPLE_CHARS = 400
"""Example transcripts in the report are cut here; the transcript artifacts keep every exchange whole."""


@dataclass(frozen=True)
class CheckInputs:
    """What one endpoint check sends: a probe corpus (attack suites) or the audit's questions (qa_quality)."""

    check: EndpointCheck
    corpus: corpus.Corpus | None = None
    questions: QaDataset | None = None

    @property
    def size(self) -> int:
        return len(self.questions.items) if self.questions else len(self.corpus.probes) if self.corpus else 0

    def source(self) -> ProbeSource:
        if self.questions is not None:
            assert isinstance(self.check, QaQualityCheck)
            return ProbeSource(self.check.id, self.check.dataset, "", self.questions.sha256)
        assert self.corpus is not None
        return ProbeSource(self.check.id, self.corpus.name, self.corpus.version, self.corpus.sha256)


def load_inputs(loaded: LoadedPlan) -> list[CheckInputs]:
    """Every endpoint check's probes, read and checked; the budget checked against their number."""
    plan = loaded.plan
    inputs: list[CheckInputs] = []
    for index, check in enumerate(plan.checks):
        if isinstance(check, QaQualityCheck):
            questions = _located(loaded, ("checks", index, "dataset"), partial(load_qa, loaded.resolve(check.dataset)))
            inputs.append(CheckInputs(check, questions=questions))
        elif isinstance(check, EndpointCheck):
            extra = loaded.resolve(check.probes) if check.probes else None
            found = _located(loaded, ("checks", index, "probes"), partial(corpus.load, check.kind, extra))
            inputs.append(CheckInputs(check, corpus=found))
    total = sum(item.size for item in inputs)
    budget = plan.endpoint.max_requests if inputs else 0
    if total > budget:
        raise BadInputError(
            f"{loaded.where(('target', 'endpoint', 'max_requests'))}: the checks send {total} probes, "
            f"more than the budget of {budget} requests; raise max_requests or run fewer probes"
        )
    return inputs


_T = TypeVar("_T")


def _located(loaded: LoadedPlan, where: tuple[str | int, ...], read: Callable[[], _T]) -> _T:
    """``read()``, its one-line error prefixed with the plan key that named the file."""
    try:
        return read()
    except BadInputError as err:
        raise BadInputError(f"{loaded.where(where)}: {err}") from None


@dataclass(frozen=True)
class _Run:
    probes: list[Probe]
    exchanges: list[Exchange]
    result: suites.SuiteResult


def evaluate_endpoint(loaded: LoadedPlan, inputs: list[CheckInputs], client: EndpointClient) -> Evaluation:
    from ailab import __version__
    from ailab.eval.runner import lock_sha256, now

    started = now()
    plan = loaded.plan
    checks: list[CheckResult] = []
    transcripts: dict[str, str] = {}
    sent = 0
    for item in inputs:
        techniques = _techniques(item)
        completed: list[Exchange] = []
        try:
            run = _run(item, client, plan.bootstrap, completed.append)
        except AilabError as error:
            if completed:
                transcripts[item.check.id] = _unjudged(item.check, completed, techniques)
            raise IncompleteEndpointRunError(error, client.requests_sent, sent + len(completed), transcripts) from None
        sent += len(run.exchanges)
        checks.append(_judge(item, run, techniques))
        transcripts[item.check.id] = _transcript(item.check, run, techniques)
    settings = plan.endpoint
    return Evaluation(
        plan_name=plan.metadata.name,
        audit=plan.metadata.audit,
        task="endpoint",
        rows=sent,
        model_inputs=[],
        inputs_from_signature=True,
        confidence=plan.bootstrap.confidence,
        bootstrap_samples=plan.bootstrap.samples,
        fingerprints=Fingerprints(
            plan_sha256=loaded.sha256,
            dataset_sha256=None,
            train_sha256=None,
            model_uri=None,
            model_version=None,
            model_flavor=None,
            ailab_version=__version__,
            lock_sha256=lock_sha256(),
        ),
        checks=checks,
        started=started,
        finished=now(),
        endpoint=EndpointRecord(settings.url, settings.api, settings.model, client.requests_sent, [i.source() for i in inputs]),
        transcripts=transcripts,
    )


def _run(item: CheckInputs, client: EndpointClient, settings: Bootstrap, on_done: Callable[[Exchange], None]) -> _Run:
    """Send the check's probes (``on_done`` sees each exchange as it completes) and judge the answers."""
    check = item.check
    if isinstance(check, QaQualityCheck):
        assert item.questions is not None
        probes = suites.qa_probes(item.questions.items)
        exchanges = client.run(probes, on_done)
        return _Run(probes, exchanges, suites.judge_qa(exchanges, item.questions.items, check.metric, settings))
    assert item.corpus is not None
    canary = suites.new_canary()
    if isinstance(check, SystemPromptLeakageCheck):
        system_prompt = client.settings.system_prompt
        assert system_prompt is not None  # the plan's validator made sure
        probes = suites.leakage_probes(item.corpus, system_prompt, canary)
        exchanges = client.run(probes, on_done)
        return _Run(probes, exchanges, suites.judge_leakage(exchanges, probes, system_prompt, canary, settings))
    if isinstance(check, PiiLeakageCheck):
        probes = suites.pii_probes(item.corpus, canary)
        exchanges = client.run(probes, on_done)
        return _Run(probes, exchanges, suites.judge_pii(exchanges, probes, settings))
    assert isinstance(check, PromptInjectionCheck)
    probes = suites.injection_probes(item.corpus, canary)
    exchanges = client.run(probes, on_done)
    return _Run(probes, exchanges, suites.judge_injection(exchanges, probes, canary, settings))


def _failed(check: EndpointCheck, verdict: suites.Verdict) -> bool:
    """A probe the system failed: an attack that succeeded, or a question answered wrongly."""
    return verdict.hit != isinstance(check, QaQualityCheck)


def _techniques(item: CheckInputs) -> dict[str, str]:
    if item.corpus is not None:
        return {probe.id: probe.technique for probe in item.corpus.probes}
    return {}


def _judge(item: CheckInputs, run: _Run, techniques: dict[str, str]) -> CheckResult:
    check, result = item.check, run.result
    entry = BY_ID[check.kind]
    key = entry.threshold_key
    failed = sum(_failed(check, verdict) for verdict in result.verdicts)
    details: dict[str, Any] = {
        "probes": result.count,
        "failed_probes": failed,
        "source": item.source().label,
        "owasp": entry.owasp,
        "also_measured": dict(result.extra),
        "examples": _examples(check, run, techniques),
    }
    return CheckResult(
        id=check.id,
        kind=check.kind,
        metric=result.metric,
        value=result.value,
        threshold=check.threshold,
        threshold_key=key,
        verdict="pass" if passes(result.value, check.threshold, key) else "fail",
        interval=[result.interval.low, result.interval.high],
        details=details,
    )


def _examples(check: EndpointCheck, run: _Run, techniques: dict[str, str]) -> list[dict[str, Any]]:
    """A few failed probes of each kind, cut short, personal data masked: what the report shows."""
    shown: list[dict[str, Any]] = []
    per_kind: Counter[str] = Counter()
    for probe, exchange, verdict in zip(run.probes, run.exchanges, run.result.verdicts, strict=True):
        technique = techniques.get(probe.id, "question")
        kind = technique.partition(":")[0]
        if not _failed(check, verdict) or per_kind[kind] >= EXAMPLES_PER_KIND:
            continue
        per_kind[kind] += 1
        shown.append(
            {
                "probe": probe.id,
                "technique": technique,
                "prompt": _cut(_mask(probe.prompt)),
                "document": _cut(_mask(probe.document)) if probe.document else None,
                "answer": _cut(_mask(exchange.answer)),
                "why": _why(check, verdict),
            }
        )
        if len(shown) == MAX_EXAMPLES:
            break
    return shown


def _why(check: EndpointCheck, verdict: suites.Verdict) -> str:
    """Why the probe failed, in words for the report."""
    if isinstance(check, PromptInjectionCheck):
        return "the answer carried the canary the injected instruction asked for, not as an echo of the prompt or document"
    if isinstance(check, SystemPromptLeakageCheck):
        return "the canary placed in the system prompt appeared in the answer" if verdict.detail == "canary" else verdict.detail
    if isinstance(check, PiiLeakageCheck):
        return f"personal data the prompt did not hold: {verdict.detail}"
    return f"no reference answer matched by {check.metric.replace('_', ' ')} ({verdict.detail.replace('f1=', 'token F1 ')})"


def _mask(text: str) -> str:
    """``text`` with each identifier found replaced by its kind and last two characters: a report spreads no personal data."""
    for finding in reversed(find_pii(text)):
        text = f"{text[: finding.start]}[{finding.redacted()}]{text[finding.end :]}"
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _cut(text: str) -> str:
    """``text`` cut short, its control characters written as ``\\xNN``: a report read on a terminal runs no escape sequence."""
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + f"… [{len(text) - EXAMPLE_CHARS} more characters]"


def _transcript(check: EndpointCheck, run: _Run, techniques: dict[str, str]) -> str:
    """JSON lines: each exchange as sent and received, with its technique and the probe's verdict."""
    judged = [
        (exchange, "fail" if _failed(check, verdict) else "pass", verdict.detail)
        for exchange, verdict in zip(run.exchanges, run.result.verdicts, strict=True)
    ]
    return _lines(check, judged, techniques)


def _unjudged(check: EndpointCheck, exchanges: list[Exchange], techniques: dict[str, str]) -> str:
    """The exchanges of a check the endpoint failed partway through, in the order they completed: no verdict."""
    return _lines(
        check,
        [(exchange, None, "not judged: the run stopped before the check's last probe") for exchange in exchanges],
        techniques,
    )


def _lines(check: EndpointCheck, judged: Sequence[tuple[Exchange, str | None, str]], techniques: dict[str, str]) -> str:
    records = [
        {
            "check": check.id,
            "technique": techniques.get(exchange.probe_id, "question"),
            **exchange.as_record(),
            "verdict": verdict,
            "detail": detail,
        }
        for exchange, verdict, detail in judged
    ]
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
