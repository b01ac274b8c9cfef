"""Locate the shared evaluation data and read it as citeqa Documents."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from index.documents import Document

ROOT = Path(__file__).resolve().parent.parent


def eval_data_dir() -> Path:
    """Return the shared data folder: `CITEQA_EVAL_DATA`, else `../shared/data` beside the repo."""
    return Path(os.environ.get("CITEQA_EVAL_DATA", ROOT.parent / "shared" / "data"))


def scifact_documents(limit: int | None = None) -> Iterator[Document]:
    """Yield SciFact abstracts as documents whose text is the title, a blank line, the abstract."""
    path = eval_data_dir() / "scifact" / "corpus.jsonl"
    with path.open(encoding="utf-8") as lines:
        for line in islice(lines, limit):
            row = json.loads(line)
            text = f"{row['title']}\n\n{row['text']}"
            yield Document(id=str(row["_id"]), title=row["title"], url="", text=text,
                           fingerprint=hashlib.sha256(text.encode()).hexdigest())
