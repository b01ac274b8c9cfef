"""Word rules against the relevance model, side by side on held-out data; `python -m bench.meaning`.

- Verifier: each SciFact test claim, drafted as one sentence citing the passages of its gold
  abstract among those retrieved for it (what a scripted LLM would write), kept or dropped.
- Offline answers: SQuAD sample questions 251-500 through the engine (answered with the gold
  answer on the gold paragraph, or refused).
- Latency: offline answers on the shipped corpus, one client, p50.

Writes bench/results/meaning.json, the "meaning" table of docs/quality.md and the model card's
held-out figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from bench import report
from bench.core import QUESTIONS, percentile
from bench.doc_tables import replace_section
from bench.indexes import ensure_index
from bench.quality import open_engine
from bench.squad import evaluate, split
from evaldata.scifact import Claim as GoldClaim
from evaldata.scifact import judged_first, load_scifact
from evaldata.squad import load_squad
from index.loaders import load_corpus
from service.core.drafts import Claim, Draft
from service.core.engine import Engine
from service.core.extractive import ExtractiveBackend
from service.core.meaning import Judge, MeaningLimits
from service.core.relevance import RelevanceModel
from service.core.retrieval import Passage, Retriever
from service.core.verify import Verifier
from training.card import CARD_FILE, HELD_OUT_END, HELD_OUT_START

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "meaning.json"
CANDIDATE = ROOT / "bench" / "results" / "meaning_candidate.json"
CARD = ROOT / "service" / "models" / "relevance" / CARD_FILE
SEARCH_DEPTH = 20  # retrieved passages searched for the gold abstract's chunks
TARGETS = {
    "SciFact SUPPORT claims kept": ("≥ 60%", "scifact", "SUPPORT"),
    "SciFact CONTRADICT claims kept": ("≤ 15%", "scifact", "CONTRADICT"),
    "SciFact NEI claims kept": ("≤ 10%", "scifact", "NEI"),
    "SQuAD answerable answered right": ("≥ 75%", "squad", "answerable_correct"),
    "SQuAD unanswerable refused": ("≥ 60%", "squad", "no_answer_accuracy"),
    "SQuAD overall": ("≥ 67%", "squad", "overall_accuracy"),
}


def gold_draft(claim: GoldClaim, retriever: Retriever, top_k: int) -> tuple[Draft, list[Passage]]:
    """Return the claim as a draft citing its gold abstract's passages, and the passages."""
    gold = next(iter(claim.evidence or claim.relevant))
    passages = retriever.search(claim.text, top_k)
    deeper = retriever.search(claim.text, SEARCH_DEPTH)
    passages += [p for p in deeper if p.doc_id == gold and p not in passages]
    cited = [n for n, p in enumerate(passages, start=1) if p.doc_id == gold]
    marks = f" [{', '.join(map(str, cited))}]" if cited else ""
    return Draft(claims=[Claim(text=f"{claim.text}{marks}")]), passages


def verifier_kept(engine: Engine, judge: Judge | None, limit: int | None) -> dict[str, Any]:
    """Return the share of SciFact test claims of each label the verifier keeps."""
    retriever = engine.retriever()
    data = load_scifact()
    kept: dict[str, list[bool]] = {"SUPPORT": [], "CONTRADICT": [], "NEI": []}
    missing = 0
    for claim in data.claims[:limit]:
        draft, passages = gold_draft(claim, retriever, engine.config.top_k)
        missing += "[" not in draft.claims[0].text
        verified, _ = Verifier.over(retriever, judge).verify(draft, passages)
        kept[claim.label].append(not verified.abstained)
    return {**{k: round(statistics.fmean(v), 4) if v else 0.0 for k, v in kept.items()},
            "claims": {k: len(v) for k, v in kept.items()}, "gold_not_retrieved": missing}


def answer_latency(engine: Engine, rounds: int) -> float:
    """Return the p50 milliseconds of offline answers to the shipped corpus' questions.

    Each is asked as for the first time: the question's embedding, which a retriever keeps for
    a conversation's follow-ups, is forgotten first.
    """
    seconds = []
    for _ in range(rounds):
        for question in QUESTIONS:
            engine.retriever().embed_query.cache_clear()
            began = time.perf_counter()
            engine.answer(question)
            seconds.append(time.perf_counter() - began)
    return round(1000 * percentile(seconds, 50), 1)


def run(judges: dict[str, Judge | None], scifact_limit: int | None, squad_limit: int | None,
        rounds: int) -> dict[str, Any]:
    """Measure the rules (judge None) and each model on the same indexes in one run."""
    results: dict[str, Any] = {name: {} for name in judges}
    data = load_scifact()
    judged = judged_first(data, len({d for c in data.claims
                                     for d in c.relevant | set(c.evidence)}))
    cfg, indexed = ensure_index("scifact-judged", judged)
    print(indexed.summary(), flush=True)
    engine = open_engine(cfg, ExtractiveBackend())
    for name, j in judges.items():
        results[name]["scifact"] = verifier_kept(engine, j, scifact_limit)
        print(f"scifact verifier, {name}: {results[name]['scifact']}", flush=True)
    documents, questions = load_squad()
    cfg, indexed = ensure_index("squad2", documents)
    print(indexed.summary(), flush=True)
    _, held_out = split(questions)
    for name, j in judges.items():
        engine = open_engine(cfg, ExtractiveBackend(judge=j))
        results[name]["squad"] = evaluate(engine, held_out[:squad_limit])
        print(f"squad held-out, {name}: {results[name]['squad']}", flush=True)
    cfg, indexed = ensure_index("shipped", list(load_corpus(ROOT / "corpus")))
    for name, j in judges.items():
        engine = open_engine(cfg, ExtractiveBackend(judge=j))
        answer_latency(engine, 1)  # warm up
        results[name]["p50_ms"] = answer_latency(engine, rounds)
        print(f"latency, {name}: {results[name]['p50_ms']} ms", flush=True)
    return results


def markdown(results: dict[str, Any]) -> str:
    """Return the side-by-side table with the targets, one column per judge."""
    names = list(results)
    rows = ["| held-out measure | target | " + " | ".join(names) + " |",
            "|---|---|" + "---|" * len(names)]
    for label, (target, part, key) in TARGETS.items():
        rows.append(f"| {label} | {target} | "
                    + " | ".join(report._pct(results[n][part][key]) for n in names) + " |")
    rules_ms = results["rules"]["p50_ms"]
    rows.append("| offline answer p50, shipped corpus, 1 client | ≤ 30 ms | "
                + " | ".join(f"{results[n]['p50_ms']} ms" if n == "rules" else
                             f"{results[n]['p50_ms']} ms ({results[n]['p50_ms'] / rules_ms:.2f}× "
                             "rules)" for n in names) + " |")
    claims = results["model"]["scifact"]["claims"]
    return "\n".join([
        "Measured by `make bench-quality` (`python -m bench.meaning`), every column in one run, "
        "on data never used for training or tuning: SciFact test claims "
        f"({claims['SUPPORT']} SUPPORT, {claims['CONTRADICT']} CONTRADICT, {claims['NEI']} NEI; "
        "each drafted citing its gold abstract's passages, as a scripted LLM would) and SQuAD "
        "sample questions 251–500.", "", *rows])


def main(argv: list[str] | None = None) -> int:
    """Measure, then write the results, the docs table and the model card's figures.

    With `--candidate`, a trained model not shipped (yet) is measured beside the shipped one
    with the limits `bench.tune` chose for it, and only the results file is written.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact-claims", type=int, default=None, metavar="N",
                        help="check only the first N SciFact test claims")
    parser.add_argument("--squad-questions", type=int, default=None, metavar="N",
                        help="ask only the first N held-out SQuAD questions")
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds over the questions")
    parser.add_argument("--candidate", type=Path, metavar="FOLDER",
                        help="a trained model folder to measure beside the shipped one")
    parser.add_argument("--candidate-limits", type=Path, metavar="FILE",
                        help="the limits bench.tune wrote for the candidate")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    judges: dict[str, Judge | None] = {"rules": None, "model": Judge.shipped()}
    if args.candidate:
        tuned = json.loads(args.candidate_limits.read_text(encoding="utf-8"))["limits"]
        judges["candidate"] = Judge(RelevanceModel(args.candidate), MeaningLimits(**tuned))
    results = run(judges, args.scifact_claims, args.squad_questions, args.rounds)
    table = markdown(results)
    print(table)
    if args.candidate:
        report.write_json({**results, "candidate_folder": str(args.candidate)}, CANDIDATE)
        return 0
    report.write_json(results, RESULTS)
    replace_section("meaning", table)
    card = CARD.read_text(encoding="utf-8")
    head, rest = card.split(HELD_OUT_START, 1)
    CARD.write_text(f"{head}{HELD_OUT_START}\n{table}\n{HELD_OUT_END}"
                    f"{rest.split(HELD_OUT_END, 1)[1]}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
