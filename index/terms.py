"""Shared word handling: tokenize, drop stopwords, stem — the same for BM25 and answers."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

TOKEN = re.compile(r"(?u)\b\w\w+\b")
# Words that shape a question but never carry its topic.
QUESTION_WORDS = frozenset((
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "does", "did", "do",
    "done", "was", "were", "is", "are", "be", "been", "can", "could", "would", "should", "will",
    "shall", "may", "might", "must", "has", "have", "had", "about", "tell", "me", "please",
    "much", "many", "kind", "type", "name", "named", "list", "give", "show", "describe",
    "explain", "mean", "meant", "according", "there", "their", "they", "them", "it", "its",
    "this", "that", "these", "those", "he", "she", "his", "her", "any", "some", "one",
))
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | QUESTION_WORDS


@lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    """Return the shared English Snowball stemmer."""
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Return the lower-cased word tokens of `text`."""
    return TOKEN.findall(text.lower())


def content_terms(text: str) -> list[str]:
    """Return stemmed tokens of `text` without stopwords, in order."""
    return list(_content_terms(text))


@lru_cache(maxsize=32768)
def _content_terms(text: str) -> tuple[str, ...]:
    """Stem once per distinct text: answering re-reads the same sentences many times."""
    kept = [w for w in words(text) if w not in STOPWORDS]
    return tuple(stemmer().stemWords(kept))
