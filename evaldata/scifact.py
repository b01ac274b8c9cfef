"""SciFact abstracts, test claims, relevance judgements and gold evidence sentences."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from evaldata.folder import eval_data_dir
from index.documents import Document, Span


@dataclass(frozen=True)
class Claim:
    """A test claim, the documents judged relevant and the gold evidence sentence ids."""

    id: str
    text: str
    label: str
    relevant: frozenset[str]
    evidence: dict[str, frozenset[int]]


@dataclass
class SciFact:
    """The corpus as documents, each abstract sentence's span, and the test claims."""

    documents: list[Document]
    sentences: dict[str, list[Span]]
    claims: list[Claim]


def scifact_documents(limit: int | None = None,
                      folder: Path | None = None) -> Iterator[Document]:
    """Yield SciFact abstracts as documents whose text is the title, a blank line, the abstract."""
    path = (folder or eval_data_dir()) / "scifact" / "corpus.jsonl"
    with path.open(encoding="utf-8") as lines:
        for line in islice(lines, limit):
            row = json.loads(line)
            text = f"{row['title']}\n\n{row['text']}"
            yield Document(id=str(row["_id"]), title=row["title"], url="", text=text,
                           fingerprint=hashlib.sha256(text.encode()).hexdigest())


def sentence_spans(text: str, sentences: list[str]) -> list[Span]:
    """Return where each listed sentence stands in `text`, in order."""
    spans: list[Span] = []
    cursor = 0
    for sentence in sentences:
        found = text.find(sentence, cursor)
        spans.append(Span(found, found + len(sentence)) if found >= 0 else Span(-1, -1))
        cursor = found + len(sentence) if found >= 0 else cursor
    return spans


def _qrels(path: Path) -> dict[str, set[str]]:
    """Return the relevant document ids of each query."""
    qrels: dict[str, set[str]] = defaultdict(set)
    with path.open(encoding="utf-8") as handle:
        for query_id, doc_id, score in csv.reader(handle, delimiter="\t"):
            if score.isdigit() and int(score) > 0:
                qrels[query_id].add(doc_id)
    return qrels


def judged_first(data: SciFact, limit: int | None = None) -> list[Document]:
    """Return the abstracts judged for a test claim, then the rest in file order, up to `limit`.

    Indexing in this order means a partial index always holds every judged abstract.
    """
    judged = {d for c in data.claims for d in c.relevant | set(c.evidence)}
    ordered = ([d for d in data.documents if d.id in judged]
               + [d for d in data.documents if d.id not in judged])
    return ordered[:limit]


def load_scifact(folder: Path | None = None) -> SciFact:
    """Load the abstracts, their sentences and the 300 test claims."""
    base = (folder or eval_data_dir()) / "scifact"
    documents = list(scifact_documents(folder=base.parent))
    texts = {d.id: d.text for d in documents}
    sentences: dict[str, list[Span]] = {}
    with (base / "corpus_sentences.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            sentences[str(row["_id"])] = sentence_spans(texts[str(row["_id"])], row["sentences"])
    claims = _claims(base / "claims_dev_with_evidence.jsonl", _qrels(base / "qrels" / "test.tsv"))
    return SciFact(documents, sentences, claims)


def _claims(path: Path, qrels: dict[str, set[str]]) -> list[Claim]:
    """Return the claims of one split with their judged documents and evidence sentences."""
    claims: list[Claim] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            evidence = {str(d): frozenset(int(i) for i in e["sentence_ids"])
                        for d, e in row["evidence"].items()}
            claims.append(Claim(str(row["id"]), row["claim"], row["label"],
                                frozenset(qrels.get(str(row["id"]), set())), evidence))
    return claims


def held_out_claims(folder: Path | None = None) -> set[str]:
    """Return the text of every test claim: what training and tuning must never read."""
    base = (folder or eval_data_dir()) / "scifact"
    return {c.text for c in _claims(base / "claims_dev_with_evidence.jsonl", {})}


def load_train_claims(folder: Path | None = None) -> list[Claim]:
    """Return the SciFact train claims that have judged documents, minus any test claim."""
    base = (folder or eval_data_dir()) / "scifact"
    test = held_out_claims(folder)
    train = _claims(base / "claims_train_with_evidence.jsonl", _qrels(base / "qrels" / "train.tsv"))
    return [c for c in train if c.relevant and c.text not in test]
