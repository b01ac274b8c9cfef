"""The real `citeqa serve` process (gunicorn) answers over HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from index.store import StoreConfig
from tests.support.servers import citeqa_server

pytestmark = pytest.mark.server
@pytest.fixture(scope="module")
def server(default_index: StoreConfig) -> Iterator[str]:
    """Start `citeqa serve` on a free port and stop it afterwards."""
    with citeqa_server({"CITEQA_DATA_DIR": str(default_index.data_dir),
                        "CITEQA_COLLECTION": default_index.collection,
                        "CITEQA_KEEPALIVE": "0"}) as base:
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


def _served_twice(base: str) -> tuple[str, bool]:
    """Ask twice over one HTTP connection; return the first Connection header and whether
    the second request went over the same socket."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    body = json.dumps({"question": "Until when was Operation IMPACT extended?"})
    headers = {"Content-Type": "application/json"}
    try:
        conn.request("POST", "/api/v1/answer", body, headers)
        first = conn.getresponse()
        assert first.status == 200, first.read()
        first.read()
        kept = conn.sock.getsockname() if conn.sock else None
        conn.request("POST", "/api/v1/answer", body, headers)
        second = conn.getresponse()
        assert second.status == 200
        second.read()
        same = kept is not None and conn.sock is not None and conn.sock.getsockname() == kept
        return str(first.getheader("Connection", "")), same
    finally:
        conn.close()


def test_connections_close_after_each_answer_unless_kept(server: str,
                                                         default_index: StoreConfig) -> None:
    """By default the next request may go to any free worker; CITEQA_KEEPALIVE keeps it."""
    assert _served_twice(server) == ("close", False)
    env = {"CITEQA_DATA_DIR": str(default_index.data_dir),
           "CITEQA_COLLECTION": default_index.collection, "CITEQA_KEEPALIVE": "5"}
    with citeqa_server(env) as kept:
        header, same = _served_twice(kept)
    assert header.lower() != "close" and same


def test_a_request_never_finished_is_cut_off(server: str) -> None:
    """Closing after each response keeps the limit on how long a request may take to arrive."""
    url = urlsplit(server)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), 30) as sock:
        sock.sendall(b"POST /api/v1/answer HTTP/1.1\r\nHost: citeqa\r\n")  # never ends
        began = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server; a timeout raises instead
        assert time.monotonic() - began < 15
