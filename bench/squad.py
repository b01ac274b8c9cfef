"""SQuAD 2.0 sample: answers that quote the gold answer and cite its paragraph, or abstain."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.metrics import contains_answer, mean
from evaldata.squad import SquadQuestion
from service.core.backends import AnswerBackend
from service.core.engine import Engine
from service.core.extractive import Abstention, ExtractiveBackend
from service.core.questions import Question
from service.core.retrieval import Passage, Retriever

_MARKERS = re.compile(r"\s*\[\d+\]")
# The abstention settings searched on the tuning half.
GRID: dict[str, tuple[Any, ...]] = {
    "min_coverage": (0.5, 0.6, 0.7),
    "min_coverage_with_similarity": (0.3, 0.45),
    "min_similarity": (0.5, 0.6),
    "max_missing_idf": (None, 5.0, 4.5, 4.0),
}


@dataclass(frozen=True)
class Outcome:
    """What the service did with one question."""

    answerable: bool
    abstained: bool
    contains_gold: bool
    cites_gold: bool

    @property
    def correct(self) -> bool:
        """Return whether this is the right behaviour: a cited gold answer, or an abstention."""
        if not self.answerable:
            return self.abstained
        return not self.abstained and self.contains_gold and self.cites_gold


def split(questions: list[SquadQuestion]) -> tuple[list[SquadQuestion], list[SquadQuestion]]:
    """Return the tuning half (first 250 in file order) and the held-out half."""
    half = len(questions) // 2
    return questions[:half], questions[half:]


def judge(q: SquadQuestion, abstained: bool, answer: str, cited_doc: str | None) -> Outcome:
    """Score one answer against the gold answers and paragraph."""
    return Outcome(answerable=q.answerable, abstained=abstained,
                   contains_gold=contains_answer(_MARKERS.sub("", answer), q.answers),
                   cites_gold=cited_doc == q.passage_id)


def summarize(outcomes: list[Outcome]) -> dict[str, float | int]:
    """Return answerable accuracy, no-answer accuracy and overall accuracy."""
    answerable = [o for o in outcomes if o.answerable]
    impossible = [o for o in outcomes if not o.answerable]
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(impossible),
        "answerable_correct": round(mean(o.correct for o in answerable), 4),
        "answerable_contains_gold": round(mean(o.contains_gold and not o.abstained
                                               for o in answerable), 4),
        "answerable_abstained": round(mean(o.abstained for o in answerable), 4),
        "no_answer_accuracy": round(mean(o.correct for o in impossible), 4),
        "overall_accuracy": round(mean(o.correct for o in outcomes), 4),
    }


def draft_outcome(q: SquadQuestion, backend: AnswerBackend, question: Question,
                  passages: list[Passage], retriever: Retriever) -> Outcome:
    """Score the backend's draft directly (no verification): cheap enough to tune on."""
    draft = backend.draft(question, passages, retriever)
    if draft.abstained:
        return judge(q, True, "", None)
    first = draft.claims[0].evidence[0].passage.doc_id if draft.claims[0].evidence else None
    return judge(q, False, " ".join(c.text for c in draft.claims), first)


def settings(grid: dict[str, tuple[Any, ...]]) -> Iterable[Abstention]:
    """Yield every combination of the grid's values."""
    for values in itertools.product(*grid.values()):
        yield Abstention(**dict(zip(grid, values, strict=True)))


def tune(engine: Engine, questions: list[SquadQuestion], top_k: int) -> tuple[Abstention, float]:
    """Return the abstention settings with the best overall accuracy on `questions`."""
    retriever = engine.retriever()
    prepared = []
    for q in questions:
        question = engine.backend.question(q.question, [])
        prepared.append((q, question, retriever.search(question.query, top_k)))
    best, best_score = Abstention(), -1.0
    for abstention in settings(GRID):
        backend = ExtractiveBackend(abstention)
        score = mean(draft_outcome(q, backend, question, passages, retriever).correct
                     for q, question, passages in prepared)
        if score > best_score:
            best, best_score = abstention, score
    return best, best_score


def evaluate(engine: Engine, questions: list[SquadQuestion]) -> dict[str, Any]:
    """Ask every question through the engine and summarise the outcomes and latency."""
    outcomes: list[Outcome] = []
    seconds: list[float] = []
    for q in questions:
        began = time.perf_counter()
        answer = engine.answer(q.question)
        seconds.append(time.perf_counter() - began)
        cited = answer.citations[0].document_id if answer.citations else None
        outcomes.append(judge(q, answer.abstained, answer.answer, cited))
    return {**summarize(outcomes), "ms_per_query": round(1000 * mean(seconds), 1)}
