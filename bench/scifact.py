"""SciFact: document ranking by dense, BM25 and hybrid search, and cited evidence sentences."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from bench.metrics import mean, ndcg_at_k, recall_at_k, sentence_of, unique_in_order
from evaldata.scifact import Claim, SciFact
from index.documents import Span
from service.core.engine import Engine
from service.core.retrieval import Fusion, Retriever, ranked

# Passages asked for per claim, so that 100 distinct abstracts remain after max-aggregation
# (each ranking pools the fusion's candidates, at least this many).
DEPTH = 300
CITED_PER_DOC = 3  # SciFact counts only the first 3 predicted sentences of a document


def configurations(default: Fusion) -> dict[str, Fusion]:
    """Return the retrieval set-ups compared: each ranking alone, and the product's fusion."""
    return {
        "dense": replace(default, dense_weight=1.0, lexical_weight=0.0),
        "bm25": replace(default, dense_weight=0.0, lexical_weight=1.0),
        "hybrid": default,
    }


def variants(default: Fusion) -> dict[str, Fusion]:
    """Return other fusions of the same two rankings, measured beside the default."""
    return {
        "rrf k=20": replace(default, method="rrf", rrf_k=20, dense_weight=1.0, lexical_weight=1.0),
        "rrf k=60": replace(default, method="rrf", rrf_k=60, dense_weight=1.0, lexical_weight=1.0),
        "rrf k=60, bm25 x1.5": replace(default, method="rrf", rrf_k=60, dense_weight=1.0,
                                       lexical_weight=1.5),
        "scores 1:1": replace(default, method="scores", dense_weight=1.0, lexical_weight=1.0),
        "scores 1:0.5": replace(default, method="scores", dense_weight=1.0, lexical_weight=0.5),
        "scores 1:2": replace(default, method="scores", dense_weight=1.0, lexical_weight=2.0),
    }


def evaluate_variants(retriever: Retriever, claims: list[Claim], fusions: dict[str, Fusion],
                      depth: int) -> dict[str, dict[str, float]]:
    """Score each fusion on rankings retrieved once per claim (the fusing is all that varies).

    `depth` chunks come from each ranking, as a fusion's `candidates` would take.
    """
    rankings = [(retriever.dense(c.text, depth), retriever.lexical(c.text, depth))
                for c in claims]
    results: dict[str, dict[str, float]] = {}
    for name, fusion in fusions.items():
        scores: dict[str, list[float]] = {"ndcg@10": [], "recall@10": [], "recall@100": []}
        for claim, (dense, lexical) in zip(claims, rankings, strict=True):
            order = ranked(fusion.combine(dense, lexical), dict(dense))
            docs = unique_in_order(retriever.lexicon.doc_id(p) for p in order)
            scores["ndcg@10"].append(ndcg_at_k(docs, claim.relevant, 10))
            scores["recall@10"].append(recall_at_k(docs, claim.relevant, 10))
            scores["recall@100"].append(recall_at_k(docs, claim.relevant, 100))
        results[name] = {k: round(mean(v), 4) for k, v in scores.items()}
    return results


def rank_documents(retriever: Retriever, query: str) -> list[str]:
    """Return documents in order of their best chunk (from the fusion's own candidates)."""
    return unique_in_order(p.doc_id for p in retriever.search(query, DEPTH))


def evaluate_retrieval(retriever: Retriever, claims: list[Claim],
                       fusion: Fusion) -> dict[str, float]:
    """Return nDCG@10, recall@10, recall@100 and mean latency of one fusion over the claims."""
    saved, retriever.fusion = retriever.fusion, fusion
    scores: dict[str, list[float]] = {"ndcg@10": [], "recall@10": [], "recall@100": []}
    seconds: list[float] = []
    try:
        for claim in claims:
            began = time.perf_counter()
            ranked = rank_documents(retriever, claim.text)
            seconds.append(time.perf_counter() - began)
            scores["ndcg@10"].append(ndcg_at_k(ranked, claim.relevant, 10))
            scores["recall@10"].append(recall_at_k(ranked, claim.relevant, 10))
            scores["recall@100"].append(recall_at_k(ranked, claim.relevant, 100))
    finally:
        retriever.fusion = saved
    result = {name: round(mean(values), 4) for name, values in scores.items()}
    result["ms_per_query"] = round(1000 * mean(seconds), 1)
    return result


def judge_citations(claim: Claim, cited: list[tuple[str, Span]],
                    sentences: dict[str, list[Span]]) -> tuple[int, int, bool]:
    """Return (correct cited sentences, counted cited sentences, top citation correct)."""
    per_doc: dict[str, list[int]] = {}
    top_correct = False
    for rank, (doc_id, span) in enumerate(cited):
        index = sentence_of(span, sentences.get(doc_id, []))
        gold = index is not None and index in claim.evidence.get(doc_id, frozenset())
        top_correct = top_correct or (rank == 0 and gold)
        picked = per_doc.setdefault(doc_id, [])
        if index is not None and index not in picked and len(picked) < CITED_PER_DOC:
            picked.append(index)
    correct = sum(1 for d, picked in per_doc.items() for i in picked
                  if i in claim.evidence.get(d, frozenset()))
    return correct, sum(len(p) for p in per_doc.values()), top_correct


def evaluate_evidence(engine: Engine, data: SciFact) -> dict[str, Any]:
    """Ask each claim; score cited sentences against gold rationales and abstention on NEI."""
    correct = predicted = top_hits = abstained_nei = abstained_ev = 0
    gold_total = 0
    seconds: list[float] = []
    with_evidence = [c for c in data.claims if c.evidence]
    nei = [c for c in data.claims if not c.evidence]
    for claim in data.claims:
        began = time.perf_counter()
        answer = engine.answer(claim.text)
        seconds.append(time.perf_counter() - began)
        if not claim.evidence:
            abstained_nei += answer.abstained
            continue
        gold_total += sum(len(ids) for ids in claim.evidence.values())
        abstained_ev += answer.abstained
        cited = [(c.document_id, Span(c.start, c.end)) for c in answer.citations]
        good, counted, top = judge_citations(claim, cited, data.sentences)
        correct, predicted, top_hits = correct + good, predicted + counted, top_hits + top
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold_total if gold_total else 0.0
    return {
        "claims_with_evidence": len(with_evidence),
        "top_citation_on_gold_sentence": round(top_hits / max(len(with_evidence), 1), 4),
        "sentence_precision": round(precision, 4),
        "sentence_recall": round(recall, 4),
        "sentence_f1": round(2 * precision * recall / (precision + recall), 4)
        if precision + recall else 0.0,
        "abstained_with_evidence": round(abstained_ev / max(len(with_evidence), 1), 4),
        "nei_claims": len(nei),
        "nei_abstained": round(abstained_nei / max(len(nei), 1), 4),
        "ms_per_query": round(1000 * mean(seconds), 1),
    }
