"""Training pairs: reversed claims become contradictions, only from training splits."""

from __future__ import annotations

import random

import pytest

from tests.support.paths import TEST_DATA
from training.data import CONTRADICTS, SUPPORTS, esnli_pairs, scifact_pairs
from training.reversals import reverse


@pytest.mark.parametrize(("claim", "reversed_claim"), [
    ("Smoking increases the risk of stroke.", "Smoking decreases the risk of stroke."),
    ("Higher doses were safe.", "Lower doses were safe."),
    ("The vaccine does not protect infants.", "The vaccine does protect infants."),
    ("Exercise cannot replace insulin.", "Exercise can replace insulin."),
    ("The bridge won't open in winter.", "The bridge will open in winter."),
    ("The committee will meet in May.", "The committee will not meet in May."),
])
def test_reverse_swaps_one_direction_or_polarity(claim: str, reversed_claim: str) -> None:
    assert reverse(claim) == reversed_claim


@pytest.mark.parametrize("claim", ["There is no link between diet and mood.", "Birds fly."])
def test_reverse_leaves_what_it_cannot_reverse_in_one_word(claim: str) -> None:
    assert reverse(claim) is None


def test_reversed_pairs_contradict_what_supported_the_claim() -> None:
    assert not any(p.source == "scifact-reversed"
                   for p in scifact_pairs(TEST_DATA, random.Random(0)))
    pairs = scifact_pairs(TEST_DATA, random.Random(0), reversed_claims=True)
    supported = {(p.first, p.second) for p in pairs if p.label == SUPPORTS}
    flipped = [p for p in pairs if p.source == "scifact-reversed"]
    assert len(flipped) >= 20  # 22 in the 60-claim slice
    for pair in flipped:
        assert pair.label == CONTRADICTS
        assert any(second == pair.second and reverse(first) == pair.first
                   for first, second in supported)
    snli = [p for p in esnli_pairs(random.Random(0), 30, reversals=20)
            if p.source == "esnli-reversed"]
    assert len(snli) == 20 and all(p.label == CONTRADICTS for p in snli)
