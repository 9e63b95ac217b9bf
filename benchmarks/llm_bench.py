"""Target of the LLM-suites issue: the harness's own overhead, 1,000 probes against a loopback endpoint
at concurrency 32, under 15 s wall and 500 MiB.

Run: ``.venv/bin/python benchmarks/llm_bench.py`` (prints a Markdown table for RESULTS.md).

The endpoint is the tests' loopback assistant, served from a separate process so that its threads
do not share the measured interpreter; the measured child runs a plan with one prompt_injection check
whose added probes file brings the corpus to 1,000, as ``ailab eval run`` does without MLflow: the plan
and its probes read, every probe sent through :class:`ailab.eval.llm.client.EndpointClient`, judged,
kept as a transcript, and the HTML report rendered.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness import REPO, TABLE_HEADER, VENV_BIN, machine, measure

PROBES = 1000
CONCURRENCY = 32
TARGET_S = 15.0
TARGET_MIB = 500.0

SERVE = """
import sys, time
sys.path.insert(0, {repo!r})
from tests.eval.chatbot_server import chatbot_server
with chatbot_server() as url:
    print(url, flush=True)
    time.sleep(3600)
"""

CLIENT = """
import json, shutil, sys, tempfile
from pathlib import Path
from ailab.eval.endpoint_checks import evaluate_endpoint, load_inputs
from ailab.eval.llm import corpus
from ailab.eval.llm.client import EndpointClient
from ailab.eval.plan import load_plan
from ailab.eval.report import html
url, count, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
shipped = corpus.load("prompt_injection").probes
folder = Path(tempfile.mkdtemp(prefix="llm-bench-"))
lines = [json.dumps({"corpus": "prompt_injection", "version": "bench"})]
for i in range(count - len(shipped)):
    probe = shipped[i % len(shipped)]
    added = {"id": f"bench-{i}", "technique": probe.technique, "prompt": probe.prompt, "provenance": "bench", "licence": "CC0-1.0"}
    lines.append(json.dumps(added | ({"document": probe.document} if probe.document else {})))
(folder / "more.jsonl").write_text("\\n".join(lines) + "\\n")
(folder / "plan.yaml").write_text(
    "apiVersion: ailab.eu/v1\\nkind: EvaluationPlan\\nmetadata: {name: bench, audit: bench}\\n"
    f"target:\\n  endpoint: {{url: {url}, model: obeys, max_concurrency: {concurrency}, max_requests: {count}}}\\n"
    "checks:\\n  - {id: injection, kind: prompt_injection, max_success_rate: 0.0, probes: more.jsonl}\\n"
)
loaded = load_plan(folder / "plan.yaml")
evaluation = evaluate_endpoint(loaded, load_inputs(loaded), EndpointClient(loaded.plan.endpoint))
html(evaluation)
shutil.rmtree(folder)
assert evaluation.rows == count and evaluation.checks[0].value == 1.0, evaluation.checks[0]
"""


def main() -> int:
    server = subprocess.Popen([str(VENV_BIN / "python"), "-c", SERVE.format(repo=str(REPO))], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        time.sleep(0.2)
        measurement = measure([str(VENV_BIN / "python"), "-c", CLIENT, url, str(PROBES), str(CONCURRENCY)], runs=5)
    finally:
        server.terminate()
        server.wait()
    print(f"Machine: {machine()}\n")
    print(TABLE_HEADER)
    row = measurement.row().replace(
        measurement.command, f"{PROBES} injection probes through a plan, concurrency {CONCURRENCY}", 1
    )
    print(row)
    met = measurement.median_s < TARGET_S and measurement.peak_rss_mib < TARGET_MIB
    print(f"\ntarget {TARGET_S:.0f} s / {TARGET_MIB:.0f} MiB: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
