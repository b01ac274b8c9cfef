"""The quality benchmark's scoring on tiny hand-made inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.indexes import SIGNATURE, ensure_index
from bench.metrics import (
    contains_answer,
    ndcg_at_k,
    normalize_answer,
    recall_at_k,
    sentence_of,
    unique_in_order,
)
from bench.scifact import judge_citations
from bench.squad import Outcome, split, summarize
from evaldata.scifact import Claim, load_train_claims, sentence_spans
from index.documents import Document, Span
from tests.support.paths import TEST_DATA


def test_ndcg_is_one_for_a_perfect_ranking_and_discounts_lower_ranks() -> None:
    assert ndcg_at_k(["a", "b", "x"], {"a", "b"}) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "a"], {"a"}) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["x", "y"], {"a"}) == 0.0
    assert ndcg_at_k(["a"] + ["x"] * 20, {"a", "b"}, 10) == pytest.approx(
        1.0 / (1.0 + 1 / math.log2(3)))


def test_recall_counts_relevant_documents_within_the_cut() -> None:
    ranked = ["a", "x", "b", "c"]
    assert recall_at_k(ranked, {"a", "b"}, 2) == 0.5
    assert recall_at_k(ranked, {"a", "b"}, 3) == 1.0


def test_chunk_hits_become_documents_by_their_best_chunk() -> None:
    assert unique_in_order(["d2", "d1", "d2", "d3", "d1"]) == ["d2", "d1", "d3"]


def test_sentence_spans_and_the_sentence_a_citation_falls_on() -> None:
    text = "Title\n\nFirst one. Second one here. Third."
    spans = sentence_spans(text, ["First one.", "Second one here.", "Third."])
    assert [text[s.start:s.end] for s in spans] == ["First one.", "Second one here.", "Third."]
    assert sentence_of(Span(text.index("Second"), text.index("Third") - 1), spans) == 1
    assert sentence_of(Span(0, 5), spans) is None  # the title is no evidence sentence


def test_citations_are_judged_against_gold_sentences_three_per_document() -> None:
    sentences = {"d": [Span(i * 10, i * 10 + 9) for i in range(6)], "e": [Span(0, 9)]}
    claim = Claim("1", "c", "SUPPORT", frozenset({"d"}), {"d": frozenset({1, 2})})
    cited = [("d", Span(10, 19)), ("e", Span(0, 9)), ("d", Span(30, 39)),
             ("d", Span(40, 49)), ("d", Span(20, 29))]
    correct, counted, top = judge_citations(claim, cited, sentences)
    assert top is True
    assert (correct, counted) == (1, 4)  # d: 1, 3, 4 (the fourth, 2, is not counted); e: 0
    assert judge_citations(claim, cited[1:], sentences)[2] is False


def test_answers_are_matched_after_squad_normalisation() -> None:
    assert normalize_answer("The  RNA-interference, pathway!") == "rnainterference pathway"
    assert contains_answer("It was in 1998, the report says.", ["1998"])
    assert contains_answer("Ribonucleases and the RNA interference pathway.", ["RNA interference"])
    assert not contains_answer("In 19985 it began.", ["1998"])
    assert not contains_answer("anything", ["", "  "])


def test_squad_outcomes_summarise_each_kind_separately() -> None:
    outcomes = [Outcome(True, False, True, True), Outcome(True, False, True, False),
                Outcome(False, True, False, False), Outcome(False, False, True, True)]
    summary = summarize(outcomes)
    assert summary["answerable_correct"] == 0.5
    assert summary["answerable_contains_gold"] == 1.0
    assert summary["no_answer_accuracy"] == 0.5
    assert summary["overall_accuracy"] == 0.5
    first, second = split(list(range(5)))  # type: ignore[arg-type]
    assert (first, second) == ([0, 1], [2, 3, 4])


def test_fusion_is_chosen_on_train_claims_that_share_nothing_with_the_test_claims() -> None:
    scifact = TEST_DATA / "scifact"
    test = {json.loads(line)["claim"]
            for line in (scifact / "claims_dev_with_evidence.jsonl").open(encoding="utf-8")}
    train = load_train_claims(TEST_DATA)
    assert len(train) > 50 and all(c.relevant for c in train)  # 59 of the slice's 60
    # SciFact repeats two test claims in train; the slice's stand-in test claim repeats one
    assert test and not {c.text for c in train} & test


def test_a_bench_cache_embedded_another_way_is_rebuilt(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_BENCH_CACHE", str(tmp_path))
    docs = [Document("a.md", "A", "", "The ferry leaves the north pier at nine.", "a1"),
            Document("b.md", "B", "", "The tram climbs the hill every ten minutes.", "b1")]
    _, first = ensure_index("tiny", docs)
    _, again = ensure_index("tiny", docs)
    assert len(first.added) == 2 and again.chunks == 0  # the same embedding: nothing redone
    signature = tmp_path / "tiny" / SIGNATURE
    signature.write_text(json.dumps({"graph": "another graph", "batch_size": 4}))
    _, rebuilt = ensure_index("tiny", docs)
    assert len(rebuilt.added) == 2 and rebuilt.chunks == first.chunks
