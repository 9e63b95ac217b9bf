"""The audit's questions and reference answers for ``qa_quality``: JSON lines, one question per line.

``{"id": "capital", "question": "What is the capital of Belgium?", "answers": ["Brussels"]}``:
``answers`` lists the acceptable references (the best-matching one counts); ``answer`` (one text) may
stand for it, and ``id`` defaults to ``q<line>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ailab.errors import BadInputError
from ailab.eval.llm.suites import QaItem
from ailab.safeload import load_json_line, read_text

MAX_QA_BYTES = 8 * 2**20
MAX_QUESTIONS = 10_000
_KEYS = {"id", "question", "answer", "answers"}


@dataclass(frozen=True)
class QaDataset:
    items: tuple[QaItem, ...]
    sha256: str


def load_qa(path: Path) -> QaDataset:
    text = read_text(path, MAX_QA_BYTES)
    items: list[QaItem] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(items) == MAX_QUESTIONS:
            raise BadInputError(f"{path}:{number}: more than {MAX_QUESTIONS} questions; split the file")
        item = _item(line, f"{path}:{number}", f"q{number}")
        if item.id in seen:
            raise BadInputError(f"{path}:{number}: id {item.id!r} is used twice; keep ids unique")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise BadInputError(f'{path}: no questions; one JSON object per line: {{"question": "...", "answers": ["..."]}}')
    return QaDataset(tuple(items), hashlib.sha256(text.encode()).hexdigest())


def _item(line: str, where: str, default_id: str) -> QaItem:
    data = load_json_line(line, where)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise BadInputError(f"{where}: unknown key {unknown[0]!r}; a question has id, question and answers (or answer)")
    question, identifier = data.get("question"), data.get("id", default_id)
    answers = data.get("answers", [data["answer"]] if "answer" in data else [])
    if not isinstance(question, str) or not question.strip() or not isinstance(identifier, str) or not identifier:
        raise BadInputError(f"{where}: question (and id, when given) must be non-empty text")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        raise BadInputError(f"{where}: give the reference answers as answers: [text, ...] (or answer: text)")
    return QaItem(identifier, question, tuple(answers))
