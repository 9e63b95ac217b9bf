"""Lists readable at 80 columns and in a pipe: nothing cut, no word-per-line columns."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from ailab.cli import console

HEADERS = ("audit id", "team", "created (UTC)", "expires (UTC)", "status")
ROWS = [
    ("2026-041-chatbot-evaluation", "carol.longname@example.europa.eu, dave@example.europa.eu", "2026-12-06 09:30", "2026-12-13 09:30", "ready"),
    ("2026-042-x", "alice", "2026-12-06 10:00", "2026-12-07 10:00", "expired"),
]  # fmt: skip


def _terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> io.StringIO:
    buffer = io.StringIO()
    terminal = Console(file=buffer, width=width, force_terminal=True, color_system=None, highlight=False)
    monkeypatch.setattr(console, "out", lambda: terminal)
    return buffer


def test_a_pipe_gets_plain_whole_columns(capsys: pytest.CaptureFixture[str]) -> None:
    console.print_rows("Sandboxes", HEADERS, ROWS)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["audit", "id", "team", "created", "(UTC)", "expires", "(UTC)", "status"]
    assert all("…" not in line and "│" not in line for line in lines)
    assert "2026-12-13 09:30" in lines[1] and lines[1].startswith("2026-041-chatbot-evaluation  carol.longname@")


def test_a_wide_terminal_gets_a_table_with_whole_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _terminal(monkeypatch, 200)
    console.print_rows("Sandboxes", HEADERS, ROWS)
    rendered = text.getvalue()
    assert "│" in rendered and "2026-12-13 09:30" in rendered and "…" not in rendered


def test_80_columns_get_one_block_per_row_nothing_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _terminal(monkeypatch, 80)
    console.print_rows("Sandboxes", HEADERS, ROWS)
    lines = text.getvalue().splitlines()
    assert "…" not in text.getvalue() and all(len(line) <= 80 for line in lines)
    assert "2026-041-chatbot-evaluation" in lines and "  created (UTC)  2026-12-06 09:30" in lines


def test_audit_show_in_a_pipe_keeps_each_record_on_one_line(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ailab.cli.app import app
    from ailab.trail import AuditLog

    monkeypatch.setenv("AILAB_HOME", str(tmp_path))
    AuditLog().append(
        "sandbox.plan", audit_id="2026-042-x", arguments={"team": "alice"}, outcome="refused", detail="a long reason " * 10
    )
    result = CliRunner().invoke(app, ["audit", "show"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[1].startswith("1  ") and lines[1].rstrip().endswith("a long reason")


EVAL_SUMMARY = {
    "verdict": "fail",
    "mlflow_run_id": "0123abcd",
    "tracking_uri": "http://127.0.0.1:5000",
    "checks": [
        {"id": "attribute-sex", "kind": "privacy", "value": -0.007, "interval": [-0.047, 0.027],
         "threshold": {"max_advantage": 0.1}, "verdict": "pass"},
        {"id": "opportunity-sex", "kind": "fairness", "value": 0.31, "interval": [0.2, 0.4],
         "threshold": {"max": 0.1}, "verdict": "fail"},
    ],
}  # fmt: skip


def test_an_evaluations_result_keeps_every_word_whole_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run table once cut ``max_advantage`` and ``attribute-sex`` in two at 80 columns."""
    from ailab.cli.eval import _print_result

    text = _terminal(monkeypatch, 80)
    _print_result(EVAL_SUMMARY, "diabetes-demo", {}, to_stderr=False)
    rendered = text.getvalue()
    assert "diabetes-demo: FAIL" in rendered
    assert "max_advantage 0.1" in rendered and "attribute-sex" in rendered
    assert all(len(line) <= 80 for line in rendered.splitlines())


def test_an_evaluations_result_in_a_pipe_is_plain_and_names_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    from ailab.cli.eval import _print_result

    _print_result(EVAL_SUMMARY, "diabetes-demo", {"opportunity-sex": "above the threshold"}, to_stderr=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["check", "kind", "value", "interval", "threshold", "verdict"]
    assert lines[1].split() == ["attribute-sex", "privacy", "-0.007", "-0.047..0.027", "max_advantage", "0.1", "pass"]
    assert "diabetes-demo: FAIL (1 of 2 checks not passed)" in lines
    assert all("│" not in line for line in lines)
