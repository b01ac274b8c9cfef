"""Fusion of the dense and BM25 rankings, and the rare-term abstention test."""

from __future__ import annotations

import pytest

from service.core.evidence import missing_terms
from service.core.retrieval import Fusion

DENSE = [(1, 0.9), (2, 0.5), (3, 0.4)]
LEXICAL = [(3, 12.0), (4, 6.0), (1, 2.0)]


def test_rrf_adds_reciprocal_ranks_of_both_rankings() -> None:
    fused = Fusion(method="rrf", rrf_k=60).combine(DENSE, LEXICAL)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 63)
    assert fused[4] == pytest.approx(1 / 62)
    assert max(fused, key=fused.__getitem__) in (1, 3)


def test_score_fusion_weights_min_max_normalised_scores() -> None:
    fused = Fusion(method="scores", dense_weight=1.0, lexical_weight=0.5).combine(DENSE, LEXICAL)
    assert fused[1] == pytest.approx(1.0 + 0.0)
    assert fused[3] == pytest.approx(0.0 + 0.5)
    assert fused[4] == pytest.approx(0.5 * 0.4)
    assert fused[2] == pytest.approx(0.2)


def test_a_zero_weight_leaves_the_other_ranking_alone() -> None:
    fused = Fusion(method="rrf", lexical_weight=0.0).combine(DENSE, LEXICAL)
    assert sorted(fused, key=lambda p: -fused[p]) == [1, 2, 3]
    assert Fusion().combine([], []) == {}


def test_missing_terms_are_the_rare_question_terms_the_text_lacks() -> None:
    terms = ["dnieper", "river", "flow"]
    assert missing_terms(terms, "The river flows north.", lambda t: True) == ["dnieper"]
    assert missing_terms(terms, "The river flows north.", lambda t: t != "dnieper") == []
