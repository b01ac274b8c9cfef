"""Tests of whether a piece of text can support a claim or answer a question."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from index.terms import content_terms, stemmer, words

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                 "forty|fifty|hundred|thousand|million|billion|dozen|half|several|once|twice")
_KIND_PATTERNS: dict[str, re.Pattern[str]] = {
    "number": re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.I),
    "date": re.compile(rf"\b(1\d\d\d|20\d\d)(?:'?s)?\b|\b\d+\s*(BC|AD|BCE|CE)\b|"
                       r"\b\d{1,2}(:\d\d)?\s*[ap]\.?m\b|"
                       rf"\b({_MONTHS})\b\.?\s*\d|\d\s*({_MONTHS})\b|"
                       r"\b(century|decade|today|yesterday)\b|"
                       # a time of day or of the week answers "when does it open?" too
                       r"\b\d{1,2}:\d\d\b|\b(noon|midnight|o['’]clock)\b|"
                       r"\bin the (morning|afternoon|evening)\b|\bat night\b|"
                       r"\b(mon|tues|wednes|thurs|fri|satur|sun)days?\b|\bweekends?\b", re.I),
    "person": re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+"),
    "place": re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+|"
                        # a place need not be a name: "in lot C", "next to the main gate"
                        r"\b(lot|gate|room|floor|level|hall|block|wing|zone|platform|entrance)\s+"
                        r"[A-Z0-9]\b|\b(next to|behind|beside|opposite|in front of|across from|"
                        r"upstairs|downstairs)\b|\bon the \w+ floor\b"),
}
_ANNOUNCES_LIST = re.compile(r":\s*$")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def has_kind(kind: str | None, text: str) -> bool:
    """Return whether `text` holds the kind of thing a question expects."""
    if kind is None or kind == "list":
        return True
    return bool(_KIND_PATTERNS[kind].search(text))


def announces_list(text: str) -> bool:
    """Return whether a sentence only announces a list ("…include:")."""
    return bool(_ANNOUNCES_LIST.search(text))


def coverage(terms: Iterable[str], text: str, context: str, idf: Callable[[str], float]) -> float:
    """Return the idf-weighted share of `terms` found in `text` (half credit in `context`)."""
    terms = list(terms)
    if not terms:
        return 0.0
    inside, around = set(content_terms(text)), set(content_terms(context))
    total = sum(idf(t) for t in terms)
    got = sum(idf(t) * (1.0 if t in inside else 0.5 if t in around else 0.0) for t in terms)
    return got / total if total else 0.0


def missing_names(names: Iterable[str], text: str) -> list[str]:
    """Return the names none of whose words occur in `text` (plurals and possessives match).

    A name too short to hold a word ("X", "P") cannot be checked and is never reported.
    """
    present = set(stemmer().stemWords(words(text)))
    missing = []
    for name in names:
        stems = stemmer().stemWords(words(name))
        if stems and not any(s in present for s in stems):
            missing.append(name)
    return missing


def missing_terms(terms: Iterable[str], text: str, matters: Callable[[str], bool]) -> list[str]:
    """Return the stemmed `terms` that matter but do not occur in `text`."""
    present = set(content_terms(text))
    return [t for t in terms if t not in present and matters(t)]


def numbers(text: str) -> set[str]:
    """Return the numbers written in `text`, without thousands separators."""
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}
