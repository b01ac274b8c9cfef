"""Write the quality results: JSON, a Markdown section of docs/quality.md and a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

GOALS = {"hybrid_ndcg@10": 0.70, "answerable_correct": 0.85, "no_answer_accuracy": 0.70}
PUBLISHED = (  # (row label, key in refs/baselines.json)
    ("BM25, BEIR paper (multifield)", "BM25_BEIR_paper_multifield"),
    ("BM25, Anserini flat", "BM25_anserini_flat"),
    ("BM25s (MTEB baseline)", "BM25s_MTEB_baseline"),
    ("all-MiniLM-L6-v2 (MTEB)", "all-MiniLM-L6-v2_MTEB"),
)


def _num(value: Any) -> str:
    """Format a figure for the table, or a dash when there is none."""
    return f"{value:.3f}" if isinstance(value, float) else ("–" if value is None else str(value))


def _pct(value: float) -> str:
    """Format a share as a percentage."""
    return f"{100 * value:.1f}%"


def retrieval_rows(results: dict[str, Any], baselines: dict[str, Any]) -> list[str]:
    """Return the SciFact retrieval table: published figures, then this project's."""
    rows = ["| SciFact retrieval (BEIR test, 300 claims) | nDCG@10 | recall@10 | recall@100 "
            "| ms/query |", "|---|---|---|---|---|"]
    published = baselines.get("scifact_beir_test_ndcg@10", {})
    for label, key in PUBLISHED:
        ref = published.get(key, {})
        rows.append(f"| published: {label} | {_num(ref.get('value'))} | "
                    f"{_num(ref.get('recall@10'))} | {_num(ref.get('recall@100'))} | – |")
    labels = {"dense": "citeqa dense only (MiniLM, chunks → max)",
              "bm25": "citeqa BM25 only (bm25s, chunks → max)",
              "hybrid": "**citeqa hybrid (default)**"}
    for name, label in labels.items():
        r = results[name]
        rows.append(f"| {label} | {r['ndcg@10']:.3f} | {r['recall@10']:.3f} | "
                    f"{r['recall@100']:.3f} | {r['ms_per_query']:.0f} |")
    rows.append(f"| goal: hybrid | ≥ {GOALS['hybrid_ndcg@10']:.2f} | | | |")
    return rows


def fusion_rows(fusions: dict[str, dict[str, float]]) -> list[str]:
    """Return the table of other fusions of the same dense and BM25 rankings."""
    rows = ["| hybrid fusion variant (same rankings) | nDCG@10 | recall@10 | recall@100 |",
            "|---|---|---|---|"]
    rows += [f"| {name} | {r['ndcg@10']:.3f} | {r['recall@10']:.3f} | {r['recall@100']:.3f} |"
             for name, r in fusions.items()]
    return rows


def evidence_rows(ev: dict[str, Any]) -> list[str]:
    """Return the SciFact evidence-citation table."""
    return [
        "| SciFact evidence (answer to each claim) | value |", "|---|---|",
        f"| top citation on a gold evidence sentence ({ev['claims_with_evidence']} claims) | "
        f"{_pct(ev['top_citation_on_gold_sentence'])} |",
        f"| sentence-level citation precision / recall / F1 | {ev['sentence_precision']:.3f} / "
        f"{ev['sentence_recall']:.3f} / {ev['sentence_f1']:.3f} |",
        f"| abstained although evidence exists | {_pct(ev['abstained_with_evidence'])} |",
        f"| abstained on NEI claims ({ev['nei_claims']}) | {_pct(ev['nei_abstained'])} |",
        f"| ms per answer | {ev['ms_per_query']:.0f} |",
    ]


def squad_rows(squad: dict[str, Any]) -> list[str]:
    """Return the SQuAD 2.0 table for the tuning and held-out halves beside the goals."""
    columns = (squad["tune"], squad["held_out"], squad["held_out_default"])
    rows = (("answerable: contains a gold answer and cites its paragraph", "answerable_correct"),
            ("answerable: contains a gold answer", "answerable_contains_gold"),
            ("unanswerable: abstained (no-answer accuracy)", "no_answer_accuracy"),
            ("overall accuracy", "overall_accuracy"))
    lines = ["| SQuAD 2.0 sample (500 questions) | tuned, tuning half | tuned, held-out half "
             "| `balanced`, held-out half | goal (held-out) |", "|---|---|---|---|---|"]
    for label, key in rows:
        goal = f"≥ {_pct(GOALS[key])}" if key in GOALS else ""
        lines.append(f"| {label} | " + " | ".join(_pct(c[key]) for c in columns) + f" | {goal} |")
    lines.append("| ms per answer | " + " | ".join(f"{c['ms_per_query']:.0f}" for c in columns)
                 + " | |")
    return lines


def _scope(sf: dict[str, Any]) -> list[str]:
    """Return a warning when SciFact was measured on a sub-corpus, not the published one."""
    if sf["documents"] >= sf["corpus_documents"]:
        return []
    return [f"**Sub-corpus:** these SciFact figures rank {sf['documents']:,} of the "
            f"{sf['corpus_documents']:,} abstracts (every judged abstract plus the first others "
            "in file order), an easier task than the published full-corpus figures beside them; "
            "`python -m bench.quality` without `--scifact-docs` measures the full corpus.", ""]


def markdown(results: dict[str, Any], baselines: dict[str, Any], plot: str) -> str:
    """Return the Quality section body of docs/quality.md."""
    sf, squad = results["scifact"], results["squad2"]
    lines = [
        "Measured by `make bench-quality` (`python -m bench.quality`) on public data in "
        "`../shared/data` (override: `CITEQA_EVAL_DATA`), through the project's own indexing, "
        "retrieval and answer code; results in `bench/results/quality.json`. Documents are "
        "indexed as `title + text` in chunks; a document ranks by its best chunk. Latency is "
        "per query on this machine (2 shared cores).", "",
        *_scope(sf),
        *retrieval_rows(sf["retrieval"], baselines), "",
        f"Fusion used by default: `{sf['fusion']}`.", "",
        *fusion_rows(sf["fusions"]), "",
        *evidence_rows(sf["evidence"]), "",
        *squad_rows(squad), "",
        f"Abstention tuned on {squad['tuned_on']}; settings chosen: `{squad['abstention']}`. "
        "They are the `strict` profile (`CITEQA_ABSTENTION=strict`); the default stays "
        "`balanced`, which on the shipped corpus answers paraphrased questions (\"How much money "
        "is allocated for redeployment?\", \"What did Canada agree with Jordan?\") that `strict` "
        "refuses. Every column here decides by words; answering by meaning, the default "
        "(`CITEQA_MEANING`), is measured beside them in the next table.",
        "", f"![quality]({plot})",
    ]
    return "\n".join(lines)


def plot(results: dict[str, Any], baselines: dict[str, Any], path: Path) -> None:
    """Draw nDCG@10 against the published figures, and SQuAD held-out shares against goals."""
    published = baselines.get("scifact_beir_test_ndcg@10", {})
    retrieval = results["scifact"]["retrieval"]
    names = [label for label, _ in PUBLISHED] + ["citeqa dense", "citeqa BM25", "citeqa hybrid"]
    values = [float(published.get(k, {}).get("value", 0.0)) for _, k in PUBLISHED]
    values += [retrieval[n]["ndcg@10"] for n in ("dense", "bm25", "hybrid")]
    colours = ["#9aa5b1"] * len(PUBLISHED) + ["#2f6db5"] * 3
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.barh(names, values, color=colours)
    left.axvline(GOALS["hybrid_ndcg@10"], color="#c0392b", linestyle="--", label="goal")
    left.set_xlim(0.5, max(0.8, max(values) + 0.03))
    left.set_xlabel("SciFact nDCG@10")
    left.invert_yaxis()
    left.legend(loc="lower right")
    held = results["squad2"]["held_out"]
    bars = {"answerable\ncorrect": held["answerable_correct"],
            "no-answer\naccuracy": held["no_answer_accuracy"],
            "overall": held["overall_accuracy"]}
    right.bar(list(bars), list(bars.values()), color="#2f6db5")
    for x, goal in ((0, GOALS["answerable_correct"]), (1, GOALS["no_answer_accuracy"])):
        right.hlines(goal, x - 0.4, x + 0.4, color="#c0392b", linestyle="--")
    right.set_ylim(0, 1)
    right.set_title("SQuAD 2.0 sample, held-out half (dashes: goals)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_json(results: dict[str, Any], path: Path) -> None:
    """Write the results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
