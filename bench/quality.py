"""Measure retrieval, evidence and answer quality on public data; `python -m bench.quality`.

Indexes BEIR SciFact and the SQuAD 2.0 sample through the project's own pipeline (cached in
bench/.cache/), asks through the project's own retrieval and answer code, and writes
bench/results/quality.json, docs/quality.png and the Quality section of docs/quality.md.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import report
from bench.doc_tables import replace_section
from bench.indexes import ensure_index
from bench.scifact import (
    configurations,
    evaluate_evidence,
    evaluate_retrieval,
    evaluate_variants,
    variants,
)
from bench.squad import evaluate, split, tune
from evaldata.folder import eval_data_dir
from evaldata.scifact import judged_first, load_scifact
from evaldata.squad import load_squad
from index.store import StoreConfig
from service.core.engine import Engine
from service.core.extractive import Abstention, ExtractiveBackend
from service.settings import Config

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "quality.json"
PLOT = ROOT / "docs" / "quality.png"


def open_engine(cfg: StoreConfig, backend: ExtractiveBackend) -> Engine:
    """Load an engine over one benchmark index with the offline backend."""
    engine = Engine(Config.from_env(data_dir=cfg.data_dir, collection=cfg.collection,
                                    backend="extractive"), backend)
    engine.load()
    engine.retriever()  # raises NotReady with the reason if the index did not load
    return engine


def scifact(limit: int | None) -> dict[str, Any]:
    """Rank SciFact abstracts three ways and score the answers' evidence citations."""
    data = load_scifact()
    cfg, indexed = ensure_index("scifact", judged_first(data, limit))
    print(indexed.summary(), flush=True)
    engine = open_engine(cfg, ExtractiveBackend())
    retriever = engine.retriever()
    retrieval = {}
    for name, fusion in configurations(retriever.fusion).items():
        retrieval[name] = evaluate_retrieval(retriever, data.claims, fusion)
        print(f"scifact {name}: {retrieval[name]}", flush=True)
    fusions = evaluate_variants(retriever, data.claims, variants(retriever.fusion),
                                retriever.fusion.candidates)
    print(f"scifact fusions: {fusions}", flush=True)
    evidence = evaluate_evidence(engine, data)
    print(f"scifact evidence: {evidence}", flush=True)
    return {"documents": len(judged_first(data, limit)), "corpus_documents": len(data.documents),
            "chunks": len(retriever),
            "fusion": asdict(retriever.fusion), "retrieval": retrieval, "fusions": fusions,
            "evidence": evidence}


def squad(grid_search: bool) -> dict[str, Any]:
    """Tune abstention on the first half of the SQuAD sample and report on the second."""
    documents, questions = load_squad()
    cfg, indexed = ensure_index("squad2", documents)
    print(indexed.summary(), flush=True)
    engine = open_engine(cfg, ExtractiveBackend())
    tune_half, held_out = split(questions)
    abstention = Abstention()
    if grid_search:
        abstention, score = tune(engine, tune_half, engine.config.top_k)
        print(f"squad tuned: {abstention} (draft accuracy {score:.3f})", flush=True)
    default = evaluate(engine, held_out)
    engine.backend = ExtractiveBackend(abstention)
    result = {"tuned_on": f"the first {len(tune_half)} questions (file order)",
              "abstention": asdict(abstention), "default_abstention": asdict(Abstention()),
              "tune": evaluate(engine, tune_half), "held_out": evaluate(engine, held_out),
              "held_out_default": default}
    print(f"squad: {result}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run every quality measurement and write the results, docs section and plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-tune", action="store_true",
                        help="use the default abstention settings instead of searching")
    parser.add_argument("--scifact-docs", type=int, default=None, metavar="N",
                        help="index only the judged abstracts and the first others, N in all "
                             "(a quicker, easier sub-corpus; docs/quality.md then says so)")
    args = parser.parse_args(argv)
    baselines = json.loads((eval_data_dir() / "refs" / "baselines.json").read_text())
    results = {"squad2": squad(grid_search=not args.no_tune),
               "scifact": scifact(args.scifact_docs)}
    report.write_json(results, RESULTS)
    report.plot(results, baselines, PLOT)
    plot = str(PLOT.relative_to(ROOT / "docs"))  # the page sits beside the plot
    replace_section("quality", report.markdown(results, baselines, plot))
    print(f"wrote {RESULTS.relative_to(ROOT)}, {PLOT.relative_to(ROOT)} and docs/quality.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
