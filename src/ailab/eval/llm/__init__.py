"""Evaluating LLM and RAG systems under audit through their HTTP API: the endpoint client, the probe
corpora, the four suites (answer quality, prompt injection, system-prompt leakage, personal data)
and the detectors of European personal data.

Nothing here imports an ML framework: the systems under audit run elsewhere, ailab only talks to them.
"""
