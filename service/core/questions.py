"""Read a question: what kind of answer it expects, its key terms and names, and its context."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from index.terms import STOPWORDS, content_terms
from service.core.results import Message

_EXPECTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("number", re.compile(r"\bhow (much|many|long|far|big|large|old|often)\b|"
                          r"\bwhat (amount|percentage|proportion|number|sum|share|budget|cost)\b|"
                          r"\b(cost|costs|budget|spend|spent|funding) of\b", re.I)),
    ("date", re.compile(r"^\s*when\b|\bwhen (did|was|were|is|are|does|do|will|had|has)\b|"
                        r"\bwhat (year|date|day|month|time)\b|\bwhich (year|date|month)\b|"
                        r"\buntil (when|what)\b|\bsince (when|what)\b", re.I)),
    ("person", re.compile(r"^\s*(who|whom|whose)\b|\bwho (is|was|are|were|signed|leads?|led)\b",
                          re.I)),
    ("place", re.compile(r"^\s*where\b|\bin which (country|city|region|place)\b", re.I)),
    ("list", re.compile(r"\b(list|enumerate|name (all|the))\b|"
                        r"\bwhat (are|were) (the|its|their|\w+['’]s)?\s*\w*\s*\w+s\b|"
                        r"\bwhat (\w+ ){0,2}\w+(ies|ions|ents|ives|ures|ties)\b|"
                        r"\bwhich (\w+ ){0,2}\w+s (are|were|does|did|will|is)\b", re.I)),
)
_REFERS = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|him|her|"
                     r"there|then|the same)\b", re.I)
_CONTINUES = re.compile(r"^\s*(and|but|also|what about|how about)\b", re.I)
# How similar by embedding the best readable passage is to a query (retrieval's own score).
Similarity = Callable[[str], float]
# How much more similar a passage the question must find joined to the last one to continue it.
# Set by hand, with no follow-up data set to tune on: on one page, a question that names its own
# topic ("how much will the city spend on its parks?") gains up to 0.02 from the last question's
# words, while "how long will it last?" gains 0.28.
FOLLOW_GAIN = 0.1
# A name may hold digits ("Orion12", "F-35"): cutting them would look for a different name.
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9'’.-]*(?:\s+(?:of\s+)?[A-Z][A-Za-z0-9'’.-]*)*")


@dataclass(frozen=True)
class Question:
    """What the answer must contain to count as an answer."""

    text: str
    query: str
    expects: str | None
    terms: tuple[str, ...]
    names: tuple[str, ...]


def expected_kind(question: str) -> str | None:
    """Return the kind of answer a question asks for: number, date, person, place, list."""
    for kind, pattern in _EXPECTS:
        if pattern.search(question):
            return kind
    return None


def names_in(question: str) -> tuple[str, ...]:
    """Return the capitalised names a question mentions (not its first word alone)."""
    found: list[str] = []
    first = len(question) - len(question.lstrip())
    for match in _NAME.finditer(question):
        name = match.group(0).strip(" .'’-")
        if match.start() == first and " " not in name:
            continue  # a sentence-initial capital is not a name
        if name and name.lower() not in STOPWORDS:
            found.append(name)
    return tuple(found)


def standalone_query(question: str, history: list[Message],
                     similarity: Similarity | None = None) -> str:
    """Rewrite a follow-up into a query that stands alone, using the last user turn.

    A question that opens with "and" or "what about" continues the last one. One with a
    pronoun, or with one topic word or none, may: it does when, joined to the last question, it
    finds a passage clearly more similar than it finds alone ("how long will it last?"), and
    stands alone when not ("how much will the city spend on its parks?"). Without `similarity`,
    it continues.
    """
    earlier = [m.content for m in history if m.role == "user" and m.content.strip()]
    if not earlier:
        return question
    joined = f"{question} {earlier[-1]}"
    if _CONTINUES.search(question):
        return joined
    if not (_REFERS.search(question) or len(content_terms(question)) < 2):
        return question
    if similarity is None or similarity(joined) > similarity(question) + FOLLOW_GAIN:
        return joined
    return question


def read_question(question: str, history: list[Message],
                  similarity: Similarity | None = None) -> Question:
    """Analyse a question in the light of its history.

    A follow-up searches with the earlier question, but its sentence is chosen by its own words:
    the earlier question's words would pick the earlier answer again.
    """
    query = standalone_query(question, history, similarity)
    own = content_terms(question)
    return Question(
        text=question,
        query=query,
        expects=expected_kind(question),
        terms=tuple(dict.fromkeys(own or content_terms(query))),
        names=names_in(question),
    )
