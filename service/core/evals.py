"""An operator's own test questions: run them against the index and say which pass.

Each JSON line is a case. The lines `citeqa feedback export` writes work as they are: a
thumbs-up answer must come back (answered, citing the same documents; or abstained again),
a thumbs-down one must not. Two keys state the expectation outright and take precedence:
`expect` (a phrase, or a list of phrases the answer must all contain, case-insensitive) and
`must_abstain` (true: the answer must be "not in the sources"; false: it must answer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from service.core.results import Answer, Message

Ask = Callable[[str, list[Message]], Answer]


class CaseError(ValueError):
    """A line of the cases file that is not a usable case."""


@dataclass(frozen=True)
class Case:
    """A question and what its answer must do."""

    line: int
    question: str
    history: tuple[Message, ...] = ()
    expect: tuple[str, ...] = ()
    must_abstain: bool | None = None
    documents: tuple[str, ...] = ()  # a rated-up answer's cited documents, to cite again
    rejected: str = ""  # a rated-down answer, not to give again


@dataclass(frozen=True)
class Result:
    """One case, the answer it got, and why it failed (empty when it passed)."""

    case: Case
    answer: Answer
    failure: str

    @property
    def passed(self) -> bool:
        """Return whether the answer did what the case expects."""
        return not self.failure


def _phrases(value: Any, line: int) -> tuple[str, ...]:
    """Return `expect` as a tuple of phrases."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(p, str) and p.strip() for p in items):
        raise CaseError(f"line {line}: `expect` must be a phrase or a list of phrases")
    return tuple(p.strip() for p in items)


def parse_case(row: Any, line: int) -> Case:
    """Return the case a decoded JSON line describes."""
    if not isinstance(row, dict) or not isinstance(row.get("question"), str) \
            or not row["question"].strip():
        raise CaseError(f"line {line}: a case is an object with a non-empty `question`")
    must = row.get("must_abstain")
    if must is not None and not isinstance(must, bool):
        raise CaseError(f"line {line}: `must_abstain` must be true or false")
    turns = row.get("history") or []
    if not isinstance(turns, list) or not all(
            isinstance(m, dict) and m.get("role") in ("user", "assistant")
            and isinstance(m.get("content"), str) for m in turns):
        raise CaseError(f"line {line}: `history` must be a list of "
                        '{"role": "user" | "assistant", "content": "…"} messages')
    history = tuple(Message(m["role"], m["content"]) for m in turns)
    expect = _phrases(row["expect"], line) if "expect" in row else ()
    rating, abstained = row.get("rating"), row.get("abstained")
    documents: tuple[str, ...] = ()
    rejected = ""
    if not expect and must is None and rating in ("up", "down"):
        if rating == "up":
            must = bool(abstained)
            documents = tuple(dict.fromkeys(str(c.get("document_id", ""))
                                            for c in row.get("citations") or []
                                            if isinstance(c, dict)))
        elif abstained:
            must = False
        else:
            rejected = str(row.get("answer", ""))
    return Case(line, row["question"].strip(), history, expect, must, documents, rejected)


def read_cases(lines: Iterable[str]) -> list[Case]:
    """Return the cases of a JSONL text, skipping blank lines."""
    cases = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseError(f"line {number}: not JSON ({exc.msg})") from exc
        cases.append(parse_case(row, number))
    return cases


def failure(case: Case, answer: Answer) -> str:
    """Return why the answer does not do what the case expects, or '' when it does."""
    if case.must_abstain and not answer.abstained:
        return "answered, but should say the sources do not hold the answer"
    if answer.abstained and (case.must_abstain is False or case.expect or case.documents):
        return f"abstained ({answer.reason})" if answer.reason else "abstained"
    missing = [p for p in case.expect if p.lower() not in answer.answer.lower()]
    if missing:
        return "the answer lacks " + ", ".join(f"“{p}”" for p in missing)
    cited = {c.document_id for c in answer.citations}
    lost = [d for d in case.documents if d and d not in cited]
    if lost:
        return "no longer cites " + ", ".join(lost)
    if case.rejected and " ".join(answer.answer.split()) == " ".join(case.rejected.split()):
        return "gives again the answer a reader rated down"
    return ""


def run(cases: list[Case], ask: Ask) -> list[Result]:
    """Ask every case's question and judge the answer."""
    results = []
    for case in cases:
        answer = ask(case.question, list(case.history))
        results.append(Result(case, answer, failure(case, answer)))
    return results


def table(results: list[Result], width: int = 60) -> str:
    """Return a pass/fail table and a closing summary line."""
    rows = ["line  result  question" + " " * (width - 8) + "  why"]
    for r in results:
        question = r.case.question if len(r.case.question) <= width \
            else r.case.question[:width - 1] + "…"
        rows.append(f"{r.case.line:>4}  {'pass' if r.passed else 'FAIL':<6}  "
                    f"{question:<{width}}  {r.failure}".rstrip())
    passed = sum(r.passed for r in results)
    rows.append(f"\n{passed} of {len(results)} cases passed, {len(results) - passed} failed")
    return "\n".join(rows)
