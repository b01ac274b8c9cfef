"""The HTTP API: answer, search and documents, for the default collection and for each named one.

`/api/v1/answer` is `/api/v1/collections/default/answer`, and so on for every reader route.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator

from flask import Response, jsonify, request, stream_with_context

from service.core.engine import UnknownDocument
from service.core.results import EventData
from service.http.errors import ApiError
from service.http.routes import DocumentedBlueprint, both
from service.http.schemas import (
    AnswerRequest,
    AnswerResponse,
    DocumentDetail,
    DocumentList,
    SearchRequest,
    SearchResponse,
)
from service.web import convert, manage, outages
from service.web.context import check_limits, parse, reader_access, ready_engine

ASKING = (400, 401, 403, 404, 413, 415, 429, 503)
bp = DocumentedBlueprint("api", __name__)


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
        log.warning("answer stream failed (%s)", exc.__class__.__name__)
        yield f"event: error\ndata: {json.dumps(outages.client_error(exc).body())}\n\n"


@bp.operation(*both("post", "/answer", "Answer a question with citations, or abstain{whose}.",
                    AnswerResponse, AnswerRequest, ASKING, streams=True))
def answer(name: str) -> Response:
    """Answer a question (JSON, or SSE with `Accept: text/event-stream`)."""
    req = parse(AnswerRequest)
    check_limits(req.question, len(req.history), req.top_k)
    eng, access = ready_engine(name), reader_access()
    history = convert.history(req.history)
    if request.accept_mimetypes.best == "text/event-stream":
        events = eng.answer_events(req.question, history, req.top_k, access)
        first = next(events)  # retrieval runs here, so its failures are still JSON errors
        stream = stream_with_context(sse(itertools.chain([first], events)))
        return Response(stream, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    result = eng.answer(req.question, history, req.top_k, access)
    return jsonify(convert.answer(result).model_dump())


@bp.operation(*both("post", "/search", "Rank passages for a query{whose}.", SearchResponse,
                    SearchRequest, ASKING))
def search(name: str) -> Response:
    """Return ranked passages."""
    req = parse(SearchRequest)
    check_limits(req.query, 0, req.top_k)
    hits = ready_engine(name).search(req.query, req.top_k, reader_access())
    return jsonify(convert.search(req.query, hits).model_dump())


@bp.operation(*both("get", "/documents", "List the documents{whose} the caller may read.",
                    DocumentList))
def documents(name: str) -> Response:
    """List documents (an admin also sees uploads still queued or failed)."""
    return jsonify(manage.listing(name).model_dump())


@bp.operation(*both("get", "/documents/{document_id}",
                    "Return a document{whose} with its full text and indexing status.",
                    DocumentDetail))
def document(name: str, document_id: str) -> Response:
    """Return one document with its text and status."""
    try:
        return jsonify(manage.detail(name, document_id).model_dump())
    except UnknownDocument as exc:
        raise ApiError(404, manage.NO_DOCUMENT, "unknown_document") from exc
