"""Operations: request ids, JSON logs and Prometheus metrics from a real two-worker gunicorn."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from index.store import StoreConfig
from tests.support.servers import citeqa_server, wait_until

QUESTIONS = ["Until when was Operation IMPACT extended?", "What is the capital of Australia?"]


def test_request_id_is_echoed_or_generated(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
    assert given.headers["X-Request-ID"] == "trace-42.a"
    for bad in ("", "has spaces", "x" * 200, "<script>"):
        made = client.get("/healthz", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"]), bad


@pytest.fixture(scope="module")
def served(default_index: StoreConfig, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Path]]:
    """Run `citeqa serve --workers 2`; yield its URL and the file its logs go to."""
    log = tmp_path_factory.mktemp("ops") / "server.log"
    env = {"CITEQA_DATA_DIR": str(default_index.data_dir),
           "CITEQA_COLLECTION": default_index.collection}
    with log.open("wb") as sink, citeqa_server(env, workers=2, log=sink) as base:
        yield base, log


def metric(text: str, name: str, **labels: str) -> float:
    """Return the sum of the samples of `name` with these labels in Prometheus text."""
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v
                                              for k, v in labels.items()))


@pytest.mark.server
def test_metrics_add_up_every_worker(served: tuple[str, Path]) -> None:
    base, _ = served
    rounds = 6
    for _ in range(rounds):
        for question in QUESTIONS:
            resp = requests.post(f"{base}/api/v1/answer", json={"question": question}, timeout=60)
            assert resp.status_code == 200
    text = requests.get(f"{base}/metrics", timeout=10).text
    answered = metric(text, "citeqa_answers_total", outcome="answered")
    abstained = metric(text, "citeqa_answers_total", outcome="abstained")
    assert answered >= rounds and abstained >= rounds
    posts = metric(text, "citeqa_requests_total", method="POST", route="/api/v1/answer",
                   status="200")
    assert posts >= 2 * rounds
    for stage in ("retrieve", "answer", "verify"):
        assert metric(text, "citeqa_stage_seconds_count", stage=stage) >= 2 * rounds, stage
    assert metric(text, "citeqa_request_seconds_count", route="/api/v1/answer") >= 2 * rounds
    assert metric(text, "citeqa_index_chunks") > 0
    ids = {requests.get(f"{base}/healthz", timeout=5).headers["X-Request-ID"] for _ in range(20)}
    assert len(ids) == 20  # every response gets its own id, whichever worker serves it


@pytest.mark.server
def test_logs_are_json_lines_with_the_request_id(served: tuple[str, Path]) -> None:
    base, log = served
    resp = requests.post(f"{base}/api/v1/answer", json={"question": QUESTIONS[0]},
                         headers={"X-Request-ID": "ops-test-7", "Authorization": "Bearer xyz"},
                         timeout=60)
    assert resp.headers["X-Request-ID"] == "ops-test-7"
    wait_until(lambda: "ops-test-7" in log.read_text(), "the request's log line", 10)
    records = [json.loads(line) for line in log.read_text().splitlines()
               if line.startswith("{")]
    mine = [r for r in records if r.get("request_id") == "ops-test-7"]
    assert mine and mine[-1]["path"] == "/api/v1/answer" and mine[-1]["status"] == 200
    assert {"time", "level", "logger", "message"} <= set(mine[-1])
    assert "xyz" not in log.read_text() and "Traceback" not in log.read_text()
