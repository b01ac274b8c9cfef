"""Scoring functions: ranking metrics, citation-sentence matching, answer matching."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Sequence

from index.documents import Span

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def ndcg_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Return nDCG@k with binary relevance (every SciFact judgement is 1)."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
    return dcg / ideal


def recall_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Return the share of relevant documents found in the first `k`."""
    rel = set(relevant)
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def unique_in_order(items: Iterable[str]) -> list[str]:
    """Return items without repeats, first occurrence kept (chunk hits → documents by max)."""
    return list(dict.fromkeys(items))


def sentence_of(span: Span, sentences: Sequence[Span]) -> int | None:
    """Return the index of the sentence that overlaps `span` most, or None."""
    best, best_overlap = None, 0
    for i, sentence in enumerate(sentences):
        overlap = min(span.end, sentence.end) - max(span.start, sentence.start)
        if overlap > best_overlap:
            best, best_overlap = i, overlap
    return best


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation, articles and extra spaces (the SQuAD normalisation)."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains_answer(answer: str, golds: Iterable[str]) -> bool:
    """Return whether any gold answer string occurs in `answer`, both normalised."""
    norm = f" {normalize_answer(answer)} "
    return any(f" {normalize_answer(g)} " in norm for g in golds if normalize_answer(g))


def mean(values: Iterable[float]) -> float:
    """Return the arithmetic mean (0 for no values)."""
    items = list(values)
    return sum(items) / len(items) if items else 0.0
