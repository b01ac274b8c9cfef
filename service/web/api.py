"""The HTTP API: answer, search and documents."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator

import httpx
from flask import Response, jsonify, request, stream_with_context

from service.core.engine import UnknownDocument
from service.core.results import EventData
from service.http.errors import ApiError
from service.http.routes import DocumentedBlueprint, Route
from service.http.schemas import (
    AnswerRequest,
    AnswerResponse,
    DocumentDetail,
    DocumentList,
    SearchRequest,
    SearchResponse,
)
from service.web import convert
from service.web.context import check_limits, parse, ready_engine

bp = DocumentedBlueprint("api", __name__)
bp.document(
    Route("post", "/api/v1/answer", "Answer a question with citations, or abstain.",
          AnswerResponse, AnswerRequest, (400, 401, 413, 415, 429, 503), streams=True),
    Route("post", "/api/v1/search", "Rank passages for a query.", SearchResponse, SearchRequest,
          (400, 401, 413, 415, 429, 503)),
    Route("get", "/api/v1/documents", "List indexed documents.", DocumentList,
          errors=(401, 429, 503)),
    Route("get", "/api/v1/documents/{document_id}", "Return a document with its full text.",
          DocumentDetail, errors=(401, 404, 429, 503)),
)


log = logging.getLogger("citeqa")


def sse(events: Iterator[tuple[str, EventData]]) -> Iterator[str]:
    """Format answer events as server-sent events; a failure mid-way ends with an `error` event.

    Once the stream has begun its status (200) is sent, so the error travels as an event with
    the same JSON body an error response has.
    """
    try:
        for name, data in events:
            yield f"event: {name}\ndata: {json.dumps(convert.event(data))}\n\n"
    except Exception as exc:  # the status is sent: the client must hear of it in the stream
        if isinstance(exc, httpx.TransportError):
            code, message = "index_unavailable", "the index store is unreachable; try again"
        else:
            code, message = "internal_error", "internal error; see the server log"
        log.warning("answer stream failed (%s)", exc.__class__.__name__)
        body = {"error": {"code": code, "message": message}}
        yield f"event: error\ndata: {json.dumps(body)}\n\n"


@bp.post("/api/v1/answer")
def answer() -> Response:
    """Answer a question (JSON, or SSE with `Accept: text/event-stream`)."""
    req = parse(AnswerRequest)
    check_limits(req.question, len(req.history), req.top_k)
    eng = ready_engine()
    history = convert.history(req.history)
    if request.accept_mimetypes.best == "text/event-stream":
        events = eng.answer_events(req.question, history, req.top_k)
        first = next(events)  # retrieval runs here, so its failures are still JSON errors
        stream = stream_with_context(sse(itertools.chain([first], events)))
        return Response(stream, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return jsonify(convert.answer(eng.answer(req.question, history, req.top_k)).model_dump())


@bp.post("/api/v1/search")
def search() -> Response:
    """Return ranked passages."""
    req = parse(SearchRequest)
    check_limits(req.query, 0, req.top_k)
    return jsonify(convert.search(req.query, ready_engine().search(req.query, req.top_k))
                   .model_dump())


@bp.get("/api/v1/documents")
def documents() -> Response:
    """List documents."""
    return jsonify(convert.documents(ready_engine().documents()).model_dump())


@bp.get("/api/v1/documents/<path:document_id>")
def document(document_id: str) -> Response:
    """Return one document with its text."""
    try:
        return jsonify(convert.document(ready_engine().document(document_id)).model_dump())
    except UnknownDocument as exc:
        raise ApiError(404, f"no document with id {document_id!r}", "unknown_document") from exc
