"""Hostile inputs against this round's new surfaces, through the real CLI: every one refused in one ``error:`` line that
names the place (file:line:key, or the file), exit 2 (3 for a missing prerequisite), no traceback, nothing written.

The surfaces: endpoint evaluation plans and their JSONL files (``eval validate``/``eval run --local``), the bundle an
in-sandbox run mounts (``eval run --stack --plan-only``), the stack settings added for sandboxes and the reaper
(``lab validate``), and what an audited endpoint answers (read within bounds, shown inertly in the report).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli.test_eval_stack import plan_file, project  # noqa: F401 - fixtures of the --stack corpus
from tests.hostile.hostile_endpoint import ESCAPES, hostile_server
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.errors import AilabError, BadInputError, MissingPrerequisiteError
from ailab.eval import report
from ailab.eval.endpoint_checks import evaluate_endpoint, load_inputs
from ailab.eval.llm.client import MAX_ANSWER_BYTES, EndpointClient, Probe
from ailab.eval.llm.settings import EndpointSettings
from ailab.eval.plan import load_plan

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]

HEAD = "apiVersion: ailab.eu/v1\nkind: EvaluationPlan\nmetadata: {name: assistant, audit: 2026-001-test}\n"
CHAT = "target:\n  endpoint:\n    url: http://127.0.0.1:9/v1\n    model: safe\n    system_prompt: You help.\n"
JSON_API = "target:\n  endpoint:\n    url: http://127.0.0.1:9/rag\n    api: json\n    answer_path: $.answer\n"
INJECTION = "checks:\n  - {id: injection, kind: prompt_injection, max_success_rate: 0.0}\n"
QA_CHECK = "checks:\n  - {id: qa, kind: qa_quality, dataset: qa.jsonl, metric: exact_match, min: 0.7}\n"
PROBES_CHECK = "checks:\n  - {id: pii, kind: pii_leakage, max_rate: 0.0, probes: ours.jsonl}\n"
QA = '{"id": "capital", "question": "What is the capital of Belgium?", "answers": ["Brussels"]}\n'


def refused(result: Any, where: str, code: int = 2) -> str:
    """The one error line of ``result``, checked: exit ``code``, naming ``where``, no traceback."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert where in lines[0], lines[0]
    return str(lines[0])


# Special files a case may ask for: what each name in ``files`` becomes.
def _make(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if content == "<fifo>":
        os.mkfifo(path)
    elif content == "<dir>":
        path.mkdir()
    elif content == "<huge>":
        with path.open("wb") as stream:
            stream.truncate(100 * 2**20)  # sparse: 100 MiB announced, nothing on disk
    elif isinstance(content, str) and content.startswith("<link:"):
        path.symlink_to(content[len("<link:") : -1])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


PROBES_HEAD = '{"corpus": "pii_leakage", "version": "ours-1"}\n'
# (id, plan text after the header, files beside the plan, the line and key the refusal names, what it says)
PLANS: list[tuple[str, str, dict[str, str | bytes], str, str]] = [
    (
        "url-file-scheme",
        CHAT.replace("http://127.0.0.1:9/v1", "file:///etc/passwd") + INJECTION,
        {},
        ":6: plan.target.endpoint.url",
        "http(s)",
    ),
    (
        "url-unicode-port",
        CHAT.replace("127.0.0.1:9", "h:\uff18\uff10") + INJECTION,
        {},
        ":6: plan.target.endpoint.url",
        "not a valid URL",
    ),
    (
        "url-5000-digit-port",
        CHAT.replace("127.0.0.1:9", "h:" + "9" * 5000) + INJECTION,
        {},
        ":6: plan.target.endpoint.url",
        "URL",
    ),
    (
        "url-crlf",
        CHAT.replace("http://127.0.0.1:9/v1", '"http://h/v1\\r\\nX: y"') + INJECTION,
        {},
        ":6: plan.target.endpoint.url",
        "control",
    ),
    ("url-credentials", CHAT.replace("http://", "http://u:p@") + INJECTION, {}, ":6: plan.target.endpoint.url", "credentials"),
    ("model-empty", CHAT.replace("model: safe", "model: ''") + INJECTION, {}, ":7: plan.target.endpoint.model", "at least 1"),
    ("key-env-lowercase", CHAT + "    api_key_env: path\n" + INJECTION, {}, ":9: plan.target.endpoint.api_key_env", "pattern"),
    (
        "header-crlf",
        CHAT + '    api_key_header: "X\\r\\nY"\n' + INJECTION,
        {},
        ":9: plan.target.endpoint.api_key_header",
        "header name",
    ),
    (
        "prefix-crlf",
        CHAT + '    api_key_prefix: "B\\r\\nX: y"\n' + INJECTION,
        {},
        ":9: plan.target.endpoint.api_key_prefix",
        "control",
    ),
    (
        "concurrency-unicode",
        CHAT + "    max_concurrency: '\uff18'\n" + INJECTION,
        {},
        ":9: plan.target.endpoint.max_concurrency",
        "integer",
    ),
    ("concurrency-5000-digits", CHAT + "    max_concurrency: " + "9" * 5000 + "\n" + INJECTION, {}, ":9:", "5000 digits"),
    ("timeout-nan", CHAT + "    timeout_s: .nan\n" + INJECTION, {}, ":9: plan.target.endpoint.timeout_s", "nan"),
    ("timeout-inf", CHAT + "    timeout_s: .inf\n" + INJECTION, {}, ":9: plan.target.endpoint.timeout_s", "inf"),
    ("requests-fraction", CHAT + "    max_requests: 2.5\n" + INJECTION, {}, ":9: plan.target.endpoint.max_requests", "integer"),
    ("requests-true", CHAT + "    max_requests: true\n" + INJECTION, {}, ":9: plan.target.endpoint.max_requests", "budget"),
    (
        "system-prompt-200k",
        CHAT.replace("You help.", "a" * 200_000) + INJECTION,
        {},
        ":8: plan.target.endpoint.system_prompt",
        "at most 100000",
    ),
    ("template-no-prompt", JSON_API + "    request_template: {q: x}\n" + INJECTION, {}, ":5: plan.target.endpoint", "${prompt}"),
    (
        "template-17-deep",
        JSON_API + "    request_template: " + "{a: " * 17 + "'${prompt}'" + "}" * 17 + "\n" + INJECTION,
        {},
        ":5: plan.target.endpoint",
        "deeper",
    ),
    (
        "template-5000-deep",
        JSON_API + "    request_template: {q: '${prompt}', z: " + "[" * 5000 + "]" * 5000 + "}\n" + INJECTION,
        {},
        ":9:",
        "nesting",
    ),
    (
        "template-impossible-date",
        JSON_API + "    request_template: {q: '${prompt}', d: 2027-02-30}\n" + INJECTION,
        {},
        ":9:",
        "not a valid date",
    ),
    (
        "template-date",
        JSON_API + "    request_template: {q: '${prompt}', d: 2027-02-03}\n" + INJECTION,
        {},
        ":9: plan.target.endpoint.request_template",
        "JSON cannot carry",
    ),
    (
        "template-binary",
        JSON_API + "    request_template: {q: '${prompt}', d: !!binary aGk=}\n" + INJECTION,
        {},
        ":9: plan.target.endpoint.request_template",
        "JSON cannot carry",
    ),
    (
        "template-set",
        JSON_API + "    request_template: {q: '${prompt}', d: !!set {a}}\n" + INJECTION,
        {},
        ":9: plan.target.endpoint.request_template",
        "JSON cannot carry",
    ),
    (
        "template-nan",
        JSON_API + "    request_template: {q: '${prompt}', d: .nan}\n" + INJECTION,
        {},
        ":9: plan.target.endpoint.request_template",
        "JSON cannot carry",
    ),
    (
        "template-python-object",
        JSON_API + "    request_template: {q: !!python/object/apply:os.system [id]}\n" + INJECTION,
        {},
        ":9",
        "YAML",
    ),
    (
        "answer-path-filter",
        JSON_API.replace("$.answer", "'$.a[?(@.x)]'") + "    request_template: {q: '${prompt}'}\n" + INJECTION,
        {},
        ":8: plan.target.endpoint.answer_path",
        "no filters",
    ),
    (
        "answer-path-unicode-index",
        JSON_API.replace("$.answer", "'$[\uff11]'") + "    request_template: {q: '${prompt}'}\n" + INJECTION,
        {},
        ":8: plan.target.endpoint.answer_path",
        "unsupported",
    ),
    (
        "answer-path-no-dollar",
        JSON_API.replace("$.answer", "answer") + "    request_template: {q: '${prompt}'}\n" + INJECTION,
        {},
        ":8: plan.target.endpoint.answer_path",
        "start it with $",
    ),
    (
        "contexts-path-recursive",
        JSON_API + "    contexts_path: $..text\n    request_template: {q: '${prompt}'}\n" + INJECTION,
        {},
        ":9: plan.target.endpoint.contexts_path",
        "no filters",
    ),
    (
        "check-id-traversal",
        CHAT + "checks:\n  - {id: ../../x, kind: prompt_injection, max_success_rate: 0}\n",
        {},
        ":10: plan.checks[0].id",
        "lowercase",
    ),
    (
        "rate-nan",
        CHAT + "checks:\n  - {id: a, kind: prompt_injection, max_success_rate: .nan}\n",
        {},
        ":10: plan.checks[0].max_success_rate",
        "nan",
    ),
    ("qa-missing", CHAT + QA_CHECK, {"qa.jsonl": "<none>"}, ":10: plan.checks[0].dataset", "no such file"),
    ("qa-dev-zero", CHAT + QA_CHECK.replace("qa.jsonl", "/dev/zero"), {}, ":10: plan.checks[0].dataset", ".jsonl"),
    (
        "qa-link-to-dev-zero",
        CHAT + QA_CHECK,
        {"qa.jsonl": "<link:/dev/zero>"},
        ":10: plan.checks[0].dataset",
        "not a regular file",
    ),
    ("qa-fifo", CHAT + QA_CHECK, {"qa.jsonl": "<fifo>"}, ":10: plan.checks[0].dataset", "not a regular file"),
    ("qa-directory", CHAT + QA_CHECK, {"qa.jsonl": "<dir>"}, ":10: plan.checks[0].dataset", "is a directory"),
    ("qa-100-mib", CHAT + QA_CHECK, {"qa.jsonl": "<huge>"}, ":10: plan.checks[0].dataset", "over the 8.0 MiB limit"),
    ("qa-nul-in-path", CHAT + QA_CHECK.replace("qa.jsonl", '"q\\0.jsonl"'), {}, ":10: plan.checks[0].dataset", "NUL byte"),
    ("qa-invalid-utf8", CHAT + QA_CHECK, {"qa.jsonl": b'{"question": "\xc3\x28"}\n'}, ":10: plan.checks[0].dataset", "not UTF-8"),
    (
        "qa-100k-deep",
        CHAT + QA_CHECK,
        {"qa.jsonl": "[" * 100_000 + "]" * 100_000 + "\n"},
        ":10: plan.checks[0].dataset",
        "qa.jsonl:1: not JSON",
    ),
    (
        "qa-5000-digit-int",
        CHAT + QA_CHECK,
        {"qa.jsonl": '{"question": "q", "answer": "a", "n": ' + "9" * 5000 + "}\n"},
        ":10: plan.checks[0].dataset",
        "qa.jsonl:1: not JSON",
    ),
    (
        "qa-duplicate-key",
        CHAT + QA_CHECK,
        {"qa.jsonl": '{"question": "q", "answer": "a", "answer": "b"}\n'},
        ":10: plan.checks[0].dataset",
        "key 'answer' appears twice",
    ),
    (
        "probes-duplicate-key",
        CHAT + PROBES_CHECK,
        {"ours.jsonl": '{"corpus": "pii_leakage", "corpus": "prompt_injection", "version": "1"}\n'},
        ":10: plan.checks[0].probes",
        "key 'corpus' appears twice",
    ),
    ("qa-not-an-object", CHAT + QA_CHECK, {"qa.jsonl": "[1]\n"}, ":10: plan.checks[0].dataset", "not a JSON object"),
    ("qa-empty", CHAT + QA_CHECK, {"qa.jsonl": "\n\n"}, ":10: plan.checks[0].dataset", "no questions"),
    ("probes-dev-zero", CHAT + PROBES_CHECK.replace("ours.jsonl", "/dev/zero"), {}, ":10: plan.checks[0].probes", ".jsonl"),
    ("probes-fifo", CHAT + PROBES_CHECK, {"ours.jsonl": "<fifo>"}, ":10: plan.checks[0].probes", "not a regular file"),
    ("probes-100-mib", CHAT + PROBES_CHECK, {"ours.jsonl": "<huge>"}, ":10: plan.checks[0].probes", "over the 4.0 MiB limit"),
    (
        "probes-100k-deep",
        CHAT + PROBES_CHECK,
        {"ours.jsonl": PROBES_HEAD + '{"id": ' + "[" * 100_000 + "]" * 100_000 + "}\n"},
        ":10: plan.checks[0].probes",
        "ours.jsonl:2: not JSON",
    ),
    (
        "probes-wrong-corpus",
        CHAT + PROBES_CHECK,
        {"ours.jsonl": '{"corpus": "prompt_injection", "version": "1"}\n'},
        ":10: plan.checks[0].probes",
        "first line",
    ),
    (
        "probes-three-million-blank-lines",
        CHAT + PROBES_CHECK,
        {"ours.jsonl": "\n" * 3_000_000},
        ":10: plan.checks[0].probes",
        "empty",
    ),
    (
        "probes-on-qa",
        CHAT + "checks:\n  - {id: qa, kind: qa_quality, dataset: qa.jsonl, metric: exact_match, min: 0.7, probes: x.jsonl}\n",
        {},
        ":10: plan.checks[0].probes",
        "unknown key",
    ),
    (
        "attribute-inference-methods",
        CHAT
        + "checks:\n  - {id: ai, kind: privacy, attack: attribute_inference, sensitive_feature: sex, methods: [], max_advantage: 0.1}\n",
        {},
        ":10: plan.checks[0].methods",
        "at least 1",
    ),
    (
        "attribute-inference-sample",
        CHAT
        + "checks:\n  - {id: ai, kind: privacy, attack: attribute_inference, sensitive_feature: sex, sample: "
        + "9" * 5000
        + ", max_advantage: 0.1}\n",
        {},
        ":10:",
        "5000 digits",
    ),
]


@pytest.mark.parametrize(("text", "files", "where", "says"), [case[1:] for case in PLANS], ids=[case[0] for case in PLANS])
def test_a_hostile_plan_is_one_line_at_validate_and_at_run(
    text: str, files: dict[str, str | bytes], where: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AILAB_HOME", str(tmp_path / "home"))
    folder = tmp_path / "audit"
    folder.mkdir()
    if "qa.jsonl" not in files:
        (folder / "qa.jsonl").write_text(QA, encoding="utf-8")
    for name, content in files.items():
        if content != "<none>":
            _make(folder / name, content)
    plan = folder / "plan.yaml"
    plan.write_text(HEAD + text, encoding="utf-8")
    assert says in refused(runner.invoke(app, ["eval", "validate", str(plan)]), f"{plan}{where}")
    # The run refuses the same way before it starts MLflow, and writes no result.
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["eval", "run", str(plan), "--local", "--json", str(out)])
    assert says in refused(result, f"{plan}{where}") and not out.exists() and "MLflow" not in result.output


def test_the_plan_itself_hostile(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    refused(runner.invoke(app, ["eval", "validate", str(fifo)]), "not a regular file")
    refused(runner.invoke(app, ["eval", "validate", "/dev/zero"]), "/dev/zero: not a regular file")
    refused(runner.invoke(app, ["eval", "validate", str(tmp_path)]), "is a directory")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(HEAD.encode() + b"target: \xff\n")
    refused(runner.invoke(app, ["eval", "validate", str(bad)]), "not UTF-8")


# --- what an endpoint answers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_url() -> Iterator[str]:
    with hostile_server() as url:
        yield url


@pytest.mark.parametrize(
    ("model", "error", "says"),
    [
        ("giant", BadInputError, f"is over {MAX_ANSWER_BYTES // 2**20} MiB"),
        ("endless", BadInputError, f"is over {MAX_ANSWER_BYTES // 2**20} MiB"),
        ("trickle", MissingPrerequisiteError, "did not answer within timeout_s (1 s)"),
        ("deep", BadInputError, "is not JSON"),
        ("garbage", BadInputError, "is not JSON"),
        ("html", BadInputError, "is not JSON"),
        ("refuses", BadInputError, "(400: '\\x1b[2J"),
    ],
)
def test_a_hostile_answer_is_read_within_bounds_and_refused_in_one_line(
    hostile_url: str, model: str, error: type[AilabError], says: str
) -> None:
    settings = EndpointSettings(url=hostile_url, model=model, timeout_s=1, max_retries=0)
    started = time.monotonic()
    with pytest.raises(error) as raised:
        EndpointClient(settings).run([Probe("p1", "What is the capital of Belgium?")])
    assert time.monotonic() - started < 10  # the trickle sends for 4 s; timeout_s bounds the whole answer to 1 s
    message = str(raised.value)
    assert "\n" not in message and "\x1b" not in message and message.startswith("target.endpoint") and says in message
    assert "p1" in message or model == "trickle"


def test_escape_sequences_and_markup_in_answers_are_shown_inertly(hostile_url: str, tmp_path: Path) -> None:
    (tmp_path / "qa.jsonl").write_text(QA, encoding="utf-8")
    plan = tmp_path / "plan.yaml"
    plan.write_text(HEAD + CHAT.replace("http://127.0.0.1:9/v1", hostile_url).replace("safe", "escapes") + QA_CHECK)
    loaded = load_plan(plan)
    evaluation = evaluate_endpoint(loaded, load_inputs(loaded), EndpointClient(loaded.plan.endpoint))
    (check,) = evaluation.checks
    assert check.verdict == "fail" and check.details["examples"]
    for document in (report.markdown(evaluation), report.html(evaluation)):
        assert not any(character in document for character in "\x1b\x07\r\x9b")
        assert "\\x1b[2J\\x1b]0;pwned\\x07\\x0d" in document
    # The markup stays text: rich would have turned [bold red]...[/] into styling, and the HTML escapes its brackets.
    assert "[bold red]OWNED[/]" in report.markdown(evaluation)
    # The transcript is JSON lines: the escapes are \u001b there, and the answer reads back whole.
    transcript = evaluation.transcripts["qa"]
    assert "\x1b" not in transcript and json.loads(transcript.splitlines()[0])["answer"] == ESCAPES


# --- the bundle an in-sandbox run mounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("<link:/dev/zero>", "not a regular file"),
        ("<fifo>", "not a regular file"),
        ("<dir>", "not a regular file"),
        ("<none>", "does not exist"),
        ("<link:loop.csv>", "Too many levels of symbolic links"),
        ("approved,sex,income\n" + "".join(f"{i % 2},{'fm'[i % 3 == 0]},{1000 + i}\n" for i in range(150_000)), "900 KiB"),
    ],
    ids=["link-to-dev-zero", "fifo", "directory", "missing", "symlink-loop", "over-the-bundle"],
)
def test_the_bundle_reads_the_plans_files_within_bounds(
    project: Path,  # noqa: F811 - the fixture imported above
    plan_file: Path,  # noqa: F811
    tmp_path: Path,
    content: str,
    says: str,
) -> None:
    data = plan_file.parent / "data" / "test.csv"
    data.unlink()
    if content == "<link:loop.csv>":
        (data.parent / "loop.csv").symlink_to(data)
    if content != "<none>":
        _make(data, content)
    out = tmp_path / "job.json"
    result = runner.invoke(app, ["eval", "run", str(plan_file), "--stack", "aws-eu", "--plan-only", "--json", str(out)])
    assert says in refused(result, str(plan_file)) and not out.exists()


@pytest.mark.parametrize("outside", ["../outside.csv", "<absolute>", "<link-out>"])
def test_the_bundle_refuses_files_outside_the_plans_folder(
    project: Path,  # noqa: F811
    plan_file: Path,  # noqa: F811
    tmp_path: Path,
    outside: str,
) -> None:
    # A readable CSV that passes the data checks: only the bundle's own rule refuses it.
    copy = tmp_path / "outside.csv"
    shutil.copy(plan_file.parent / "data" / "test.csv", copy)
    says = "not below the plan's folder"
    if outside == "<link-out>":  # the text stays below the folder, the symbolic link leads out of it
        data = plan_file.parent / "data" / "test.csv"
        data.unlink()
        data.symlink_to(copy)
        says = "leads outside the plan's folder"
    else:
        path = str(copy) if outside == "<absolute>" else outside
        plan_file.write_text(plan_file.read_text().replace("data/test.csv", path))
    out = tmp_path / "job.json"
    result = runner.invoke(app, ["eval", "run", str(plan_file), "--stack", "aws-eu", "--plan-only", "--json", str(out)])
    assert says in refused(result, str(plan_file)) and not out.exists()


# --- stack settings ----------------------------------------------------------------------------------------------

REAPER_IMAGE = "ailab-operator:0.1.0@sha256:" + "3f1c9a7e" * 8
ONPREM_BACKEND = "s3://ailab-sandbox-state/sandboxes?region=eu-west-1&endpoint=s3.lab.example.europa.eu&s3ForcePathStyle=true"
AWS_PRINCIPAL = "sandbox_operator_principals: [arn:aws:iam::123456789012:role/ailab-sandbox-operators-sso]"


def _replacing(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new, 1)


def _ingress(line: str) -> Callable[[str], str]:
    return _replacing("      tls_secret_name: ailab-tls\n", f"      tls_secret_name: ailab-tls\n      {line}\n")


def _reaper(line: str) -> Callable[[str], str]:
    return _replacing(f"{REAPER_IMAGE}\n", f"{REAPER_IMAGE}\n        {line}\n")


def _runner_image(value: str) -> Callable[[str], str]:
    return _replacing("    sandbox:\n", f"    sandbox:\n      eval_runner_image: {value}\n")


def _aws_layer(value: str) -> Callable[[str], str]:
    return _replacing("      log_retention_days: 365\n", f"      log_retention_days: 365\n      kubernetes_layer: {value}\n")


STACKS: list[tuple[str, str, Callable[[str], str], dict[str, str], str, str]] = [
    ("ca-missing", "onprem", _ingress("ca_bundle: certs/nope.pem"), {}, "ingress.ca_bundle", "no such file"),
    ("ca-dev-zero", "onprem", _ingress("ca_bundle: /dev/zero"), {}, "lab.ingress.ca_bundle", "inside it"),
    (
        "ca-link-to-dev-zero",
        "onprem",
        _ingress("ca_bundle: certs/ca.pem"),
        {"certs/ca.pem": "<link:/dev/zero>"},
        "ingress.ca_bundle",
        "not a regular file",
    ),
    (
        "ca-fifo",
        "onprem",
        _ingress("ca_bundle: certs/ca.pem"),
        {"certs/ca.pem": "<fifo>"},
        "ingress.ca_bundle",
        "not a regular file",
    ),
    ("ca-directory", "onprem", _ingress("ca_bundle: certs"), {"certs": "<dir>"}, "ingress.ca_bundle", "is a directory"),
    ("ca-100-mib", "onprem", _ingress("ca_bundle: certs/ca.pem"), {"certs/ca.pem": "<huge>"}, "ingress.ca_bundle", "too large"),
    (
        "ca-not-pem",
        "onprem",
        _ingress("ca_bundle: certs/ca.pem"),
        {"certs/ca.pem": "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"},
        "ingress.ca_bundle",
        "no readable PEM",
    ),
    ("ca-outside", "onprem", _ingress("ca_bundle: ../../../etc/hostname"), {}, "lab.ingress.ca_bundle", "inside it"),
    ("ca-nul", "onprem", _ingress('ca_bundle: "a\\0.pem"'), {}, "ingress.ca_bundle", "NUL byte"),
    (
        "runner-latest",
        "onprem",
        _runner_image("registry.example.europa.eu/ailab/eval:latest"),
        {},
        "lab.sandbox.eval_runner_image",
        "not pinned",
    ),
    (
        "runner-unicode-digest",
        "onprem",
        _runner_image("registry.example.europa.eu/ailab/eval@sha256:\uff11\uff12"),
        {},
        "lab.sandbox.eval_runner_image",
        "not an image reference",
    ),
    (
        "runner-newline",
        "onprem",
        _runner_image('"registry.example.europa.eu/ailab/eval\\n@sha256:' + "3f" * 32 + '"'),
        {},
        "lab.sandbox.eval_runner_image",
        "not an image reference",
    ),
    ("reaper-no-digest", "onprem", _replacing(REAPER_IMAGE, "ailab-operator:0.1.0"), {}, "lab.sandbox.reaper.image", "no digest"),
    ("reaper-every-unicode", "onprem", _reaper("every_minutes: '\uff15'"), {}, "lab.sandbox.reaper.every_minutes", "5, 10, 15"),
    ("reaper-every-zero", "onprem", _reaper("every_minutes: 0"), {}, "lab.sandbox.reaper.every_minutes", "5, 10, 15"),
    ("reaper-every-5000-digits", "onprem", _reaper("every_minutes: " + "9" * 5000), {}, "Pulumi.onprem.yaml:", "5000 digits"),
    (
        "reaper-backend-file",
        "onprem",
        _replacing(ONPREM_BACKEND, "file:///etc"),
        {},
        "lab.sandbox.reaper.state_backend",
        "pattern",
    ),
    (
        "reaper-backend-newline",
        "onprem",
        _replacing(ONPREM_BACKEND, '"s3://b/x\\n?region=eu-west-1"'),
        {},
        "lab.sandbox.reaper.state_backend",
        "pattern",
    ),
    (
        "reaper-backend-credentials",
        "onprem",
        _replacing(ONPREM_BACKEND, "s3://AKIAKEY:s3cr3t@b/x"),
        {},
        "lab.sandbox.reaper.state_backend",
        "carries credentials",
    ),
    (
        "reaper-network-unicode",
        "onprem",
        _replacing("[192.168.50.20/32]", "[\uff1192.168.50.20/32]"),
        {},
        "lab.sandbox.reaper.state_networks[0]",
        "IPv4 network",
    ),
    (
        "reaper-network-internet",
        "onprem",
        _replacing("[192.168.50.20/32]", "[0.0.0.0/0]"),
        {},
        "lab.sandbox.reaper.state_networks",
        "opens the reaper's egress to most of the internet",
    ),
    ("reaper-trail-store", "onprem", _reaper("trail_store: 'not a url'"), {}, "lab.sandbox.reaper.trail_store", "pattern"),
    ("reaper-typo", "onprem", _reaper("evry_minutes: 5"), {}, "lab.sandbox.reaper.evry_minutes", "did you mean 'every_minutes'"),
    (
        "operators-empty",
        "onprem",
        _replacing("sandbox_operators: [ailab-sandbox-operators]", "sandbox_operators: ['']"),
        {},
        "lab.access.sandbox_operators[0]",
        "not an OIDC group name",
    ),
    (
        "operators-system",
        "onprem",
        _replacing("sandbox_operators: [ailab-sandbox-operators]", "sandbox_operators: [system:authenticated]"),
        {},
        "lab.access.sandbox_operators[0]",
        "system:",
    ),
    (
        "operators-newline",
        "onprem",
        _replacing("sandbox_operators: [ailab-sandbox-operators]", 'sandbox_operators: ["a\\nb"]'),
        {},
        "lab.access.sandbox_operators[0]",
        "control characters",
    ),
    (
        "auditors-system",
        "onprem",
        _replacing("auditors: [ailab-auditors]", "auditors: ['system:masters']"),
        {},
        "lab.access.auditors[0]",
        "system:",
    ),
    (
        "principals-star",
        "aws-eu",
        _replacing(AWS_PRINCIPAL, "sandbox_operator_principals: ['*']"),
        {},
        "lab.aws.sandbox_operator_principals[0]",
        "pattern",
    ),
    (
        "principals-unicode",
        "aws-eu",
        _replacing(AWS_PRINCIPAL, "sandbox_operator_principals: ['arn:aws:iam::\uff1123456789012:role/x']"),
        {},
        "lab.aws.sandbox_operator_principals[0]",
        "pattern",
    ),
    (
        "principals-root",
        "aws-eu",
        _replacing(AWS_PRINCIPAL, "sandbox_operator_principals: ['arn:aws:iam::123456789012:root']"),
        {},
        "lab.aws.sandbox_operator_principals[0]",
        "pattern",
    ),
    (
        "principals-number",
        "aws-eu",
        _replacing(AWS_PRINCIPAL, "sandbox_operator_principals: [123456789012]"),
        {},
        "lab.aws.sandbox_operator_principals[0]",
        "quote it",
    ),
    ("layer-traversal", "aws-eu", _aws_layer("../../etc"), {}, "lab.aws.kubernetes_layer", "dictionary"),
    ("layer-list", "aws-eu", _aws_layer("[a]"), {}, "lab.aws.kubernetes_layer", "dictionary"),
]


@pytest.mark.parametrize(
    ("stack", "edit", "files", "key", "says"), [case[1:] for case in STACKS], ids=[case[0] for case in STACKS]
)
def test_a_hostile_stack_setting_is_one_line_naming_file_line_and_key(
    stack: str,
    edit: Callable[[str], str],
    files: dict[str, str],
    key: str,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    original = (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    edited = edit(original)
    assert edited != original, "the case's edit no longer matches the example stack"
    stack_file = root / "stacks" / f"Pulumi.{stack}.yaml"
    stack_file.write_text(edited, encoding="utf-8")
    for name, content in files.items():
        _make(root / name, content)
    monkeypatch.setenv("AILAB_PROJECT_DIR", str(root))
    monkeypatch.setenv("AILAB_HOME", str(tmp_path / "home"))
    line = refused(runner.invoke(app, ["lab", "validate", "--stack", stack]), f"{stack_file}:")
    assert key in line and says in line
    assert "s3cr3t" not in line  # a key in a refused value is not echoed
