"""The SQuAD 2.0 sample: paragraphs as documents and questions with gold answers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from evaldata.folder import eval_data_dir
from index.documents import Document

# Sample questions 1-250 (file order) may train and tune; from this one on they are held out.
FIRST_HELD_OUT = 251


@dataclass(frozen=True)
class SquadQuestion:
    """A question, the paragraph it was written on, and its gold answers (none: unanswerable)."""

    id: str
    question: str
    passage_id: str
    answers: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        """Return whether the paragraph holds an answer."""
        return bool(self.answers)


def load_squad(folder: Path | None = None) -> tuple[list[Document], list[SquadQuestion]]:
    """Load the 411 paragraphs as untitled documents and the 500 questions in file order."""
    base = (folder or eval_data_dir()) / "squad2"
    documents: list[Document] = []
    with (base / "passages.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            documents.append(Document(id=row["_id"], title="", url="", text=row["text"],
                                      fingerprint=hashlib.sha256(row["text"].encode())
                                      .hexdigest()))
    questions: list[SquadQuestion] = []
    with (base / "squad2_dev_sample500.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            questions.append(SquadQuestion(row["id"], row["question"], row["passage_id"],
                                           tuple(row["answers"])))
    return documents, questions
