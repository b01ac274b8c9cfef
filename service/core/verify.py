"""Check every claim of a draft against the passages it cites: keep, narrow, re-cite or drop.

A claim is supported by one sentence (or two adjacent ones) of a passage when every number,
name and negation of the claim is there, no word of it is reversed by its opposite, and the
sentence covers the claim's key terms, alone or with an embedding similarity close enough.
Deciding by meaning, the relevance model also judges: it drops a claim the words' sentence
contradicts, and keeps one that a sentence passing those hard checks supports in other words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from index.access import EVERYTHING, Access
from index.chunking import sentence_spans
from index.documents import Span
from index.terms import STOPWORDS, content_terms, words
from service.core import evidence
from service.core.drafts import Claim, Draft, Evidence
from service.core.meaning import Judge
from service.core.reasons import Reason
from service.core.results import Verification
from service.core.retrieval import Passage, Retriever
from service.core.reversals import reverses

MIN_COVERAGE = 0.5  # idf-weighted share of the claim's key terms a paraphrase must keep
NEGATION_REACH = 3  # words after a "not" or "never" that it reverses
MIN_SIMILARITY = 0.8  # cosine similarity of a paraphrase to its sentence (all-MiniLM-L6-v2)
UNSUPPORTED = Reason("no sentence of the draft is supported by the passages it cites or by "
                     "any other retrieved passage")

MARKER = re.compile(r"\s*\[(?:(?:passage|source)\s*)?(\d+(?:\s*,\s*\d+)*)\]", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|#+)\s+")
_NAME = re.compile(r"\b[A-Z][\w'’-]*")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|neither|without|cannot)\b|n['’]t\b", re.I)
_SCALE_WORDS = frozenset((
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "million",
    "billion", "trillion", "dozen", "half", "percent",
))

Embed = Callable[[list[str]], np.ndarray]


def strip_markers(text: str) -> str:
    """Return `text` without its `[n]` markers."""
    return " ".join(MARKER.sub("", text).split())


def markers(text: str) -> list[int]:
    """Return the passage numbers a sentence cites, in order, once each."""
    found = [int(n) for group in MARKER.findall(text) for n in group.split(",")]
    return list(dict.fromkeys(found))


def claims_from_text(text: str) -> list[Claim]:
    """Split a written draft into sentences that keep their `[n]` markers."""
    claims: list[Claim] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line)
        for span in sentence_spans(line):
            piece = line[span.start:span.end]
            lead = re.match(rf"(?:{MARKER.pattern})+", piece, re.I)
            if claims and lead and (not strip_markers(piece) or not markers(claims[-1].text)):
                claims[-1].text += " " + lead.group(0).strip()  # "…2017. [1]" cites the last one
                piece = piece[lead.end():].strip()
            if strip_markers(piece):
                claims.append(Claim(text=piece))
    return claims


@dataclass
class Support:
    """A window of a passage that supports a claim, and how strongly."""

    evidence: Evidence
    score: float


@dataclass
class Verifier:
    """Check claims against retrieved passages with words, numbers, names and meaning."""

    idf: Callable[[str], float]
    embed: Embed
    judge: Judge | None = None
    _vectors: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def over(cls, retriever: Retriever, judge: Judge | None = None,
             access: Access = EVERYTHING) -> Verifier:
        """Return a verifier with the word weights of what `access` reads, and the model."""
        return cls(retriever.idf(access), retriever.embedder.embed, judge)

    def verify(self, draft: Draft, passages: list[Passage]) -> tuple[Draft, Verification]:
        """Return the draft with only supported claims, each citing its narrowest support."""
        if draft.abstained:
            return draft, Verification()
        kept: list[Claim] = []
        report = Verification()
        for claim in draft.claims:
            text = strip_markers(claim.text)
            if claim.evidence and not markers(claim.text) and all(
                    _verbatim(text, ev.text) for ev in claim.evidence):
                kept.append(claim)  # a quote of what it cites: nothing to check further
                continue
            if _only_titles(text, passages):
                report.removed += 1  # "Opening hours — Opening hours [1]" states nothing
                continue
            cited, dangling = _cited(claim, passages)
            found = [s.evidence for p in cited if (s := self.support(text, p))]
            if found and len(found) == len(cited) and not dangling:
                kept.append(Claim(text, found))
                continue
            if not found:
                best = max((s for p in passages if p not in cited
                            if (s := self.support(text, p))),
                           key=lambda s: s.score, default=None)
                found = [best.evidence] if best else []
            if found:
                kept.append(Claim(text, found))
                report.recited += 1
            else:
                report.removed += 1
        return Draft(claims=kept, reason="" if kept else UNSUPPORTED), report

    def support(self, claim: str, passage: Passage) -> Support | None:
        """Return the narrowest window of `passage` that supports `claim`, if any.

        One sentence that holds all the claim's key terms suffices; one that holds most of
        them (a term only in the title or heading counts half), or two adjacent sentences,
        must also be similar enough by embedding.
        """
        terms = list(dict.fromkeys(content_terms(claim)))
        if not terms:
            return None
        singles, pairs = self._candidates(claim, terms, passage)
        whole = [s for s in singles if s.score >= 1.0]
        by_words = whole[0] if whole else (self._closest(claim, singles)
                                           or self._closest(claim, pairs))
        if self.judge:
            return self._by_meaning(claim, passage, by_words, self.judge)
        return by_words

    def _by_meaning(self, claim: str, passage: Passage, by_words: Support | None,
                    judge: Judge) -> Support | None:
        """Let the model veto the words' support, or find support put in other words.

        The words' window is dropped when the model finds it contradicts the claim; without
        one, a sentence (else two adjacent ones) that passes the hard checks supports the claim
        when the model says so.
        """
        limits = judge.limits
        if by_words:
            [verdict] = judge.judge(claim, [by_words.evidence.text])
            contradicted = (verdict.contradicts >= limits.contradiction
                            and verdict.contradicts > verdict.supports)
            return None if contradicted else by_words
        # a name may sit in the sentence before ("she" after it): the passage must hold it;
        # numbers and negations must still be in the window itself
        context = f"{passage.title} {passage.heading} {passage.text}"
        for size in (1, 2):  # one sentence, else two adjacent ones
            windows = [w for w in _windows(passage, size)
                       if _facts_match(claim, w.text, context)]
            verdicts = judge.judge(claim, [w.text for w in windows]) if windows else []
            found = [Support(w, v.supports) for w, v in zip(windows, verdicts, strict=True)
                     if v.supports >= limits.support and v.supports > v.contradicts]
            if found:
                return max(found, key=lambda s: s.score)
        return None

    def _candidates(self, claim: str, terms: list[str],
                    passage: Passage) -> tuple[list[Support], list[Support]]:
        """Return the single sentences and adjacent pairs that could support the claim."""
        context = f"{passage.title} {passage.heading}"
        found: tuple[list[Support], list[Support]] = ([], [])
        for size, bucket in zip((1, 2), found, strict=True):
            for window in _windows(passage, size):
                if not _facts_match(claim, window.text, context):
                    continue
                cov = evidence.coverage(terms, window.text, context, self.idf)
                if cov >= MIN_COVERAGE:
                    bucket.append(Support(window, cov))
        return found

    def _closest(self, claim: str, candidates: list[Support]) -> Support | None:
        """Return the candidate most similar to the claim by embedding, if similar enough."""
        if not candidates:
            return None
        self._embed([claim, *(c.evidence.text for c in candidates)])
        similarity = [float(self._vectors[claim] @ self._vectors[c.evidence.text])
                      for c in candidates]
        close = [Support(c.evidence, c.score + m)
                 for c, m in zip(candidates, similarity, strict=True) if m >= MIN_SIMILARITY]
        return max(close, key=lambda s: s.score, default=None)

    def _embed(self, texts: list[str]) -> None:
        """Embed the texts not embedded yet, in one call."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if todo:
            for text, vector in zip(todo, self.embed(todo), strict=True):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)


def _cited(claim: Claim, passages: list[Passage]) -> tuple[list[Passage], int]:
    """Return the passages a claim cites and how many of its markers point at nothing."""
    cited = [ev.passage for ev in claim.evidence]
    numbers = markers(claim.text)
    cited += [passages[n - 1] for n in numbers if 1 <= n <= len(passages)]
    dangling = sum(1 for n in numbers if not 1 <= n <= len(passages))
    unique: list[Passage] = []
    for passage in cited:
        if all(passage is not u for u in unique):
            unique.append(passage)
    return unique, dangling


def _only_titles(claim: str, passages: list[Passage]) -> bool:
    """Return whether the claim is nothing but passages' titles and headings, one after another.

    A claim that only shares a title's words ("X causes Y", under the title "X causes Y in
    mice") still states something and is checked as usual.
    """
    names = {tuple(words(t)) for p in passages for t in (p.title, p.heading) if words(t)}
    said = tuple(words(claim))
    done = [True] + [False] * len(said)  # done[i]: the first i words are titles in a row
    for i in range(len(said)):
        if done[i]:
            for name in names:
                if said[i:i + len(name)] == name:
                    done[i + len(name)] = True
    return done[-1]


def _windows(passage: Passage, size: int) -> list[Evidence]:
    """Return each run of `size` adjacent sentences of a passage (one window if it has none)."""
    spans = passage.sentences or [Span(passage.start, passage.end)]
    return [Evidence(passage, spans[i].start, spans[i + size - 1].end)
            for i in range(len(spans) - size + 1)]


def _facts_match(claim: str, window: str, context: str) -> bool:
    """Return whether every number, name and negation of the claim is in the window.

    A window that negates one of the claim's terms ("never taken home") matches only a claim
    that negates too; one that puts an opposite in place of a claim's word ("closes every
    Sunday" for "is open every Sunday") matches none.
    """
    if reverses(claim, window):
        return False
    if not evidence.numbers(claim) <= evidence.numbers(window):
        return False
    present = set(words(f"{window} {context}"))
    claim_words = words(claim)
    if any(w in _SCALE_WORDS and w not in present for w in claim_words):
        return False
    if any(w not in present for w in _names(claim)):
        return False
    if _NEGATION.search(claim):
        return bool(_NEGATION.search(window))
    return not _negates(window, set(content_terms(claim)))


def _negates(window: str, terms: set[str]) -> bool:
    """Return whether the window negates one of `terms` within the next few words."""
    for match in _NEGATION.finditer(window):
        after = content_terms(" ".join(window[match.end():].split()[:NEGATION_REACH]))
        if terms.intersection(after):
            return True
    return False


def _names(claim: str) -> list[str]:
    """Return the lower-cased words of capitalised names, past the claim's first word."""
    found: list[str] = []
    for match in _NAME.finditer(claim):
        if match.start() == 0:
            continue
        found += [w for w in words(match.group(0)) if w not in STOPWORDS]
    return found


def _verbatim(claim: str, cited: str) -> bool:
    """Return whether the claim is the cited text, up to spacing and final punctuation."""
    norm = " ".join(claim.split()).rstrip(".!?;: ")
    return bool(norm) and norm in " ".join(cited.split())
