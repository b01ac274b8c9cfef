"""The real `citeqa serve` process (gunicorn) answers over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from index.store import StoreConfig


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(default_index: StoreConfig) -> Iterator[str]:
    """Start `citeqa serve` on a free port and stop it afterwards."""
    port = free_port()
    env = dict(os.environ, CITEQA_DATA_DIR=str(default_index.data_dir),
               CITEQA_COLLECTION=default_index.collection)
    cli = Path(sys.executable).with_name("citeqa")
    proc = subprocess.Popen([str(cli), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, "server exited"
            time.sleep(0.3)
        else:
            pytest.fail("server never became ready")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
