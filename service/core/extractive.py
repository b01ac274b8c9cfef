"""The offline answer: the best-supported sentences of the retrieved passages, verbatim."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from index.access import PUBLIC, Access
from index.documents import Span
from index.terms import content_terms
from service.core import evidence
from service.core.backends import AnswerBackend
from service.core.drafts import Claim, Draft, Evidence
from service.core.meaning import Judge, unanswered
from service.core.questions import Question
from service.core.reasons import KINDS, Reason
from service.core.retrieval import Passage, Retriever
from service.core.reversals import opposite_only

SECOND_SENTENCE_GAIN = 0.25
MIN_QUOTE = 30
# A sentence's score is its term coverage (0-1) plus these small terms: they only order the
# sentences, and the abstention limits below decide. Set by hand with the first offline backend,
# not tuned:
DENSE_WEIGHT = 0.5  # the passage's embedding similarity breaks ties between equal coverage
RANK_PENALTY = 0.02  # per retrieval rank: of two alike sentences, the better-ranked passage's
KIND_BONUS = 0.15  # a sentence holding the kind asked for (a number for "how many") goes first
LIST_PENALTY = 0.05  # asked for a list, an announcement ("…include:") is not the list itself
# A trailing "…, and does the following:" clause only announces a list; it adds nothing.
_LIST_TAIL = re.compile(r",?\s+(?:and\s+)?[^,]*\bthe following\b[^,]*:\s*$")
# A sentence that opens with one of these is about something named before it
_REFERS_BACK = re.compile(r"\s*(?:it|its|they|their|he|his|she|her)\b", re.I)


@dataclass(frozen=True)
class Abstention:
    """When the best sentence is not good enough to answer with (tuned in bench/quality.py)."""

    min_coverage: float = 0.5  # idf-weighted share of the question's terms in the sentence
    min_coverage_with_similarity: float = 0.3  # ... enough when the passage is this similar:
    min_similarity: float = 0.5  # embedding (cosine) similarity of passage and question
    max_missing_idf: float | None = None  # a question term this rare must be in the passage
    rescue: bool = True  # deciding by meaning, the model may answer where the words fall short


# "balanced" answers what the text plainly holds (74% of SQuAD answerables, 28% of its
# adversarial unanswerables refused); "strict" was tuned on SQuAD for overall accuracy (52% / 63%)
# and refuses more paraphrased questions that the text does answer, even by meaning: the model
# only confirms its answers.
PROFILES = {
    "balanced": Abstention(),
    "strict": Abstention(min_coverage=0.7, min_similarity=0.6, max_missing_idf=4.5, rescue=False),
}


@dataclass(frozen=True)
class Refusal:
    """Why a sentence cannot answer, worded for a caller only when that reason is shown."""

    reason: str  # the whole reason, or what is missing when `missing` is set
    missing: tuple[str, ...] | None = None  # stems of the missing words (who lacks them varies)

    def said(self, retriever: Retriever, access: Access) -> str:
        """Return the reason as `access` reads it; chunks it may not read count as absent."""
        if self.missing is None:
            return self.reason
        if not self.missing or retriever.mentions(self.missing, access):
            return Reason("the passage that best matches the question does not mention %(what)s",
                          what=self.reason)
        return Reason("the sources do not mention %(what)s", what=self.reason)


UNADDRESSED = Refusal(Reason("no passage addresses what the question asks"))


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage and how well it answers the question."""

    passage: Passage
    span: Span
    text: str
    coverage: float
    score: float

    @property
    def usable(self) -> str:
        """Return the sentence without a trailing announcement of a list it does not hold."""
        return self.quotable(self.text)

    @staticmethod
    def quotable(text: str) -> str:
        """Return `text` without a trailing announcement of a list, or "" if that is all."""
        if not evidence.announces_list(text):
            return text
        tail = _LIST_TAIL.search(text)
        if tail and tail.start() >= MIN_QUOTE:
            return text[:tail.start()].rstrip()
        return ""


class ExtractiveBackend(AnswerBackend):
    """Answer with verbatim sentences, or abstain when none holds what is asked."""

    name = "extractive"

    def __init__(self, abstention: Abstention | None = None, passages_read: int = 5,
                 judge: Judge | None = None) -> None:
        """Set when to abstain, how many passages to read, and whether to decide by meaning."""
        self.abstention = abstention or Abstention()
        self.passages_read = passages_read
        self.judge = judge

    def draft(self, question: Question, passages: list[Passage], retriever: Retriever,
              access: Access = PUBLIC) -> Draft:
        """Pick the best sentence (and a second one if it adds), then decide to abstain."""
        # word weights over what `access` may read: restricted text moves no reader's answer
        idf = retriever.idf(access)
        ranked = sorted(self._candidates(question, passages[:self.passages_read], idf),
                        key=lambda c: -c.score)
        if not ranked:
            return Draft(reason=Reason("nothing in the indexed documents matches the question"))
        if self.judge:
            return self._by_meaning(question, ranked, retriever, self.judge, access)
        best = ranked[0]
        refusal = self._refusal(question, best, idf)
        if refusal:
            return Draft(reason=refusal.said(retriever, access))
        return self._answer(question, best, ranked, idf)

    def _by_meaning(self, question: Question, ranked: list[Candidate], retriever: Retriever,
                    judge: Judge, access: Access) -> Draft:
        """Let the model pick among the rules' best sentences and decide whether one answers.

        When the rules would answer, the model reads fewer sentences and needs less to agree.
        Where the rules refuse, the model may answer only from a passage similar enough to the
        question by embedding: a question about what the sources lack (a deleted page) still
        finds sentences sharing its other words, and the model takes some for answers.
        """
        limits = judge.limits
        idf = retriever.idf(access)
        refusal = self._refusal(question, ranked[0], idf)
        if refusal and (refusal != UNADDRESSED or not self.abstention.rescue):
            # a rule that words alone settle, or a strict profile
            return Draft(reason=refusal.said(retriever, access))
        reads = limits.rerank if refusal else limits.rerank_accepted
        top = [c for i, c in enumerate(ranked[:reads])
               if (why := refusal if i == 0 else self._refusal(question, c, idf)) is None
               or (why == UNADDRESSED and c.passage.dense >= limits.similarity
                   and _about(question, c))]
        if not top:
            return Draft(reason=unanswered(question.text))
        chance = [j.supports for j in judge.judge(question.query, [c.usable or c.text
                                                                   for c in top])]
        pick = max(range(len(top)), key=lambda i: top[i].score + limits.weight * chance[i])
        if chance[pick] < (limits.answer if refusal else limits.confirm):
            return Draft(reason=unanswered(question.text))
        best = top[pick]
        return self._answer(question, best, [best, *(c for c in ranked if c is not best)], idf)

    def _answer(self, question: Question, best: Candidate, ranked: list[Candidate],
                idf: Callable[[str], float]) -> Draft:
        """Quote the best sentence, and a second one when it covers more of the question."""
        chosen = [best]
        if question.expects in (None, "list"):
            covered = set(content_terms(best.usable))
            for cand in ranked[1:4]:
                gain = [t for t in question.terms
                        if t in set(content_terms(cand.usable)) - covered]
                weight = sum(idf(t) for t in gain)
                total = sum(idf(t) for t in question.terms) or 1.0
                if (weight / total >= SECOND_SENTENCE_GAIN
                        and self._refusal(question, cand, idf) is None):
                    chosen.append(cand)
                    break
        return Draft(claims=[self._claim(c) for c in chosen])

    def _candidates(self, question: Question, passages: list[Passage],
                    idf: Callable[[str], float]) -> list[Candidate]:
        """Score every sentence of the passages by term coverage, meaning and kind."""
        out: list[Candidate] = []
        for rank, passage in enumerate(passages):
            context = f"{passage.title} {passage.heading}"
            for span in passage.sentences:
                text = passage.sentence_text(span)
                if opposite_only(question.text, text):
                    continue  # "opens at six" for a question on when it closes
                cov = evidence.coverage(question.terms, text, context, idf)
                if cov < self.abstention.min_coverage and not Candidate.quotable(text):
                    continue  # a list's announcement about something else: not a candidate
                score = cov + DENSE_WEIGHT * passage.dense - RANK_PENALTY * rank
                if question.expects and evidence.has_kind(question.expects, text):
                    score += KIND_BONUS
                if evidence.announces_list(text) and question.expects == "list":
                    score -= LIST_PENALTY
                out.append(Candidate(passage, span, text, cov, score))
        return out

    def _refusal(self, question: Question, cand: Candidate,
                 idf: Callable[[str], float]) -> Refusal | None:
        """Return why a sentence cannot answer the question, or None if it can."""
        context = f"{cand.passage.title} {cand.passage.heading}"
        # only an announcement that addresses the question can be blamed for a missing list
        if cand.usable != cand.text and cand.coverage >= self.abstention.min_coverage and (
            not cand.usable
            or evidence.coverage(question.terms, cand.usable, context, idf)
            < self.abstention.min_coverage_with_similarity
        ):
            return Refusal(Reason("the source announces a list for this, but the list's items "
                                  "are not in the document text"))
        # a name the passage lacks is said first: which readable sentence ranks best (and so
        # whether it holds the kind of answer asked) must not change the reason given
        scope = f"{cand.passage.title} {cand.passage.heading} {cand.passage.text}"
        missing = evidence.missing_names(question.names, scope)
        if missing:
            stems = tuple(t for name in missing for t in content_terms(name))
            return Refusal(", ".join(missing), stems)
        if not evidence.has_kind(question.expects, cand.usable):
            return Refusal(Reason("no passage gives %(kind)s this question asks for",
                                  kind=KINDS.get(question.expects or "", "")))
        rare = self.abstention.max_missing_idf
        absent = [] if rare is None else evidence.missing_terms(
            question.terms, scope, lambda t: idf(t) >= rare)
        if absent:
            return Refusal(Reason("what the question is about"), tuple(absent))
        limits = self.abstention
        if cand.coverage >= limits.min_coverage:
            return None
        if (cand.coverage >= limits.min_coverage_with_similarity
                and cand.passage.dense >= limits.min_similarity):
            return None
        return UNADDRESSED

    @staticmethod
    def _claim(cand: Candidate) -> Claim:
        """Quote a sentence, without a dangling list announcement, citing its exact span."""
        text = cand.usable
        end = cand.span.start + len(text)
        return Claim(text=text, evidence=[Evidence(cand.passage, cand.span.start, end)])


def _referent(cand: Candidate) -> str:
    """Return the sentences before a sentence that opens with a pronoun, back to the first
    that does not (where its referent is named), up to three; "" for a chunk's first sentence
    and for a chain with no such sentence in reach (the referent is out of sight)."""
    spans = cand.passage.sentences
    at = spans.index(cand.span)
    back: list[str] = []
    for before in reversed(spans[max(0, at - 3):at]):
        back.append(cand.passage.sentence_text(before))
        if not _REFERS_BACK.match(back[-1]):
            return " ".join(back)
    return ""


def _about(question: Question, cand: Candidate) -> bool:
    """Tell whether a sentence that opens with a pronoun can be about what the question names.

    "It closes at three", after a sentence on the cafeteria, says nothing of when the gym
    closes: a question word the sentence lacks must then be in the sentences that name its
    referent (`_referent`); a chunk's first sentence, whose referent is out of sight, is not
    about the question.
    """
    if not _REFERS_BACK.match(cand.text):
        return True
    context = f"{cand.text} {cand.passage.title} {cand.passage.heading}"
    missing = set(question.terms) - set(content_terms(context))
    return not missing or bool(missing & set(content_terms(_referent(cand))))
