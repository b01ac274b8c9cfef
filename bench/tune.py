"""Tune the meaning limits on training data the model never saw; `python -m bench.tune`.

The verifier's limits are searched on the fifth of SciFact train claims kept out of training,
the offline backend's on SQuAD sample questions 176-250. Writes the best limits and their
scores to bench/results/meaning_tuning.json; service/core/meaning.py holds them as defaults.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.indexes import ensure_index
from bench.metrics import mean
from bench.squad import draft_outcome
from evaldata.folder import eval_data_dir
from evaldata.squad import load_squad
from index import model_export
from index.chunking import sentence_spans
from service.core.extractive import ExtractiveBackend
from service.core.meaning import LIMITS, Judge, MeaningLimits
from service.core.relevance import MODEL_DIR, Judgement, RelevanceModel
from service.core.retrieval import Passage
from service.core.verify import Verifier
from training.data import SQUAD_TUNE_QUESTIONS, abstracts, scifact_claims

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "meaning_tuning.json"
VERIFIER_GRID = {"support": (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                 "contradiction": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9)}
ANSWER_GRID = {"rerank": (3, 5), "rerank_accepted": (1, 3), "weight": (0.0, 1.0, 3.0),
               "confirm": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5),
               "answer": (0.15, 0.2, 0.25, 0.3, 0.5, 0.7, 0.9, 1.01),
               # highest first: of floors that tie, the first found refuses most off-topic answers
               "similarity": (0.5, 0.4, 0.3, 0.2, 0.0)}


@dataclass
class MemoJudge(Judge):
    """A judge that asks the model about each pair once, however many limits are tried."""

    memo: dict[tuple[str, str], Judgement] = field(default_factory=dict)

    def judge(self, first: str, sentences: list[str]) -> list[Judgement]:
        """Return the remembered judgements, asking the model only about new pairs."""
        todo = [s for s in dict.fromkeys(sentences) if (first, s) not in self.memo]
        for s, j in zip(todo, self.model.judge([(first, s) for s in todo]), strict=True):
            self.memo[(first, s)] = j
        return [self.memo[(first, s)] for s in sentences]


def grid(base: MeaningLimits, values: dict[str, tuple[Any, ...]]) -> Iterator[MeaningLimits]:
    """Yield the base limits with every combination of `values`."""
    for combo in itertools.product(*values.values()):
        yield replace(base, **dict(zip(values, combo, strict=True)))


def abstract_passage(doc_id: str, sentences: list[str]) -> Passage:
    """Return a SciFact abstract as one passage of its sentences."""
    text = " ".join(sentences)
    return Passage(doc_id, doc_id, "", "", "", text, 0, len(text), sentence_spans(text))


def tune_verifier(folder: Path, judge: MemoJudge) -> dict[str, Any]:
    """Return the verifier limits that keep most supported claims within the target rates."""
    sentences = abstracts(folder)
    cases = [(r["claim"], r["label"], abstract_passage(str(d), sentences.get(str(d), [])))
             for r in scifact_claims(folder, tuning=True) for d in r["cited_doc_ids"][:1]]
    embed = model_export.embedder(model_export.cached_export(model_export.source_path())).embed
    vectors = Verifier(idf=lambda _t: 1.0, embed=embed)._vectors  # shared: embed each text once
    best: tuple[float, MeaningLimits, dict[str, float]] | None = None
    for limits in grid(judge.limits, VERIFIER_GRID):
        judge.limits = limits
        verifier = Verifier(idf=lambda _t: 1.0, embed=embed, judge=judge, _vectors=vectors)
        kept: dict[str, list[bool]] = {"SUPPORT": [], "CONTRADICT": [], "NEI": []}
        for claim, label, passage in cases:
            kept[label].append(verifier.support(claim, passage) is not None)
        rates = {k: round(mean(v), 4) for k, v in kept.items()}
        # the targets: keep >= 60% supported, <= 20% contradicted, <= 10% unsupported claims
        score = rates["SUPPORT"] - 2 * max(0.0, rates["CONTRADICT"] - 0.15) \
            - 2 * max(0.0, rates["NEI"] - 0.08) - 0.25 * (rates["CONTRADICT"] + rates["NEI"])
        if best is None or score > best[0]:
            best = (score, limits, rates)
    assert best is not None
    judge.limits = best[1]
    return {"claims": len(cases), "kept": best[2], "support": best[1].support,
            "contradiction": best[1].contradiction}


def tune_answers(judge: MemoJudge) -> dict[str, Any]:
    """Return the answer limits with the best accuracy that answer as often as the rules."""
    documents, questions = load_squad()
    cfg, _ = ensure_index("squad2", documents)
    from bench.quality import open_engine

    engine = open_engine(cfg, ExtractiveBackend())
    retriever = engine.retriever()
    chosen = [q for n, q in enumerate(questions, start=1) if n in SQUAD_TUNE_QUESTIONS]
    prepared = []
    for q in chosen:
        question = engine.backend.question(q.question, [])
        prepared.append((q, question, retriever.search(question.query, engine.config.top_k)))

    def outcomes(backend: ExtractiveBackend) -> dict[str, float]:
        results = [draft_outcome(q, backend, question, passages, retriever)
                   for q, question, passages in prepared]
        return {"answerable": mean(o.correct for o in results if o.answerable),
                "refused": mean(o.correct for o in results if not o.answerable),
                "overall": mean(o.correct for o in results)}

    rules = outcomes(ExtractiveBackend())
    best: tuple[float, MeaningLimits, dict[str, float]] | None = None
    for limits in grid(judge.limits, ANSWER_GRID):
        judge.limits = limits
        got = outcomes(ExtractiveBackend(judge=judge))
        score = got["overall"] - 2 * max(0.0, rules["answerable"] - got["answerable"])
        if best is None or score > best[0]:
            best = (score, limits, got)
    assert best is not None
    judge.limits = best[1]
    return {"questions": len(prepared), "rules": rules, "model": best[2],
            **{k: getattr(best[1], k) for k in ANSWER_GRID}}


def main(argv: list[str] | None = None) -> int:
    """Search both sets of limits and write them with their tuning scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=eval_data_dir())
    parser.add_argument("--model", type=Path, default=MODEL_DIR,
                        help="folder of the relevance model to tune for (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the limits")
    args = parser.parse_args(argv)
    judge = MemoJudge(RelevanceModel(args.model), LIMITS)
    verifier = tune_verifier(args.data, judge)
    print(f"verifier: {verifier}", flush=True)
    answers = tune_answers(judge)
    print(f"answers: {answers}", flush=True)
    args.out.write_text(json.dumps({"verifier": verifier, "answers": answers,
                                    "limits": asdict(judge.limits)}, indent=2) + "\n",
                        encoding="utf-8")
    print(f"limits: {judge.limits}\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
