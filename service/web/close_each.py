"""gunicorn hook for `citeqa serve` with `CITEQA_KEEPALIVE=0`: one request per connection.

gunicorn's own keep-alive of 0 would also lift its time limit on reading a request, so a
client could hold a connection open without ever sending one; `citeqa serve` keeps that limit
and closes each connection after its response with this hook instead.
"""

from __future__ import annotations

from typing import Any


def pre_request(worker: Any, req: Any) -> None:
    """Mark the request's connection to close once its response is sent."""
    req.must_close = True
