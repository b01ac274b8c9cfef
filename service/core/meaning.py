"""Decide by meaning: which sentence answers a question, which sentence supports a claim.

The word rules propose; citeqa's relevance model (service/core/relevance.py) decides. Every limit
below was tuned on training data only (SQuAD sample questions 1-250, SciFact train claims)
by `python -m bench.tune`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.core.reasons import Reason
from service.core.relevance import Judgement, RelevanceModel, shipped


@dataclass(frozen=True)
class MeaningLimits:
    """How sure the model must be before the offline backend answers or the verifier keeps."""

    # bench/results/meaning_tuning.json holds the search that chose these values
    rerank: int = 3  # best sentences by the word rules the model reads when the rules refuse
    rerank_accepted: int = 1  # ... and when the rules would answer
    weight: float = 1.0  # weight of the model's answer probability against the rules' score
    confirm: float = 0.3  # answer probability a sentence the rules accept still needs
    answer: float = 0.2  # answer probability that answers although the rules would refuse
    similarity: float = 0.3  # ... from a passage at least this similar by embedding (cosine)
    support: float = 0.5  # support probability that keeps a claim the words do not
    contradiction: float = 0.2  # contradiction probability that drops a claim the words keep


LIMITS = MeaningLimits()


@dataclass
class Judge:
    """Ask the relevance model about pairs, with the limits its answers are held to."""

    model: RelevanceModel
    limits: MeaningLimits = LIMITS

    @classmethod
    def shipped(cls, limits: MeaningLimits = LIMITS) -> Judge:
        """Return a judge over the relevance model shipped with citeqa."""
        return cls(shipped(), limits)

    def judge(self, first: str, sentences: list[str]) -> list[Judgement]:
        """Return how each sentence relates to a question or claim."""
        return self.model.judge([(first, s) for s in sentences])


_WH = re.compile(r"^(who|what|which|where|when|why|how(?:\s+(?:many|much|long|often|old|far))?)"
                 r"\s+(is|are|was|were)\s+(.+?)\??$", re.I)


_PARTICIPLE = re.compile(r"\w{2,}ing\b", re.I)  # "who is the city working with": not inverted


def unanswered(question: str) -> str:
    """Return a plain reason saying the sources do not answer `question`."""
    text = " ".join(question.split()).rstrip("?").strip()
    match = _WH.match(text)
    if match and not _PARTICIPLE.search(match.group(3)):
        wh, verb, rest = match.groups()
        return Reason("the sources do not say %(wh)s %(rest)s %(verb)s", wh=wh.lower(),
                      rest=rest, verb=verb.lower())
    return Reason("no sentence of the sources answers “%(question)s?”", question=text)
