"""Thumbs up/down are stored in SQLite and come back out as JSONL eval cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from index.store import StoreConfig
from service.cli import main
from service.settings import Config
from service.web.app import create_app


@pytest.fixture(scope="module")
def feedback_app(default_index: StoreConfig, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Return the app with its feedback in a private SQLite file."""
    return create_app({"data_dir": default_index.data_dir,
                       "collection": default_index.collection,
                       "feedback_db": tmp_path_factory.mktemp("fb") / "feedback.sqlite3"},
                      load_sync=True)


@pytest.fixture()
def fb_client(feedback_app: Flask) -> FlaskClient:
    """Return a client of the feedback app."""
    return feedback_app.test_client()


def db_of(app: Flask) -> Path:
    """Return where the app stores feedback."""
    return app.extensions["citeqa.engine"].config.feedback_db  # type: ignore[no-any-return]


def answered(client: FlaskClient, question: str, **extra: Any) -> dict[str, Any]:
    """Ask the real API and return its answer."""
    body = client.post("/api/v1/answer", json={"question": question, **extra}).json
    assert isinstance(body, dict)
    return body


def export(db: Path, out: Path) -> list[dict[str, Any]]:
    """Run `citeqa feedback export` and return its cases."""
    assert main(["feedback", "export", "--db", str(db), "--output", str(out)]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_feedback_is_stored_and_exported_as_eval_cases(feedback_app: Flask,
                                                       fb_client: FlaskClient,
                                                       tmp_path: Path) -> None:
    first = "When did Canada sign the agreement with Jordan?"
    history = [{"role": "user", "content": first},
               {"role": "assistant", "content": answered(fb_client, first)["answer"]}]
    follow = answered(fb_client, "What was it meant to do?", history=history)
    resp = fb_client.post("/api/v1/feedback", json={
        "question": "What was it meant to do?", "history": history, "answer": follow,
        "rating": "up", "comment": "  exactly right  "})
    assert resp.status_code == 200 and resp.json["id"] >= 1  # type: ignore[index]
    abstained = answered(fb_client, "Who is the Prime Minister of Canada?")
    fb_client.post("/api/v1/feedback", json={"question": "Who is the Prime Minister of Canada?",
                                             "answer": abstained, "rating": "down"})
    cases = export(db_of(feedback_app), tmp_path / "cases.jsonl")
    up = next(c for c in cases if c["comment"] == "exactly right")
    assert up["rating"] == "up" and up["history"] == history
    assert "increase cooperation" in up["answer"] and up["abstained"] is False
    assert up["citations"] == follow["citations"] and up["created"].endswith("Z")
    down = next(c for c in cases if c["question"] == "Who is the Prime Minister of Canada?")
    assert down["abstained"] is True and down["citations"] == [] and down["comment"] == ""


@pytest.mark.parametrize(("change", "where"), [
    ({"rating": "meh"}, "rating"),
    ({"answer": {"answer": "x"}}, "answer"),
    ({"question": ""}, "question"),
    ({"comment": "x" * 2001}, "comment"),
    ({"extra": 1}, "extra"),
])
def test_bad_feedback_is_a_clear_400(fb_client: FlaskClient, change: dict[str, Any],
                                     where: str) -> None:
    good = {"question": "What will Canada cease?",
            "answer": answered(fb_client, "What will Canada cease?"), "rating": "up"}
    resp = fb_client.post("/api/v1/feedback", json={**good, **change})
    assert resp.status_code == 400
    body = resp.json
    assert body is not None and body["error"]["code"] == "invalid_request"
    assert body["error"]["message"].startswith(where)


def test_export_of_an_empty_store_is_empty(tmp_path: Path) -> None:
    assert export(tmp_path / "none.sqlite3", tmp_path / "out.jsonl") == []
    assert not (tmp_path / "none.sqlite3").exists()


def test_default_store_lives_in_the_data_folder(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITEQA_FEEDBACK_DB", raising=False)
    assert Config.from_env(data_dir=tmp_path).feedback_db == tmp_path / "feedback.sqlite3"
    monkeypatch.setenv("CITEQA_FEEDBACK_DB", str(tmp_path / "elsewhere.db"))
    assert Config.from_env(data_dir=tmp_path).feedback_db == tmp_path / "elsewhere.db"
