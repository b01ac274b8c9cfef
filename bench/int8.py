"""Do int8 weights do? Compare the export's int8 graph with its fp32 graph on quality.

    python -m bench.int8 [--scifact-docs N]

Indexes SciFact and the SQuAD sample once with the fp32 graph and once with its int8 dynamic
quantization (ONNX Runtime's `quantize_dynamic`, one scale per column), in one run, and
compares dense and hybrid nDCG@10, the held-out SQuAD figures and indexing time. citeqa
serves int8 only if nDCG@10 drops by at most 0.005 and the SQuAD figures by at most 1 point.
Writes bench/results/int8.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.core import RESULTS
from bench.quality import open_engine
from bench.scifact import configurations, evaluate_retrieval
from bench.squad import evaluate, split
from evaldata.scifact import judged_first, load_scifact
from evaldata.squad import load_squad
from index import model_export
from index.build import index_documents
from index.store import StoreConfig
from service.core.extractive import ExtractiveBackend


def measure(workdir: Path, scifact_docs: int | None, graph: str) -> dict[str, Any]:
    """Index both data sets under `workdir` with one graph of the export and score them."""
    model_export.ensure(workdir / "scifact", serve=graph)
    model_export.ensure(workdir / "squad", serve=graph)
    data = load_scifact()
    scifact = StoreConfig(workdir / "scifact", "int8scifact")
    began = time.perf_counter()
    index_documents(judged_first(data, scifact_docs), scifact, progress=False)
    seconds = time.perf_counter() - began
    engine = open_engine(scifact, ExtractiveBackend())
    retriever = engine.retriever()
    ranking = {name: evaluate_retrieval(retriever, data.claims, fusion)["ndcg@10"]
               for name, fusion in configurations(retriever.fusion).items() if name != "bm25"}
    documents, questions = load_squad()
    squad = StoreConfig(workdir / "squad", "int8squad")
    index_documents(documents, squad, progress=False)
    held_out = evaluate(open_engine(squad, ExtractiveBackend()), split(questions)[1])
    return {"scifact_ndcg@10": ranking, "scifact_index_seconds": round(seconds, 1),
            "squad_held_out": held_out}


def main(argv: list[str] | None = None) -> int:
    """Measure fp32 and int8 and write the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact-docs", type=int, default=None, metavar="N",
                        help="index only the judged abstracts and the first others, N in all")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="citeqa-int8-") as tmp:
        fp32 = measure(Path(tmp) / "fp32", args.scifact_docs, model_export.FP32_FILE)
        int8 = measure(Path(tmp) / "int8", args.scifact_docs, model_export.INT8_FILE)
    drops = {f"scifact_{k}": round(fp32["scifact_ndcg@10"][k] - int8["scifact_ndcg@10"][k], 4)
             for k in fp32["scifact_ndcg@10"]}
    for key in ("answerable_correct", "no_answer_accuracy", "overall_accuracy"):
        drops[f"squad_{key}_points"] = round(100 * (fp32["squad_held_out"][key]
                                                    - int8["squad_held_out"][key]), 1)
    ships = (max(v for k, v in drops.items() if k.startswith("scifact")) <= 0.005
             and max(v for k, v in drops.items() if k.startswith("squad")) <= 1.0)
    result = {"scifact_documents": args.scifact_docs or len(load_scifact().documents),
              "fp32": fp32, "int8": int8, "drops": drops, "int8_meets_the_bar": ships,
              "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "int8.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
