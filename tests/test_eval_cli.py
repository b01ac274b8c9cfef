"""`citeqa eval`: an operator's own test questions against a real index."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.store import StoreConfig
from service.cli import main
from service.core.evals import CaseError, read_cases


@dataclass
class Run:
    """What one `citeqa eval` printed and returned."""

    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[StoreConfig, Path], Run]


@pytest.fixture()
def citeqa_eval(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Return a runner of `citeqa eval` on a cases file over an index."""
    def run(index: StoreConfig, cases: Path) -> Run:
        code = main(["eval", str(cases), "--data-dir", str(index.data_dir)])
        out, err = capsys.readouterr()
        return Run(code, out, err)
    return run


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    """Write rows as JSON lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_passing_cases_print_a_table_and_exit_zero(default_index: StoreConfig, tmp_path: Path,
                                                   citeqa_eval: Runner) -> None:
    cases = write(tmp_path / "cases.jsonl", [
        {"question": "Until when did Canada extend Operation IMPACT?",
         "expect": ["March 31, 2017"]},
        {"question": "Who is the Prime Minister of Canada?", "must_abstain": True},
    ])
    done = citeqa_eval(default_index, cases)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("  pass  ") == 2
    assert "2 of 2 cases passed, 0 failed" in done.stdout


def test_failing_cases_say_why_and_exit_one(default_index: StoreConfig, tmp_path: Path,
                                             citeqa_eval: Runner) -> None:
    cases = write(tmp_path / "cases.jsonl", [
        {"question": "Until when did Canada extend Operation IMPACT?", "expect": "April 1, 2030"},
        {"question": "Until when did Canada extend Operation IMPACT?", "must_abstain": True},
    ])
    done = citeqa_eval(default_index, cases)
    assert done.returncode == 1
    assert "the answer lacks “April 1, 2030”" in done.stdout
    assert "answered, but should say the sources do not hold the answer" in done.stdout
    assert "0 of 2 cases passed, 2 failed" in done.stdout


def test_feedback_export_lines_are_cases(default_index: StoreConfig, tmp_path: Path,
                                         citeqa_eval: Runner) -> None:
    exported = {"id": 1, "created": "2026-01-01T00:00:00Z",
                "question": "Until when did Canada extend Operation IMPACT?", "history": [],
                "rating": "down", "comment": "wrong", "answer": "It ended in 1999 [1].",
                "abstained": False, "citations": []}
    done = citeqa_eval(default_index, write(tmp_path / "feedback.jsonl", [exported]))
    assert done.returncode == 0, done.stdout
    assert "1 of 1 cases passed" in done.stdout


def test_a_bad_cases_file_is_a_clear_error(default_index: StoreConfig, tmp_path: Path,
                                           citeqa_eval: Runner) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok?"}\n{"expect": "x"}\n', encoding="utf-8")
    done = citeqa_eval(default_index, bad)
    assert done.returncode == 2
    assert "line 2" in done.stderr and "Traceback" not in done.stderr


def test_rated_up_answer_must_come_back_citing_the_same_documents() -> None:
    [case] = read_cases([json.dumps({"question": "q?", "rating": "up", "abstained": False,
                                     "citations": [{"document_id": "doc-a"}]})])
    assert case.must_abstain is False and case.documents == ("doc-a",)
    with pytest.raises(CaseError, match="must_abstain"):
        read_cases([json.dumps({"question": "q?", "must_abstain": "yes"})])
