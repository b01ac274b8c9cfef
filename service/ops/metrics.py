"""Prometheus metrics of requests, answering stages, answers and the index.

Under gunicorn with several workers set `PROMETHEUS_MULTIPROC_DIR` (`citeqa serve` does it for
you) so `/metrics` adds up every worker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

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


def metrics_body() -> bytes:
    """Return the metrics of this process, or of every worker in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
