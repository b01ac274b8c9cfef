"""The HTTP API: answer, search, documents, health — and the OpenAPI document built from it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from pydantic import BaseModel, ValidationError

from service.contract import (
    AnswerRequest,
    AnswerResponse,
    DocumentDetail,
    DocumentList,
    ErrorResponse,
    ExampleList,
    FeedbackRequest,
    FeedbackSaved,
    Health,
    SearchRequest,
    SearchResponse,
)
from service.engine import Engine, NotReady, UnknownDocument
from service.errors import ApiError
from service.openai_models import ChatCompletion, ChatCompletionRequest, ModelList
from service.settings import Config

bp = Blueprint("api", __name__)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Route:
    """One documented operation of the API."""

    method: str
    path: str
    summary: str
    response: type[BaseModel]
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    streams: bool = False
    events: str = "Events `citations`, `delta` (text) and `done` (the full answer)."


ROUTES: tuple[Route, ...] = (
    Route("post", "/api/v1/answer", "Answer a question with citations, or abstain.",
          AnswerResponse, AnswerRequest, (400, 401, 413, 415, 429, 503), streams=True),
    Route("post", "/api/v1/search", "Rank passages for a query.", SearchResponse, SearchRequest,
          (400, 401, 413, 415, 429, 503)),
    Route("get", "/api/v1/documents", "List indexed documents.", DocumentList,
          errors=(401, 429, 503)),
    Route("get", "/api/v1/documents/{document_id}", "Return a document with its full text.",
          DocumentDetail, errors=(401, 404, 429, 503)),
    Route("post", "/v1/chat/completions",
          "OpenAI-compatible chat completion: the answer with `[n]` markers and footnotes, "
          "and its citations in `message.citations`.", ChatCompletion, ChatCompletionRequest,
          (400, 401, 404, 413, 415, 429, 503), streams=True,
          events="`data:` lines of `chat.completion.chunk` JSON (the first carries "
                 "`delta.citations`), then `data: [DONE]`."),
    Route("get", "/v1/models", "OpenAI-compatible list of models: `citeqa`.", ModelList,
          errors=(401, 429)),
    Route("get", "/api/v1/examples", "Example questions the index answers.", ExampleList,
          errors=(401, 429, 503)),
    Route("post", "/api/v1/feedback", "Store a thumbs up/down (and comment) on an answer.",
          FeedbackSaved, FeedbackRequest, (400, 401, 413, 415, 429)),
    Route("get", "/healthz", "Liveness: the process answers.", Health),
    Route("get", "/readyz", "Readiness: the index is loaded.", Health, errors=(503,)),
)


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
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {getattr(exc, 'msg', 'bad encoding')}",
                       "invalid_json") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", "invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, f"{where}: {first['msg']}", "invalid_request") from exc


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
        eng.retriever()
    except NotReady as exc:
        raise ApiError(503, f"the index is not available: {exc}", "index_unavailable") from exc
    return eng


def sse(events: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[str]:
    """Format events as server-sent events."""
    for name, data in events:
        yield f"event: {name}\ndata: {json.dumps(data)}\n\n"


@bp.post("/api/v1/answer")
def answer() -> Response:
    """Answer a question (JSON, or SSE with `Accept: text/event-stream`)."""
    req = parse(AnswerRequest)
    check_limits(req.question, len(req.history), req.top_k)
    eng = ready_engine()
    if request.accept_mimetypes.best == "text/event-stream":
        events = eng.answer_events(req)
        first = next(events)  # retrieval runs here, so its failures are still JSON errors
        stream = stream_with_context(sse(itertools.chain([first], events)))
        return Response(stream, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return jsonify(eng.answer(req).model_dump())


@bp.post("/api/v1/search")
def search() -> Response:
    """Return ranked passages."""
    req = parse(SearchRequest)
    check_limits(req.query, 0, req.top_k)
    return jsonify(ready_engine().search(req).model_dump())


@bp.get("/api/v1/documents")
def documents() -> Response:
    """List documents."""
    return jsonify(DocumentList(documents=ready_engine().documents()).model_dump())


@bp.get("/api/v1/documents/<path:document_id>")
def document(document_id: str) -> Response:
    """Return one document with its text."""
    try:
        return jsonify(ready_engine().document(document_id).model_dump())
    except UnknownDocument as exc:
        raise ApiError(404, f"no document with id {document_id!r}", "unknown_document") from exc


@bp.get("/healthz")
def healthz() -> Response:
    """Report that the process is alive."""
    return jsonify(Health(status="ok").model_dump())


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Report whether the index is loaded."""
    eng = engine()
    if eng.status:
        return jsonify({"status": "unavailable", "reason": eng.status}), 503
    retriever = eng.retriever()
    return jsonify(Health(status="ready", documents=retriever.documents,
                          chunks=len(retriever)).model_dump()), 200


@bp.get("/openapi.json")
def openapi() -> Response:
    """Return the OpenAPI document."""
    from service.auth import document_keys
    from service.openapi import spec
    from service.openapi_limits import with_limits

    return jsonify(document_keys(with_limits(spec(ROUTES, ErrorResponse), config()), config()))
