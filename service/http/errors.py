"""JSON errors with the right status for every failure; never an HTML page or a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("citeqa")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
          429: "rate_limited", 500: "internal_error", 503: "unavailable"}


class ApiError(Exception):
    """An error to return to the client as `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        """Record the status, a plain message and a stable code."""
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or _CODES.get(status, "error")

    def body(self) -> dict[str, dict[str, str]]:
        """Return the JSON body that tells the client of this error."""
        return {"error": {"code": self.code, "message": self.message}}


def error_response(status: int, message: str, code: str | None = None) -> tuple[Response, int]:
    """Return the JSON body and status of an error."""
    return jsonify(ApiError(status, message, code).body()), status


def init_app(app: Flask) -> None:
    """Register handlers so every error, expected or not, is JSON."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.status, exc.message, exc.code)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        return error_response(status, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_response(500, "internal error; see the server log")
