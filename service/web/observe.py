"""Give each request an id, log and measure it, and serve `/metrics`.

The request id comes from the caller's `X-Request-ID` (when it looks like an id) or is
generated, and is sent back in the response's `X-Request-ID`.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST

from service.ops.logs import REQUEST_ID
from service.ops.metrics import LATENCY, REQUESTS, metrics_body, record_index

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Any word is a method to HTTP; label only the standard ones so metrics series stay bounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """Return the metrics label of a method: itself when standard, else `other`."""
    return method if method in METHODS else "other"


def init_app(app: Flask) -> None:
    """Tag requests with ids, log and measure each one, and serve `/metrics`."""
    access = logging.getLogger("citeqa.access")

    @app.before_request
    def _start() -> None:
        """Give the request its id and start its clock."""
        given = request.headers.get(HEADER, "")
        REQUEST_ID.set(given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex)
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        """Count, time and log the request; return its id."""
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(method_label(request.method), route, str(response.status_code)).inc()
        LATENCY.labels(route).observe(seconds)
        response.headers[HEADER] = REQUEST_ID.get()
        access.info("request", extra={"fields": {
            "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round(seconds * 1000, 1), "remote": request.remote_addr}})
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        """Keep the id out of log lines written after the request, on this thread."""
        REQUEST_ID.set("")

    @app.get("/metrics")
    def _metrics() -> Response:
        """Return the Prometheus metrics."""
        engine = app.extensions["citeqa.engine"]
        if not engine.status:
            retriever = engine.retriever()
            record_index(len(retriever), retriever.documents)
        return Response(metrics_body(), mimetype=CONTENT_TYPE_LATEST)
