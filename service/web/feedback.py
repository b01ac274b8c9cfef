"""Thumbs up/down on answers, kept in SQLite and exported as JSONL eval cases.

    POST /api/v1/feedback {"question", "history", "answer": <AnswerResponse>, "rating": "up",
                           "comment": "…"}  → {"id": 1}
    citeqa feedback export > cases.jsonl
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from flask import Response, jsonify

from index.collections import DEFAULT
from service.http.routes import DocumentedBlueprint, Route
from service.http.schemas import FeedbackRequest, FeedbackSaved
from service.web.context import check_scope, config, known_collection, parse

bp = DocumentedBlueprint("feedback", __name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL,
    question TEXT NOT NULL,
    history TEXT NOT NULL,
    answer TEXT NOT NULL,
    collection TEXT NOT NULL DEFAULT 'default'
)"""
_ADD_COLLECTION = "ALTER TABLE feedback ADD COLUMN collection TEXT NOT NULL DEFAULT 'default'"


class FeedbackStore:
    """Append and read feedback rows in one SQLite file (safe across processes)."""

    def __init__(self, path: Path) -> None:
        """Remember where the database lives; it is created on first use."""
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        """Open the database, creating its folder and table when missing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
        if "collection" not in columns:  # a database written before collections existed
            conn.execute(_ADD_COLLECTION)
        return conn

    def add(self, item: FeedbackRequest, collection: str = DEFAULT) -> int:
        """Store one feedback and return its id."""
        with closing(self._connect()) as conn, conn:
            cur = conn.execute(
                "INSERT INTO feedback (created, rating, comment, question, history, answer, "
                "collection) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), item.rating, item.comment.strip(), item.question,
                 json.dumps([m.model_dump() for m in item.history]),
                 item.answer.model_dump_json(), collection))
            return int(cur.lastrowid or 0)

    def eval_cases(self, collection: str | None = None) -> Iterator[dict[str, object]]:
        """Yield every feedback (of one collection, if named), oldest first, as an eval case."""
        if not self.path.exists():
            return
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT id, created, rating, comment, question, history, answer "
                                "FROM feedback WHERE ? IS NULL OR collection = ? ORDER BY id",
                                (collection, collection)).fetchall()
        for fid, created, rating, comment, question, history, answer in rows:
            given = json.loads(answer)
            yield {"id": fid, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                   "question": question, "history": json.loads(history),
                   "rating": rating, "comment": comment,
                   "answer": given["answer"], "abstained": given["abstained"],
                   "citations": given["citations"]}


def export_jsonl(store: FeedbackStore, collection: str | None = None) -> Iterator[str]:
    """Yield the store's eval cases (of one collection, if named) as JSON lines."""
    for case in store.eval_cases(collection):
        yield json.dumps(case, ensure_ascii=False) + "\n"


@bp.operation(
    Route("post", "/api/v1/feedback", "Store a thumbs up/down (and comment) on an answer.",
          FeedbackSaved, FeedbackRequest, (400, 401, 403, 413, 415, 429),
          defaults=(("name", DEFAULT),)),
    Route("post", "/api/v1/collections/{name}/feedback",
          "Store a thumbs up/down on an answer from a collection.", FeedbackSaved,
          FeedbackRequest, (400, 401, 403, 404, 413, 415, 429)),
)
def post_feedback(name: str) -> Response:
    """Store a thumbs up/down with an optional comment."""
    item = parse(FeedbackRequest)
    check_scope(name)  # before existence, so a scoped caller learns nothing of others
    known_collection(name)
    saved = FeedbackStore(config().feedback_db).add(item, name)
    return jsonify(FeedbackSaved(id=saved).model_dump())
