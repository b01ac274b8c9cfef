"""Build binary FEVER and MultiNLI training pairs from DocNLI's release, minus FEVER's test claims.

    python -m training.docnli never FEVER_TEST          # fingerprint FEVER's test claims
    python -m training.docnli build FEVER_DEV MNLI...   # write the two training files

The files are DocNLI's `Data/binary-FEVER-NLI/{dev,test}.txt` and `Data/binary-MNLI/{dev,test}.txt`
(salesforce/DocNLI; see training/data/SOURCES.md): one pair a line, `label<TAB>premise<TAB>
hypothesis`, the label `entailment` or `not_entailment`. `never` adds the fingerprints of every
claim of FEVER's test file to training/data/never_train.json; `build` drops every pair whose
claim is fingerprinted there (186 of FEVER's 8,209 dev pairs repeat a test claim).
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from training.squad_pages import NEVER, fingerprint, never_trained

HERE = Path(__file__).resolve().parent
FEVER = HERE / "data" / "docnli_fever_dev.tsv.gz"
MNLI = HERE / "data" / "docnli_mnli_dev_test.tsv.gz"
BINARY_LABELS = ("entailment", "not_entailment")
FEVER_TEST_GROUP = "fever_test_claims"


def rows(path: Path) -> Iterator[tuple[str, str, str]]:
    """Yield `(label, premise, hypothesis)` of one DocNLI file."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            label, premise, hypothesis = line.rstrip("\n").split("\t")
            if label in BINARY_LABELS:
                yield label, premise, hypothesis


def write(paths: Iterable[Path], out: Path, never: set[str]) -> int:
    """Write the pairs of `paths` whose claim is not in `never` to `out`; return how many."""
    count = 0
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        for path in paths:
            for label, premise, hypothesis in rows(path):
                if fingerprint(hypothesis) not in never and fingerprint(premise) not in never:
                    handle.write(f"{label}\t{premise}\t{hypothesis}\n")
                    count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """Fingerprint FEVER's test claims, or build the training files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    never = sub.add_parser("never", help="fingerprint the claims of FEVER's test file")
    never.add_argument("fever_test", type=Path)
    build = sub.add_parser("build", help="write the FEVER and MultiNLI training files")
    build.add_argument("fever_dev", type=Path)
    build.add_argument("mnli", type=Path, nargs="+", help="binary-MNLI dev.txt and test.txt")
    args = parser.parse_args(argv)
    if args.command == "never":
        groups = json.loads(NEVER.read_text(encoding="utf-8"))
        groups[FEVER_TEST_GROUP] = sorted({fingerprint(h) for _, _, h in rows(args.fever_test)})
        NEVER.write_text(json.dumps(groups, indent=0) + "\n", encoding="utf-8")
        print(f"{len(groups[FEVER_TEST_GROUP])} FEVER test claims fingerprinted in {NEVER}")
        return 0
    held_out = never_trained()
    print(f"{write([args.fever_dev], FEVER, held_out)} pairs written to {FEVER}")
    print(f"{write(args.mnli, MNLI, held_out)} pairs written to {MNLI}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
