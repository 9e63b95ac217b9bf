"""The endpoint client against a loopback chat assistant: answers, retries, budget, refusals in one line, no key in transcripts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tests.eval.chatbot_server import REFUSAL, chatbot_server

from ailab.errors import BadInputError, MissingPrerequisiteError
from ailab.eval.llm.client import REDACTED, EndpointClient, Probe
from ailab.eval.llm.settings import EndpointSettings

KEY = "sk-test-0123456789"


@pytest.fixture
def base_url():
    with chatbot_server(required_key=KEY) as url:
        yield url


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("AUDITED_API_KEY", KEY)


def _client(url: str, **settings) -> EndpointClient:
    values = {"url": url, "model": "safe", "api_key_env": "AUDITED_API_KEY", **settings}
    return EndpointClient(EndpointSettings(**values), backoff_s=0.001)


def test_answers_come_back_in_probe_order(base_url):
    probes = [Probe(str(i), question) for i, question in enumerate(["What is the capital of Belgium?", "Hello?"] * 20)]
    exchanges = _client(base_url, max_concurrency=8).run(probes)
    assert [x.probe_id for x in exchanges] == [p.id for p in probes]
    assert exchanges[0].answer == "Brussels" and exchanges[1].answer == REFUSAL
    assert exchanges[0].request["messages"][-1] == {"role": "user", "content": "What is the capital of Belgium?"}


def test_429_is_retried_with_backoff_and_counted_against_the_budget(base_url):
    (exchange,) = _client(base_url, model="flaky").run([Probe("p", "What is the capital of Belgium?")])
    assert (exchange.answer, exchange.attempts) == ("Brussels", 3)
    with pytest.raises(BadInputError, match=r"max_requests: the budget of 2 requests ran out at probe p"):
        _client(base_url, model="flaky", max_requests=2).run([Probe("p", "Which regulation protects personal data in the EU?")])


def test_a_service_that_stays_unavailable_is_a_missing_prerequisite(base_url):
    with pytest.raises(MissingPrerequisiteError, match=r"still answered 503 after 3 attempts"):
        _client(base_url, model="unavailable", max_retries=2).run([Probe("p", "hi")])


def test_a_wrong_key_is_refused_in_one_line(base_url, monkeypatch):
    monkeypatch.setenv("AUDITED_API_KEY", "wrong")
    with pytest.raises(BadInputError, match=r"refused the key \(401\); check the key in AUDITED_API_KEY"):
        _client(base_url).run([Probe("p", "hi")])


def test_an_unset_key_variable_is_a_missing_prerequisite(base_url, monkeypatch):
    monkeypatch.delenv("AUDITED_API_KEY")
    with pytest.raises(MissingPrerequisiteError, match="AUDITED_API_KEY is not set"):
        _client(base_url)


def test_an_unreachable_endpoint_is_a_missing_prerequisite():
    with chatbot_server() as url:
        closed = url  # the server is shut down when the block ends
    with pytest.raises(MissingPrerequisiteError, match=r"unreachable \(ConnectError"):
        _client(closed, max_retries=1).run([Probe("p", "hi")])


def test_a_malformed_answer_is_refused(base_url):
    with pytest.raises(BadInputError, match=r"answer to probe p has no text at choices\[0\]\.message\.content"):
        _client(base_url, model="malformed").run([Probe("p", "hi")])


def test_the_key_never_reaches_a_transcript(base_url):
    (exchange,) = _client(base_url, model="echo-key").run([Probe("p", "hi")])
    assert KEY not in str(exchange.as_record()) and REDACTED in exchange.answer


def test_the_json_api_with_retrieved_contexts(base_url):
    client = _client(
        base_url.removesuffix("/v1") + "/rag",
        api="json",
        model=None,
        request_template={"query": {"text": "${prompt}"}, "options": ["${system_prompt}"]},
        answer_path="$.data.answer",
        contexts_path="$.data.sources[*].text",
    )
    (exchange,) = client.run([Probe("q", "What is the capital of Belgium?")])
    assert exchange.answer == "Brussels" and exchange.contexts == [
        "Background: Brussels is the answer to 'What is the capital of Belgium?'."
    ]
    assert exchange.request == {"query": {"text": "What is the capital of Belgium?"}, "options": [""]}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"url": "ftp://x"}, "is not an http"),
        ({"url": "https://user:pw@x"}, "carries credentials"),
        ({"url": "https://x", "model": None}, "set model"),
        ({"url": "https://x", "api": "json", "model": None}, "set request_template"),
        (
            {"url": "https://x", "api": "json", "request_template": {"q": "hi"}, "answer_path": "$.a"},
            r"must contain \$\{prompt\}",
        ),
        ({"url": "https://x", "api": "json", "request_template": {"q": "${prompt}"}, "answer_path": "$..a"}, "unsupported"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValidationError, match=message):
        EndpointSettings(**{"model": "m", **settings})
