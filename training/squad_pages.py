"""Build training paragraphs from SQuAD's dev pages (SQuAD-explorer), minus every held-out one.

    python -m training.squad_pages never          # fingerprint what must never be trained on
    python -m training.squad_pages build DIR...   # parse the pages, write the training file

`never` reads the shared evaluation data (SQuAD sample paragraphs and questions, SciFact test
claims) and writes only their fingerprints to training/data/never_train.json, so the
repository and its tests can check a training set without the evaluation data beside it.
`build` reads the explorer's article pages (`explore/v2.0/dev/*.html`, `explore/1.1/dev/*.html`
of rajpurkar/SQuAD-explorer; see training/data/SOURCES.md) and drops every paragraph, with all
its questions, whose text is fingerprinted there, and every fingerprinted question.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from evaldata.folder import eval_data_dir
from evaldata.scifact import held_out_claims
from evaldata.squad import FIRST_HELD_OUT, load_squad
from index.chunking import sentence_spans

HERE = Path(__file__).resolve().parent
NEVER = HERE / "data" / "never_train.json"
PAGES = HERE / "data" / "squad_dev_pages.jsonl.gz"


def fingerprint(text: str) -> str:
    """Return a short stable digest of a text, blind to spacing."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


@dataclass
class Question:
    """A question of a paragraph, its answers, and whether the paragraph answers it at all."""

    question: str
    answers: list[str] = field(default_factory=list)
    impossible: bool = False


@dataclass
class Paragraph:
    """A paragraph of an article and its questions."""

    title: str
    context: str
    questions: list[Question] = field(default_factory=list)


class _Page(HTMLParser):
    """Collect the paragraphs of one explorer page: `<pre>` texts, each followed by its QAs."""

    def __init__(self, title: str) -> None:
        """Start an empty page named `title`."""
        super().__init__()
        self.title = title
        self.paragraphs: list[Paragraph] = []
        self._field = ""  # the element whose text is being read: pre, question, answer
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Begin reading the text of a paragraph, a question or an answer."""
        kind = dict(attrs).get("class") or ""
        if tag == "pre":
            self._field = "pre"
        elif tag == "strong" and kind == "question":
            self._field = "question"
        elif tag == "span" and kind in ("answer", "no-answer"):
            self._field = kind
        self._text = []

    def handle_data(self, data: str) -> None:
        """Keep the text of the element being read."""
        if self._field:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        """Store the element just read where it belongs."""
        if not self._field or tag not in ("pre", "strong", "span"):
            return
        text, field_, self._field = "".join(self._text).strip(), self._field, ""
        if field_ == "pre":
            self.paragraphs.append(Paragraph(self.title, text))
        elif field_ == "question" and self.paragraphs:
            self.paragraphs[-1].questions.append(Question(text))
        elif field_ == "answer" and self.paragraphs and self.paragraphs[-1].questions:
            answers = self.paragraphs[-1].questions[-1].answers
            if text not in answers:
                answers.append(text)
        elif field_ == "no-answer" and self.paragraphs and self.paragraphs[-1].questions:
            self.paragraphs[-1].questions[-1].impossible = True


def parse_page(html: str, title: str) -> list[Paragraph]:
    """Return the paragraphs of one explorer article page, with their questions."""
    page = _Page(title)
    page.feed(html)
    page.close()
    return page.paragraphs


def kept(paragraphs: Iterable[Paragraph], never: set[str]) -> Iterator[Paragraph]:
    """Yield the paragraphs not fingerprinted in `never`, without fingerprinted questions."""
    for paragraph in paragraphs:
        if fingerprint(paragraph.context) in never:
            continue
        questions = [q for q in paragraph.questions if fingerprint(q.question) not in never]
        yield Paragraph(paragraph.title, paragraph.context, questions)


def never_trained() -> set[str]:
    """Return the committed fingerprints of every text training must never read."""
    groups: dict[str, list[str]] = json.loads(NEVER.read_text(encoding="utf-8"))
    return {f for prints in groups.values() for f in prints}


def held_out_fingerprints(folder: Path) -> dict[str, list[str]]:
    """Return the fingerprints of the evaluation texts in the shared data `folder`."""
    paragraphs, questions = load_squad(folder)
    return {
        "squad_sample_paragraphs": sorted({fingerprint(p.text) for p in paragraphs}),
        # what a set of single sentences (SelQA) is checked against
        "squad_sample_sentences": sorted({fingerprint(p.text[s.start:s.end]) for p in paragraphs
                                          for s in sentence_spans(p.text)}),
        "squad_sample_held_out_questions": sorted(fingerprint(q.question) for q in
                                                  questions[FIRST_HELD_OUT - 1:]),
        "scifact_test_claims": sorted({fingerprint(c) for c in held_out_claims(folder)}),
    }


def read_pages(folders: Iterable[Path]) -> list[Paragraph]:
    """Return the paragraphs of every article page in `folders` (index pages skipped)."""
    found: list[Paragraph] = []
    for folder in folders:
        for page in sorted(folder.glob("*.html")):
            if page.stem != "index":
                found += parse_page(page.read_text(encoding="utf-8"), page.stem)
    return found


def write(paragraphs: Iterable[Paragraph], out: Path) -> int:
    """Write one paragraph per line, each text once (1.1 repeats 2.0's); return how many."""
    seen: set[str] = set()
    count = 0
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        for paragraph in paragraphs:
            if fingerprint(paragraph.context) in seen:
                continue
            seen.add(fingerprint(paragraph.context))
            handle.write(json.dumps(asdict(paragraph), ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """Fingerprint the held-out texts, or build the training paragraphs from the pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    never = sub.add_parser("never", help="fingerprint the held-out texts of the shared data")
    never.add_argument("--data", type=Path, default=eval_data_dir())
    build = sub.add_parser("build", help="parse explorer pages into the training file")
    build.add_argument("folders", type=Path, nargs="+", help="folders of article pages")
    build.add_argument("--out", type=Path, default=PAGES)
    args = parser.parse_args(argv)
    if args.command == "never":
        groups = json.loads(NEVER.read_text(encoding="utf-8"))  # others' groups stay
        groups.update(held_out_fingerprints(args.data))
        NEVER.write_text(json.dumps(groups, indent=0) + "\n", encoding="utf-8")
        print(f"wrote {NEVER}")
        return 0
    count = write(kept(read_pages(args.folders), never_trained()), args.out)
    print(f"wrote {count} paragraphs to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
