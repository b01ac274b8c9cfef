"""Gunicorn workers whose own error responses (a request line or header too long, a bad
request) are JSON like the app's, never gunicorn's HTML page, with the same security headers.

`citeqa serve` runs `GeventWorker` by default: each connection is a cheap greenlet, so
clients that send a request slowly cannot hold every worker (`CITEQA_WORKER_CLASS=gthread`
falls back to threads).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from flask import Response
from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.ggevent import GeventWorker as _Gevent
from gunicorn.workers.gthread import ThreadWorker as _Threads

from service.http.errors import ApiError
from service.security.headers import secure

_STATUSES: tuple[tuple[type[Exception], int, str, str], ...] = (
    (errors.LimitRequestLine, 414, "URI Too Long", "uri_too_long"),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers_too_large"),
    (errors.UnsupportedTransferCoding, 501, "Not Implemented", "not_implemented"),
    (errors.ParseException, 400, "Bad Request", "bad_request"),
)


def error_bytes(exc: BaseException) -> bytes:
    """Return the whole HTTP response for a request gunicorn could not read or serve."""
    status, reason, code = 500, "Internal Server Error", "internal_error"
    for kind, status_of, reason_of, code_of in _STATUSES:
        if isinstance(exc, kind):
            status, reason, code = status_of, reason_of, code_of
            break
    message = reason if status == 500 else f"{reason}: {exc}"[:300]
    body = json.dumps(ApiError(status, message, code).body()).encode()
    response = secure(Response(body, status, mimetype="application/json"))
    response.headers["Connection"] = "close"
    fields = "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
    return f"HTTP/1.1 {status} {reason}\r\n{fields}\r\n".encode("latin-1") + body


class JsonErrors:
    """Answer gunicorn's own errors with a JSON body."""

    log: Any

    def handle_error(self, req: Any, client: socket.socket, addr: Any,
                     exc: BaseException) -> None:
        """Log the failure and write a JSON error response."""
        where = addr[0] if isinstance(addr, tuple) and addr else ""
        if isinstance(exc, errors.ParseException):
            self.log.warning("Invalid request from ip=%s: %s", where, exc)
        else:
            self.log.exception("Error handling request")
        try:
            util.write_nonblock(client, error_bytes(exc))
        except OSError:
            self.log.debug("Failed to send error message.")


class GeventWorker(JsonErrors, _Gevent):  # type: ignore[misc]
    """Gevent worker with JSON errors."""


class ThreadWorker(JsonErrors, _Threads):  # type: ignore[misc]
    """Threaded worker with JSON errors."""
