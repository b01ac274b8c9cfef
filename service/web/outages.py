"""Answer 503 while the Chroma server is unreachable, instead of a 500; recover by itself.

The HTTP client to Chroma has a timeout (`CITEQA_CHROMA_TIMEOUT`); a refused or timed-out call
becomes a JSON 503 with Retry-After, and the next request tries the server again.
"""

from __future__ import annotations

import logging

import httpx
from flask import Flask, Response

from service.http.errors import error_response

RETRY_AFTER_SECONDS = "2"
log = logging.getLogger("citeqa")


def init_app(app: Flask) -> None:
    """Map transport failures of the index store to 503."""

    @app.errorhandler(httpx.TransportError)
    def _store_unreachable(exc: httpx.TransportError) -> tuple[Response, int]:
        """Answer 503 with Retry-After."""
        log.warning("index store unreachable (%s)", exc.__class__.__name__)
        response, status = error_response(503, "the index store is unreachable; try again shortly",
                                          "index_unavailable")
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response, status
