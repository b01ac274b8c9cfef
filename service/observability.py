"""Structured JSON logs with a request id, and Prometheus metrics at `/metrics`.

Every log line is one JSON object; lines logged while serving a request carry its id, which
comes from the caller's `X-Request-ID` (when it looks like an id) or is generated, and is sent
back in the response's `X-Request-ID`. Logs hold no tracebacks, bodies, query strings or keys.

Under gunicorn with several workers set `PROMETHEUS_MULTIPROC_DIR` (`citeqa serve` does it for
you) so `/metrics` adds up every worker.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_ID = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("citeqa_requests_total", "HTTP requests served.",
                   ["method", "route", "status"])
LATENCY = Histogram("citeqa_request_seconds", "Time to serve a request.", ["route"],
                    buckets=_LATENCY)
STAGES = Histogram("citeqa_stage_seconds", "Time spent in a stage of answering.", ["stage"],
                   buckets=_LATENCY)
ANSWERS = Counter("citeqa_answers_total", "Answers given, by outcome.", ["outcome"])
INDEX_CHUNKS = Gauge("citeqa_index_chunks", "Chunks in the serving index.",
                     multiprocess_mode="max")
INDEX_DOCUMENTS = Gauge("citeqa_index_documents", "Documents in the serving index.",
                        multiprocess_mode="max")


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time one stage of answering (retrieve, answer, verify)."""
    began = time.perf_counter()
    try:
        yield
    finally:
        STAGES.labels(name).observe(time.perf_counter() - began)


def count_answer(abstained: bool) -> None:
    """Count an answer, so the abstention rate is abstained / all."""
    ANSWERS.labels("abstained" if abstained else "answered").inc()


def record_index(chunks: int, documents: int) -> None:
    """Record the size of the index this process serves."""
    INDEX_CHUNKS.set(chunks)
    INDEX_DOCUMENTS.set(documents)


def request_id() -> str:
    """Return the current request's id, or "" outside a request."""
    return str(g.get("request_id", "")) if has_request_context() else ""


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line; exceptions by type only, never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line of a record."""
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := request_id():
            line["request_id"] = rid
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, default=str)


def configure_logging() -> None:
    """Send every log line to stderr as JSON."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for chatty in ("bm25s", "httpx"):  # an index build, every call to the Chroma server
        logging.getLogger(chatty).setLevel(logging.WARNING)


def metrics_body() -> bytes:
    """Return the metrics of this process, or of every worker in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


def init_app(app: Flask) -> None:
    """Tag requests with ids, log and measure each one, and serve `/metrics`."""
    access = logging.getLogger("citeqa.access")

    @app.before_request
    def _start() -> None:
        """Give the request its id and start its clock."""
        given = request.headers.get(REQUEST_ID, "")
        g.request_id = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        """Count, time and log the request; return its id."""
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(route).observe(seconds)
        response.headers[REQUEST_ID] = request_id()
        access.info("request", extra={"fields": {
            "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round(seconds * 1000, 1), "remote": request.remote_addr}})
        return response

    @app.get("/metrics")
    def _metrics() -> Response:
        """Return the Prometheus metrics."""
        engine = app.extensions["citeqa.engine"]
        if not engine.status:
            retriever = engine.retriever()
            record_index(len(retriever), retriever.documents)
        return Response(metrics_body(), mimetype=CONTENT_TYPE_LATEST)
