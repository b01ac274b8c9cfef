"""The store breaks or changes under running servers: readiness tells, streams say so, every
worker follows a new index, and a damaged store is rebuilt (issue 13, items 4, 5 and 8)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from index.build import index_corpus
from index.store import StoreConfig
from service.web.app import create_app
from tests.support.cli import run_citeqa
from tests.support.paths import ROOT
from tests.support.servers import ChromaServer, citeqa_server, serving_in_thread, wait_until

pytestmark = pytest.mark.server
QUESTION = {"question": "Until when was Operation IMPACT extended?"}


def ready(base: str) -> requests.Response:
    """Return the server's readiness answer."""
    return requests.get(f"{base}/readyz", timeout=10)


@pytest.fixture()
def data(default_index: StoreConfig, tmp_path: Path) -> Path:
    """Return a private copy of the default index, with feedback and a widget key beside it."""
    target = tmp_path / "data"
    shutil.copytree(default_index.data_dir, target)
    (target / "feedback.sqlite3").write_bytes(b"feedback kept")
    (target / "widget_secret").write_text("secret kept")
    return target


def test_damaged_store_is_not_ready_and_rebuild_recovers(data: Path) -> None:
    env = {"CITEQA_DATA_DIR": str(data), "CITEQA_INDEX_CHECK_SECONDS": "0.5"}
    with citeqa_server(env) as base:
        assert ready(base).status_code == 200
        database = data / "chroma.sqlite3"
        size = database.stat().st_size
        with database.open("r+b") as handle:
            handle.truncate(size // 3)
        wait_until(lambda: ready(base).status_code == 503, "readyz to notice the damage", 30)
        reason = ready(base).json()["reason"]
        assert "index store" in reason and "Traceback" not in reason
        plain = run_citeqa("index", "--data-dir", str(data), "--corpus", str(ROOT / "corpus"))
        assert plain.returncode == 3 and "--rebuild" in plain.stderr
        assert "Traceback" not in plain.stderr
        rebuilt = run_citeqa("index", "--rebuild", "--data-dir", str(data), "--corpus",
                      str(ROOT / "corpus"))
        assert rebuilt.returncode == 0, rebuilt.stderr
        wait_until(lambda: ready(base).status_code == 200, "recovery after --rebuild", 60)
        answer = requests.post(f"{base}/api/v1/answer", json=QUESTION, timeout=30)
        assert answer.status_code == 200 and "March 31, 2017" in answer.json()["answer"]
    assert (data / "feedback.sqlite3").read_bytes() == b"feedback kept"
    assert (data / "widget_secret").read_text() == "secret kept"
    assert list(data.glob("broken-*/chroma.sqlite3"))


NEW_DOC = ("# Lighthouse keepers\n\nThe Quillmoor lighthouse keeper counted 4,711 gannets on "
           "the western cliffs during the spring census.\n")


def test_every_worker_sees_new_vectors_within_the_check_interval(data: Path,
                                                                 tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {"CITEQA_DATA_DIR": str(data), "CITEQA_INDEX_CHECK_SECONDS": "1"}
    with citeqa_server(env, workers=2) as base:
        (corpus / "lighthouse.md").write_text(NEW_DOC)
        done = run_citeqa("index", "--data-dir", str(data), "--corpus", str(corpus))
        assert done.returncode == 0, done.stderr
        indexed = time.monotonic()

        def dense_score() -> float:
            """Return the new document's dense score on one fresh connection (0 if absent)."""
            hits = requests.post(f"{base}/api/v1/search", timeout=30,
                                 headers={"Connection": "close"},
                                 json={"query": "How many gannets did the keeper count?",
                                       "top_k": 3}).json()["results"]
            return max([h["dense"] for h in hits if h["document_id"] == "lighthouse.md"],
                       default=0.0)

        streak = 0
        while streak < 20:  # twenty answers in a row, from both workers, carry its vector
            assert time.monotonic() - indexed < 30, "a worker kept the old vectors"
            streak = streak + 1 if dense_score() > 0.3 else 0


class BreakingLLM(BaseHTTPRequestHandler):
    """An OpenAI-style server that streams one piece, waits, then drops the connection."""

    resume = threading.Event()

    def do_POST(self) -> None:
        """Send a first delta, wait until told, then cut the stream."""
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": "It was"},
                              "finish_reason": None}]}
        payload = f"data: {json.dumps(chunk)}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()
        type(self).resume.wait(30)
        self.close_connection = True  # no closing chunk: the client sees a broken stream

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture()
def llm() -> Iterator[str]:
    """Serve the breaking LLM on a free port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BreakingLLM)
    server.daemon_threads = True
    with serving_in_thread(server, "/v1") as base:
        yield base
    BreakingLLM.resume.set()


def test_store_dying_mid_stream_ends_it_with_an_error_event(llm: str, tmp_path: Path) -> None:
    with ChromaServer(tmp_path / "chroma") as chroma:
        index_corpus(ROOT / "corpus", StoreConfig(Path("."), "citeqa", chroma.url),
                     progress=False)
        app = create_app({"chroma_url": chroma.url, "data_dir": tmp_path, "backend": "openai",
                          "llm_base_url": llm, "llm_retries": 0, "llm_timeout": 20,
                          "chroma_timeout": 3.0}, load_sync=True)
        resp = app.test_client().post("/api/v1/answer", json=QUESTION, buffered=False,
                                      headers={"Accept": "text/event-stream"})
        assert resp.status_code == 200
        pieces = iter(resp.response)
        first = next(pieces)
        assert b"event: delta" in (first if isinstance(first, bytes) else first.encode())
        chroma.kill()
        BreakingLLM.resume.set()
        rest = b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces).decode()
    events = [block for block in rest.split("\n\n") if block.strip()]
    assert events and events[-1].startswith("event: error"), rest
    error = json.loads(events[-1].split("data: ", 1)[1])["error"]
    assert error["code"] == "index_unavailable" and error["message"]


def test_readiness_probes_the_chroma_server(tmp_path: Path) -> None:
    with ChromaServer(tmp_path / "chroma") as chroma:
        index_corpus(ROOT / "corpus", StoreConfig(Path("."), "citeqa", chroma.url),
                     progress=False)
        client = create_app({"chroma_url": chroma.url, "data_dir": tmp_path,
                             "chroma_timeout": 3.0}, load_sync=True).test_client()
        assert client.get("/readyz").status_code == 200
        chroma.kill()
        down = client.get("/readyz")
        assert down.status_code == 503 and "index store" in down.get_json()["reason"]
        chroma.start()
        assert client.get("/readyz").status_code == 200
