"""Access-filter benchmark: retrieval for a caller who may read part of a collection, against
the same search with no filter, in one process over one index.

Run with `make bench-access`; writes bench/results/access.json and prints the ratios. Half of
the synthetic documents carry one of three groups, so a public caller reads about half of the
chunks and a group member about two thirds.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from index.access import EVERYTHING, PUBLIC, Access
from index.build import index_documents
from index.documents import Document
from index.loaders import load_corpus
from index.store import StoreConfig
from service.core.retrieval import Retriever

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORDS = ("harbour", "lease", "reactor", "audit", "payroll", "orchard", "uplink", "vault", "memo",
         "policy", "staff", "leave", "budget")
CALLERS = {"no filter": EVERYTHING, "public only": PUBLIC,
           "one group": Access(frozenset({"alpha"}))}


def documents(rng: random.Random, count: int) -> list[Document]:
    """Return the shipped corpus plus `count` synthetic memos, every other one restricted."""
    docs = list(load_corpus(ROOT / "corpus"))
    for i in range(count):
        groups = (rng.choice(["alpha", "beta", "gamma"]),) if i % 2 else ()
        text = "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(25)) + "."
                           for _ in range(6))
        docs.append(Document(f"memo-{i}", f"Memo {i}", "", text, f"memo-{i}", groups))
    return docs


def main(count: int = 300, queries: int = 60) -> dict[str, object]:
    """Time searches per caller; return and write the medians and their ratios."""
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as folder:
        cfg = StoreConfig(Path(folder), "bench")
        index_documents(documents(rng, count), cfg, progress=False)
        retriever = Retriever.open(cfg)
        asked = [" ".join(rng.choice(WORDS) for _ in range(5)) for _ in range(queries)]
        for query in asked[:5]:  # warm up every path
            for access in CALLERS.values():
                retriever.search(query, 5, access=access)
        times: dict[str, list[float]] = {name: [] for name in CALLERS}
        for query in asked:  # interleaved, so machine noise hits every caller alike
            for name, access in CALLERS.items():
                began = time.perf_counter()
                retriever.search(query, 5, access=access)
                times[name].append(time.perf_counter() - began)
        chunks = len(retriever)
    base = statistics.median(times["no filter"])
    result: dict[str, object] = {
        "chunks": chunks, "queries": queries, "baseline_ms": round(base * 1000, 2),
        "ratio_to_no_filter": {name: round(statistics.median(t) / base, 2)
                               for name, t in times.items()}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "access.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
