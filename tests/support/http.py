"""Ask the API and check its errors, the same way in every test."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient


def assert_json_error(resp: Any, status: int, code: str | None = None) -> None:
    """Assert a JSON error with this status (and code), no traceback, no HTML; any response."""
    text = resp.get_data(as_text=True) if hasattr(resp, "get_data") else resp.text
    assert resp.status_code == status, text
    assert resp.headers["Content-Type"].startswith("application/json"), text
    error = json.loads(text)["error"]
    assert set(error) == {"code", "message"} and error["message"], error
    if code:
        assert error["code"] == code, error
    assert "Traceback" not in text and "<html" not in text.lower()


def ask(client: FlaskClient, question: str, **extra: Any) -> dict[str, Any]:
    """Post a question to the answer API and return the JSON answer, asserting success."""
    resp = client.post("/api/v1/answer", json={"question": question, **extra})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body: dict[str, Any] = resp.get_json()
    return body


def if_ended(body: dict[str, Any]) -> dict[str, Any] | None:
    """Return a job or document status once it is ready or failed, else None (to poll on)."""
    return body if body.get("status") in ("ready", "failed") else None


def if_answered(body: dict[str, Any], expected: str = "") -> dict[str, Any] | None:
    """Return an answer body once it answers (with `expected`), else None (to poll on)."""
    return body if not body["abstained"] and expected in body["answer"] else None
