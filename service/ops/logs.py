"""Structured JSON logs: one object per line, tagged with the current request's id.

Logs hold no tracebacks, bodies, query strings or keys: an exception is logged by its type.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any

REQUEST_ID: ContextVar[str] = ContextVar("citeqa_request_id", default="")


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
        if rid := REQUEST_ID.get():
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
