"""Build answer-sentence training questions from SelQA, minus every section the SQuAD sample holds.

    python -m training.selqa build DEV_JSON TEST_JSON   # write training/data/selqa_ass.jsonl.gz

The files are SelQA's answer-sentence selection sets `ass/selqa-ass-dev.json` and
`ass/selqa-ass-test.json` (emorynlp/selqa; see training/data/SOURCES.md): each question comes
with the sentences of one Wikipedia section (`candidates`, untokenised) and the indices of those
that answer it. A question is dropped with its section when one of its sentences lies in a
paragraph of the shared SQuAD sample (held out), and a question fingerprinted in
training/data/never_train.json is dropped too. (In the release at the recorded commit none
does: the only candidates found inside a sample paragraph were fragments such as "." and
" Norway".)
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from evaldata.folder import eval_data_dir
from evaldata.squad import load_squad
from training.squad_pages import fingerprint, never_trained

HERE = Path(__file__).resolve().parent
SELQA = HERE / "data" / "selqa_ass.jsonl.gz"
SENTENCE = 25  # characters without spacing: shorter candidates (".", " Norway") are fragments


class Question(NamedTuple):
    """A question, the sentences of its section, and the indices of those that answer it."""

    question: str
    candidates: list[str]
    answers: list[int]


def questions(paths: Iterable[Path]) -> Iterator[Question]:
    """Yield each question of SelQA's JSON files, or of the built training file."""
    for path in paths:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                rows = [json.loads(line) for line in handle]
        else:
            rows = json.loads(path.read_text(encoding="utf-8"))
        for row in rows:
            yield Question(row["question"], row["candidates"], row["answers"])


def _compact(text: str) -> str:
    """Return a text without spacing, for finding a sentence inside a paragraph."""
    return "".join(text.split())


def write(rows: Iterable[Question], out: Path, held_out: Iterable[str],
          never: set[str]) -> tuple[int, int]:
    """Write the rows none of whose sentences is inside a `held_out` paragraph and whose
    question is not in `never`; return how many were written and how many dropped."""
    paragraphs = [_compact(p) for p in held_out]
    written = dropped = 0
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        for row in rows:
            sentences = [_compact(s) for s in row.candidates]
            if fingerprint(row.question) in never or any(
                    len(s) >= SENTENCE and s in p for s in sentences for p in paragraphs):
                dropped += 1
                continue
            handle.write(json.dumps(row._asdict(), ensure_ascii=False) + "\n")
            written += 1
    return written, dropped


def main(argv: list[str] | None = None) -> int:
    """Build the training file from SelQA's dev and test JSON files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write the SelQA training file")
    build.add_argument("files", type=Path, nargs="+", help="selqa-ass-dev.json, -test.json")
    build.add_argument("--data", type=Path, default=eval_data_dir())
    args = parser.parse_args(argv)
    paragraphs, _ = load_squad(args.data)
    written, dropped = write(questions(args.files), SELQA, (p.text for p in paragraphs),
                             never_trained())
    print(f"{written} questions written to {SELQA}; {dropped} dropped (held-out text)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
