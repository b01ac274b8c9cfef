"""Answer 503 while the index store is unavailable, instead of a 500; recover by itself.

The store raises StoreUnavailable when its server is unreachable or slower than
`CITEQA_CHROMA_TIMEOUT`; that becomes a JSON 503 with Retry-After (an `error` event in a stream
already begun), and the next request tries the server again.
"""

from __future__ import annotations

import logging

from flask import Flask, Response

from index.store import StoreUnavailable
from service.http.errors import ApiError, error_response

RETRY_AFTER_SECONDS = "2"
log = logging.getLogger("citeqa")


def client_error(exc: Exception) -> ApiError:
    """Return what the client is told of a failure: 503 if the store is unavailable, else 500."""
    if isinstance(exc, StoreUnavailable):
        return ApiError(503, "the index store is unreachable; try again shortly",
                        "index_unavailable")
    return ApiError(500, "internal error; see the server log")


def init_app(app: Flask) -> None:
    """Map an unavailable index store to 503."""

    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(exc: StoreUnavailable) -> tuple[Response, int]:
        """Answer 503 with Retry-After."""
        log.warning("index store unavailable (%s)", exc)
        error = client_error(exc)
        response, status = error_response(error.status, error.message, error.code)
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response, status
