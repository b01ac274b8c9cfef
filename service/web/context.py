"""What every blueprint needs from the request: the engine, the settings, a parsed body."""

from __future__ import annotations

import json
from typing import TypeVar

from flask import current_app, g, request
from pydantic import BaseModel, ValidationError

from index.access import EVERYTHING, Access
from index.collections import DEFAULT, CollectionError, check_name
from service.core.engine import Engine, NotReady
from service.core.library import Library, UnknownCollection
from service.http.errors import ApiError
from service.security import keys, user_token
from service.settings import Config

M = TypeVar("M", bound=BaseModel)


def engine() -> Engine:
    """Return the default collection's engine."""
    return current_app.extensions["citeqa.engine"]  # type: ignore[no-any-return]


def library() -> Library:
    """Return the engines of every collection."""
    return current_app.extensions["citeqa.library"]  # type: ignore[no-any-return]


def config() -> Config:
    """Return the app's settings."""
    return engine().config


def parse(model: type[M], limit: int | None = None) -> M:
    """Read the JSON body as `model` (at most `limit` bytes), or raise a clear 4xx."""
    if not request.is_json:
        raise ApiError(415, "send the body as JSON with Content-Type: application/json")
    raw = request.get_data(cache=True)
    limit = limit or config().max_body_bytes
    if len(raw) > limit:
        raise ApiError(413, f"the body is over {limit} bytes")
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


def valid_name(name: str) -> str:
    """Return a well-formed collection name (that may not exist), or raise 404."""
    try:
        check_name(name)
    except CollectionError as exc:
        raise ApiError(404, str(exc), "unknown_collection") from exc
    return name


def known_collection(name: str) -> str:
    """Return the name of an existing collection, or raise 404."""
    valid_name(name)
    if name not in library().names() and name not in library().names(fresh=True):
        raise ApiError(404, f"no collection named {name!r}", "unknown_collection")
    return name


def check_scope(collection: str) -> None:
    """Refuse a key or page token that is scoped to other collections."""
    if not keys.may_use(collection):
        raise ApiError(403, f"this key may not use the collection {collection!r}", "forbidden")


def visible_collections(fresh: bool = False) -> list[str]:
    """Return the collections the caller's key or page token may use."""
    return [n for n in library().names(fresh=fresh) if keys.may_use(n)]


def ready_engine(collection: str = DEFAULT) -> Engine:
    """Return a collection's engine once its index is loaded, or raise 403, 404 or 503."""
    check_scope(collection)
    try:
        eng = library().engine(collection)
        eng.loaded()
    except UnknownCollection as exc:
        raise ApiError(404, f"no collection named {collection!r}", "unknown_collection") from exc
    except NotReady as exc:
        raise ApiError(503, f"the index is not available: {exc}", "index_unavailable") from exc
    return eng


def reader_access() -> Access:
    """Return what the caller may read in answers: public documents and its token's groups."""
    if "access" not in g:
        groups = user_token.groups_of(request, config())
        g.access = Access(frozenset(groups or ()))
    return g.access  # type: ignore[no-any-return]


def is_admin() -> bool:
    """Tell whether the caller presented an admin key."""
    key = keys.caller_key()
    return key is not None and key.admin


def document_access() -> Access:
    """Return what the caller may see of documents: all of them for an admin, else as readers."""
    return EVERYTHING if is_admin() else reader_access()


def require_admin(collection: str | None = None) -> None:
    """Refuse a caller that may not manage collections (or this collection)."""
    if not keys.configured_admins(config()):
        raise ApiError(403, "managing collections needs CITEQA_ADMIN_KEYS on the service",
                       "admin_keys_not_configured")
    key = keys.caller_key()
    if key is None:
        raise ApiError(401, "send an admin key: Authorization: Bearer <key>", "unauthorized")
    if not key.admin:
        raise ApiError(403, "this key may read but not manage", "forbidden")
    if collection is not None:
        check_scope(collection)
