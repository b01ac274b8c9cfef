"""The served configuration (`citeqa serve`, gevent workers) holds against slow clients, and
its rate limits hold across workers without Redis (issue 13, items 2 and 7)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from index.store import StoreConfig
from tests.support.servers import citeqa_server

pytestmark = pytest.mark.server
SLOW_CLIENTS = 50
DRIBBLE_SECONDS = 30.0


def dribble(host: str, port: int, until: float, opened: list[int]) -> None:
    """Send a request one header line at a time, never finishing it, until `until`."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        opened.append(1)
        line = 0
        while time.monotonic() < until:
            time.sleep(1.0)
            line += 1
            try:
                sock.sendall(b"X-Slow-%d: x\r\n" % line)
            except OSError:
                return  # the server may close a client this slow; that is allowed


def test_slow_clients_do_not_delay_normal_requests(default_index: StoreConfig) -> None:
    env = {"CITEQA_DATA_DIR": str(default_index.data_dir),
           "CITEQA_COLLECTION": default_index.collection}
    with citeqa_server(env, workers=2) as base:
        host, port = base.removeprefix("http://").split(":")
        until = time.monotonic() + DRIBBLE_SECONDS
        opened: list[int] = []
        slow = [threading.Thread(target=dribble, args=(host, int(port), until, opened),
                                 daemon=True) for _ in range(SLOW_CLIENTS)]
        for thread in slow:
            thread.start()
        time.sleep(2.0)  # every slow client holds a connection now
        assert len(opened) == SLOW_CLIENTS
        latencies: list[float] = []
        while time.monotonic() < until - 1:
            for method, path, body in (("GET", "/healthz", None),
                                       ("POST", "/api/v1/search", {"query": "air strikes"})):
                began = time.perf_counter()
                resp = requests.request(method, f"{base}{path}", json=body, timeout=10)
                latencies.append(time.perf_counter() - began)
                assert resp.status_code == 200, resp.text
            time.sleep(0.5)
        for thread in slow:
            thread.join(timeout=10)
    assert len(latencies) >= 20
    assert max(latencies) < 1.0, sorted(latencies)[-5:]


def test_rate_limit_holds_across_workers_without_redis(default_index: StoreConfig,
                                                       tmp_path: Path) -> None:
    env = {"CITEQA_DATA_DIR": str(default_index.data_dir),
           "CITEQA_COLLECTION": default_index.collection, "CITEQA_RATE_LIMIT": "60/minute",
           "CITEQA_RATE_LIMIT_IP": "", "CITEQA_RATE_LIMIT_DB": str(tmp_path / "limits.db")}
    with citeqa_server(env, workers=2) as base:
        statuses = []
        for _ in range(180):  # a fresh connection each time, so both workers take requests
            statuses.append(requests.get(f"{base}/api/v1/documents", timeout=30,
                                         headers={"Connection": "close"}).status_code)
    assert set(statuses) == {200, 429}
    assert 54 <= statuses.count(200) <= 66, statuses.count(200)
