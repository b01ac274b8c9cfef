"""Record the service's answers on the shipped corpus and the SQuAD sample, or compare two records.

    python -m bench.answers record before.json    # index into a temporary folder, ask, write
    python -m bench.answers compare before.json after.json

A change to the model runtime or the store must leave these answers byte-identical; `compare`
lists every question whose JSON answer differs, with the fields that differ.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.core import QUESTIONS
from evaldata.squad import load_squad
from index.build import index_corpus, index_documents
from index.store import StoreConfig
from service.core.engine import Engine
from service.settings import Config

ROOT = Path(__file__).resolve().parent.parent


def _engine(cfg: StoreConfig) -> Engine:
    """Load the offline engine over one index."""
    engine = Engine(Config.from_env(data_dir=cfg.data_dir, collection=cfg.collection,
                                    backend="extractive"))
    engine.load()
    engine.retriever()
    return engine


def _ask(engine: Engine, questions: list[str]) -> dict[str, Any]:
    """Return each question's answer and search results as JSON-ready dicts."""
    return {q: {"answer": asdict(engine.answer(q)),
                "search": [asdict(hit) for hit in engine.search(q, 5)]}
            for q in questions}


def record(out: Path, squad_questions: int) -> None:
    """Index both corpora afresh, ask every question, write the answers."""
    with tempfile.TemporaryDirectory(prefix="citeqa-answers-") as tmp:
        shipped = StoreConfig(Path(tmp) / "shipped", "answers")
        index_corpus(ROOT / "corpus", shipped, progress=False)
        examples = json.loads((ROOT / "corpus" / "examples.json").read_text())
        result = {"shipped": _ask(_engine(shipped), sorted(set(QUESTIONS) | set(examples)))}
        documents, questions = load_squad()
        squad = StoreConfig(Path(tmp) / "squad", "answers")
        index_documents(documents, squad, progress=False)
        result["squad"] = _ask(_engine(squad), [q.question for q in questions[:squad_questions]])
    out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Return the JSON paths where `a` and `b` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(a.keys() | b.keys())
                for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def compare(before: Path, after: Path) -> int:
    """Print every answer that differs; return the number of differing questions."""
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    changed = 0
    for corpus in sorted(old):
        for question in sorted(old[corpus]):
            diff = _differences(old[corpus][question], new[corpus].get(question))
            if diff:
                changed += 1
                print(f"[{corpus}] {question}")
                print("\n".join(f"    {d}" for d in diff))
        same = len(old[corpus]) - sum(1 for q in old[corpus]
                                      if _differences(old[corpus][q], new[corpus].get(q)))
        print(f"{corpus}: {same}/{len(old[corpus])} identical")
    return changed


def main(argv: list[str] | None = None) -> int:
    """Record or compare answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--squad-questions", type=int, default=500)
    cmp = sub.add_parser("compare")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.out, args.squad_questions)
        return 0
    return 1 if compare(args.before, args.after) else 0


if __name__ == "__main__":
    sys.exit(main())
