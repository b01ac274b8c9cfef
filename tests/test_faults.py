"""Faults: Chroma dies and comes back, Redis is down, the index is corrupt or rebuilt under load."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from flask import Flask

from index import switch
from index.build import index_corpus
from index.store import StoreConfig
from service.web.app import create_app
from tests.support.cli import CITEQA, run_citeqa
from tests.support.paths import ROOT
from tests.support.servers import ChromaServer, free_port, redis_server, stop, wait_until

pytestmark = pytest.mark.server
QUESTION = {"question": "Until when was Operation IMPACT extended?"}


def status_of(app: Flask) -> int:
    """Ask the usual question; return the status, checking every error is JSON."""
    resp = app.test_client().post("/api/v1/answer", json=QUESTION)
    if resp.status_code != 200:
        assert resp.get_json()["error"]["code"], resp.get_data(as_text=True)
    return resp.status_code


def until(app: Flask, wanted: int, timeout: float = 60.0) -> list[int]:
    """Send requests until one returns `wanted`; return every status seen."""
    seen: list[int] = []

    def got() -> bool:
        seen.append(status_of(app))
        return seen[-1] == wanted
    wait_until(got, f"status {wanted} (seen {seen[-5:]})", timeout)
    return seen


@pytest.fixture(scope="module")
def chroma(chroma: ChromaServer) -> ChromaServer:
    """Return this module's Chroma server, holding the default corpus."""
    index_corpus(ROOT / "corpus", StoreConfig(Path("."), "citeqa", chroma.url), progress=False)
    return chroma


def remote_app(chroma: ChromaServer, tmp: Path) -> Flask:
    """Return an app served from the Chroma server, quick to notice changes and failures."""
    return create_app({"chroma_url": chroma.url, "data_dir": tmp, "chroma_timeout": 3.0,
                       "index_check_seconds": 0.2}, load_sync=True)


def test_chroma_killed_and_restarted_mid_traffic(chroma: ChromaServer, tmp_path: Path) -> None:
    app = remote_app(chroma, tmp_path)
    assert status_of(app) == 200
    chroma.kill()
    try:
        down = app.test_client().post("/api/v1/answer", json=QUESTION)
        assert down.status_code == 503 and down.get_json()["error"]["code"] == "index_unavailable"
        assert down.headers["Retry-After"]
        streamed = app.test_client().post("/api/v1/answer", json=QUESTION,
                                          headers={"Accept": "text/event-stream"})
        assert streamed.status_code == 503 and streamed.is_json
        assert set(until(app, 503, 5)) == {503}
    finally:
        chroma.start()  # same folder, same port
    seen = until(app, 200)
    assert set(seen) <= {200, 503}, seen  # never a 500, and no restart of the service


def test_a_hung_chroma_server_is_a_503_not_a_wait(chroma: ChromaServer, tmp_path: Path) -> None:
    app = remote_app(chroma, tmp_path)
    assert status_of(app) == 200
    assert chroma.proc is not None
    chroma.proc.send_signal(signal.SIGSTOP)  # the server holds connections and never answers
    try:
        for accept in ("application/json", "text/event-stream"):
            hung = app.test_client().post("/api/v1/answer", json=QUESTION,
                                          headers={"Accept": accept})
            assert hung.status_code == 503 and hung.headers["Retry-After"]
            assert hung.get_json()["error"]["code"] == "index_unavailable"
    finally:
        chroma.proc.send_signal(signal.SIGCONT)
    assert set(until(app, 200)) <= {200, 503}


@pytest.mark.parametrize("fail_open", [True, False])
def test_redis_unavailable(default_index: StoreConfig, fail_open: bool) -> None:
    with redis_server() as url:
        app = create_app({"data_dir": default_index.data_dir, "redis_url": url,
                          "rate_limit": "100/minute", "rate_limit_fail_open": fail_open},
                         load_sync=True)
        assert app.test_client().get("/api/v1/documents").status_code == 200
    # redis-server is stopped now
    resp = app.test_client().get("/api/v1/documents")
    if fail_open:
        assert resp.status_code == 200
    else:
        assert resp.status_code == 503
        assert resp.get_json()["error"]["code"] == "rate_limiter_unavailable"
    assert app.test_client().get("/healthz").status_code == 200  # outside the API: no limiter


def test_corrupt_index_serves_503_without_crash_looping(tmp_path: Path) -> None:
    data = tmp_path / "corrupt"
    data.mkdir()
    (data / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    port = free_port()
    proc = subprocess.Popen([str(CITEQA), "serve", "--port", str(port), "--workers", "1"],
                            env={**os.environ, "CITEQA_DATA_DIR": str(data),
                                 "CITEQA_INDEX_CHECK_SECONDS": "0.2"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).ok, "citeqa serve",
                   proc=proc)
        wait_until(lambda: "could not be opened" in requests.get(f"{base}/readyz",
                                                                  timeout=5).text,
                   "readyz reason", 60, proc)
        time.sleep(2)  # the failed load is retried quietly, the process stays up
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert proc.poll() is None and ready.status_code == 503
        assert "Traceback" not in ready.text
    finally:
        stop(proc)


def hammer(app: Flask, stop_event: threading.Event, statuses: list[int]) -> None:
    """Ask questions until told to stop, recording each status."""
    client = app.test_client()
    while not stop_event.is_set():
        statuses.append(client.post("/api/v1/answer", json=QUESTION).status_code)


def under_load(app: Flask, work: Callable[[], None], threads: int = 3) -> list[int]:
    """Run `work` while `threads` clients send requests; return their statuses."""
    stop_event, statuses = threading.Event(), []  # type: ignore[var-annotated]
    workers = [threading.Thread(target=hammer, args=(app, stop_event, statuses))
               for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        work()
        time.sleep(1.0)  # let the reload land while requests keep coming
    finally:
        stop_event.set()
        for worker in workers:
            worker.join(timeout=60)
    return statuses


def serving(app: Flask) -> str:
    """Return the collection an app serves now."""
    return str(app.extensions["citeqa.engine"].retriever().chunks.name)


def test_rebuild_under_load_on_the_chroma_server(chroma: ChromaServer, tmp_path: Path) -> None:
    app = remote_app(chroma, tmp_path)
    before = serving(app)
    # the indexing host keeps its copy of the lexical index in its own data folder
    cfg = StoreConfig(tmp_path / "indexer", "citeqa", chroma.url)
    statuses = under_load(app, lambda: switch.rebuild(ROOT / "corpus", cfg, progress=False))
    assert statuses and set(statuses) == {200}, statuses
    wait_until(lambda: serving(app) != before, "switch to the rebuilt index", 30)


def test_rebuild_under_load_on_the_embedded_store(default_index: StoreConfig,
                                                   tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(default_index.data_dir, data)
    app = create_app({"data_dir": data, "index_check_seconds": 0.2}, load_sync=True)

    def rebuild() -> None:
        done = run_citeqa("index", "--rebuild", "--data-dir", str(data),
                          "--corpus", str(ROOT / "corpus"))
        assert done.returncode == 0, done.stderr

    statuses = under_load(app, rebuild)
    assert statuses and set(statuses) == {200}, statuses
    wait_until(lambda: serving(app).startswith("citeqa_"), "switch to the rebuilt index", 30)
