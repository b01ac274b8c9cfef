"""The real `citeqa serve` process (gunicorn) answers over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from bench.servers import citeqa_server
from index.store import StoreConfig


@pytest.fixture(scope="module")
def server(default_index: StoreConfig) -> Iterator[str]:
    """Start `citeqa serve` on a free port and stop it afterwards."""
    with citeqa_server({"CITEQA_DATA_DIR": str(default_index.data_dir),
                        "CITEQA_COLLECTION": default_index.collection}) as base:
        yield base


def test_real_server_answers_with_citations(server: str) -> None:
    resp = requests.post(f"{server}/api/v1/answer",
                         json={"question": "Until when was Operation IMPACT extended?"}, timeout=30)
    assert resp.status_code == 200
    body = resp.json()
    assert "March 31, 2017" in body["answer"] and body["citations"]
    doc = requests.get(f"{server}/api/v1/documents/{body['citations'][0]['document_id']}",
                       timeout=10).json()
    cite = body["citations"][0]
    assert doc["text"][cite["start"]:cite["end"]] == cite["text"]


def test_real_server_errors_are_json(server: str) -> None:
    resp = requests.post(f"{server}/api/v1/answer", data="{oops",
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"
    assert resp.headers["Content-Type"].startswith("application/json")


def test_connections_close_after_each_answer_unless_kept(server: str,
                                                         default_index: StoreConfig) -> None:
    """By default the next request may go to any free worker; CITEQA_KEEPALIVE keeps it."""
    question = {"question": "Until when was Operation IMPACT extended?"}
    closed = requests.post(f"{server}/api/v1/answer", json=question, timeout=30)
    assert closed.status_code == 200 and closed.headers["Connection"].lower() == "close"
    env = {"CITEQA_DATA_DIR": str(default_index.data_dir),
           "CITEQA_COLLECTION": default_index.collection, "CITEQA_KEEPALIVE": "5"}
    with citeqa_server(env) as kept, requests.Session() as session:
        first = session.post(f"{kept}/api/v1/answer", json=question, timeout=30)
        assert first.status_code == 200
        assert first.headers.get("Connection", "keep-alive").lower() != "close"
