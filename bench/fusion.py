"""Choose the hybrid fusion on SciFact train claims, then score it on the test claims.

`python -m bench.fusion` (`make bench-fusion`) scores every fusion of a grid (weighted scores
or reciprocal ranks, BM25's weight, candidates per ranking) on the SciFact train claims
(qrels/train.tsv). The test claims choose nothing: they only score the product's default
and the train's best. Writes bench/results/fusion.json.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench.indexes import ensure_index
from bench.quality import open_engine
from bench.scifact import evaluate_variants
from evaldata.scifact import Claim, judged_first, load_scifact, load_train_claims
from service.core.extractive import ExtractiveBackend
from service.core.retrieval import Fusion, Retriever

RESULTS = Path(__file__).resolve().parent / "results" / "fusion.json"
SCORE_WEIGHTS = (0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0)  # BM25's, dense's is 1
RRF = ((5, 10, 20, 40, 60), (0.8, 1.0, 1.25))  # rrf_k values, BM25 weights
CANDIDATES = (100, 200, 300, 500, 750, 1000)


def grid(default: Fusion, candidates: int) -> dict[str, Fusion]:
    """Return the fusions tried with `candidates` chunks from each ranking."""
    tail = f", {candidates} candidates"
    found = {f"scores 1:{w}{tail}": replace(default, method="scores", dense_weight=1.0,
                                            lexical_weight=w, candidates=candidates)
             for w in SCORE_WEIGHTS}
    found.update({f"rrf k={k} 1:{w}{tail}": replace(default, method="rrf", rrf_k=k,
                                                    dense_weight=1.0, lexical_weight=w,
                                                    candidates=candidates)
                  for k in RRF[0] for w in RRF[1]})
    return found


def scored(retriever: Retriever, claims: list[Claim], fusion: Fusion) -> dict[str, float]:
    """Return one fusion's scores over `claims`, at its own number of candidates."""
    return evaluate_variants(retriever, claims, {"one": fusion}, fusion.candidates)["one"]


def main() -> int:
    """Search the grid on train claims; score the default and the train's best on test."""
    data = load_scifact()
    cfg, indexed = ensure_index("scifact", judged_first(data))
    print(indexed.summary(), flush=True)
    retriever = open_engine(cfg, ExtractiveBackend()).retriever()
    default, train = retriever.fusion, load_train_claims()
    fusions: dict[str, Fusion] = {}
    train_scores: dict[str, dict[str, float]] = {}
    for candidates in CANDIDATES:
        tried = grid(default, candidates)
        fusions.update(tried)
        train_scores.update(evaluate_variants(retriever, train, tried, candidates))
        print(f"{candidates} candidates: {len(tried)} fusions scored", flush=True)
    if default not in fusions.values():  # a default off the grid is scored beside it
        fusions["default"] = default
        train_scores["default"] = scored(retriever, train, default)
    name_of = {fusion: name for name, fusion in fusions.items()}
    best = max(train_scores, key=lambda n: train_scores[n]["ndcg@10"])
    top = sorted(train_scores, key=lambda n: -train_scores[n]["ndcg@10"])[:10]
    # reported, not chosen from: the default's weights at each pool size, the train's ten best
    pool = {c: name_of[f] for c in CANDIDATES if (f := replace(default, candidates=c)) in name_of}
    reported = {name_of[default], best, *top, *pool.values()}
    test = {n: scored(retriever, data.claims, fusions[n]) for n in reported}

    def entry(name: str) -> dict[str, Any]:
        """Return one fusion's settings and its scores on both splits."""
        return {"name": name, "fusion": asdict(fusions[name]), "train": train_scores[name],
                "test": test[name]}

    res = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "train_claims": len(train), "test_claims": len(data.claims),
        "default": entry(name_of[default]), "train_best": entry(best),
        "pool": {str(c): entry(n) for c, n in pool.items()},
        "train_top10": {n: entry(n) for n in top},
    }
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: res[k] for k in ("default", "train_best")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
