"""Target of the LLM-suites issue: the harness's own overhead, 1,000 probes against a loopback endpoint
at concurrency 32, under 15 s wall and 500 MiB.

Run: ``.venv/bin/python benchmarks/llm_bench.py`` (prints a Markdown table for RESULTS.md).

The endpoint is the tests' loopback assistant, served from a separate process so that its threads
do not share the measured interpreter; the measured child sends the probes through
:class:`ailab.eval.llm.client.EndpointClient` and judges them as the injection suite does.
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
import sys
from ailab.eval.llm import corpus, suites
from ailab.eval.llm.client import EndpointClient, Probe
from ailab.eval.llm.settings import EndpointSettings
url, count, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
canary = suites.new_canary()
shipped = suites.injection_probes(corpus.load("prompt_injection"), canary)
probes = [Probe(str(i), shipped[i % len(shipped)].prompt, shipped[i % len(shipped)].document) for i in range(count)]
client = EndpointClient(EndpointSettings(url=url, model="obeys", max_concurrency=concurrency, max_requests=count))
result = suites.judge_injection(client.run(probes), canary)
assert result.count == count and result.value == 1.0, result.value
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
    row = measurement.row().replace(measurement.command, f"{PROBES} injection probes, concurrency {CONCURRENCY}", 1)
    print(row)
    met = measurement.median_s < TARGET_S and measurement.peak_rss_mib < TARGET_MIB
    print(f"\ntarget {TARGET_S:.0f} s / {TARGET_MIB:.0f} MiB: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
