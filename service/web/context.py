"""What every blueprint needs from the request: the engine, the settings, a parsed body."""

from __future__ import annotations

import json
from typing import TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from service.core.engine import Engine, NotReady
from service.http.errors import ApiError
from service.settings import Config

M = TypeVar("M", bound=BaseModel)


def engine() -> Engine:
    """Return the app's engine."""
    return current_app.extensions["citeqa.engine"]  # type: ignore[no-any-return]


def config() -> Config:
    """Return the app's settings."""
    return engine().config


def parse(model: type[M]) -> M:
    """Read the JSON body as `model`, or raise a clear 4xx."""
    if not request.is_json:
        raise ApiError(415, "send the body as JSON with Content-Type: application/json")
    raw = request.get_data(cache=True)
    if len(raw) > config().max_body_bytes:
        raise ApiError(413, f"the body is over {config().max_body_bytes} bytes")
    data = _json(raw)
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", "invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, f"{where}: {first['msg']}", "invalid_request") from exc


def _refuse_constant(name: str) -> None:
    """Refuse `NaN` and `Infinity`, which Python's parser accepts but JSON does not."""
    raise ValueError(f"{name} is not a JSON value")


def _json(raw: bytes) -> object:
    """Parse a body as strict JSON whose strings are valid Unicode, or raise 400."""
    try:
        data = json.loads(raw or b"null", parse_constant=_refuse_constant)
        # a lone surrogate (`"\\ud800"`) parses but cannot be written out again
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except RecursionError as exc:
        raise ApiError(400, "the body is not valid JSON: nested too deeply",
                       "invalid_json") from exc
    except UnicodeError as exc:
        raise ApiError(400, "the body is not valid JSON: not valid UTF-8 text",
                       "invalid_json") from exc
    except ValueError as exc:  # JSONDecodeError, an over-long number, NaN
        raise ApiError(400, f"the body is not valid JSON: {getattr(exc, 'msg', exc)}",
                       "invalid_json") from exc
    return data


def check_limits(question: str, history_turns: int, top_k: int | None) -> None:
    """Refuse empty or oversized questions, long histories and large `top_k`."""
    cfg = config()
    if not question.strip():
        raise ApiError(400, "the question is empty", "empty_question")
    if len(question) > cfg.max_question_chars:
        raise ApiError(400, f"the question is over {cfg.max_question_chars} characters",
                       "question_too_long")
    if history_turns > cfg.max_history_turns:
        raise ApiError(400, f"the history has over {cfg.max_history_turns} turns",
                       "history_too_long")
    if top_k is not None and top_k > cfg.max_top_k:
        raise ApiError(400, f"top_k is over {cfg.max_top_k}", "top_k_too_large")


def ready_engine() -> Engine:
    """Return the engine once its index is loaded, or raise 503."""
    eng = engine()
    try:
        eng.loaded()
    except NotReady as exc:
        raise ApiError(503, f"the index is not available: {exc}", "index_unavailable") from exc
    return eng
