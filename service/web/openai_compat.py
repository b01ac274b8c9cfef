"""citeqa as an OpenAI-compatible model: `POST /v1/chat/completions` and `GET /v1/models`.

The last user message is the question and earlier user/assistant messages are its history;
system messages are ignored, so a caller cannot change how citeqa answers. The answer keeps
its `[n]` markers, lists its sources as Markdown footnotes, and carries the citations in
`message.citations` (in the first chunk's `delta.citations` when streaming). A stream sends
only verified text, because an OpenAI client cannot take back text it has shown.
"""

from __future__ import annotations

import html
import json
import time
import uuid
from collections.abc import Iterator

from flask import Response, jsonify, stream_with_context

from service.http.errors import ApiError
from service.http.openai_schemas import (
    MODEL_ID,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ChunkChoice,
    CitedMessage,
    Delta,
    ModelCard,
    ModelList,
    collection_of,
    model_id,
)
from service.http.routes import DocumentedBlueprint, Route
from service.http.schemas import AnswerRequest, AnswerResponse, Citation, Message
from service.web import convert
from service.web.context import (
    check_limits,
    check_scope,
    library,
    parse,
    reader_access,
    ready_engine,
    visible_collections,
)

bp = DocumentedBlueprint("openai_compat", __name__)
SOURCES = "\n\nSources:\n"


def footnotes(citations: list[Citation]) -> str:
    """Return the citations as a readable Markdown list, one per `[n]`."""
    if not citations:
        return ""
    return SOURCES + "\n".join(
        f"- [{c.id}] *{c.title or c.document_id}*: “{' '.join(c.text.split())}” "
        f"({c.document_id}, characters {c.start}–{c.end})" for c in citations)


def markdown_text(answer: AnswerResponse) -> str:
    """Return the answer and its footnotes as Markdown that shows document text as text.

    Documents may hold HTML or Markdown links; a chat client renders both, so tags are
    escaped and link syntax is broken (`](` becomes `]\\(`).
    """
    text = answer.answer + footnotes(answer.citations)
    return html.escape(text, quote=False).replace("](", "]\\(")


def to_answer_request(req: ChatCompletionRequest) -> AnswerRequest:
    """Read the question and its history from the chat messages, or raise 400."""
    turns = [m for m in req.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question", "invalid_request")
    history = [Message(role="user" if m.role == "user" else "assistant",
                       content=_without_sources(m)) for m in turns[:-1]]
    question = turns[-1].text
    check_limits(question, len(history), None)
    return AnswerRequest(question=question, history=history)


def _without_sources(message: ChatMessage) -> str:
    """Return a message's text without the footnotes citeqa added to it."""
    return message.text.split(SOURCES, 1)[0][:20000]


def collection_for(model: str) -> str:
    """Return the collection a model id answers from, or raise 404."""
    name = collection_of(model)
    if name is not None:
        check_scope(name)  # before existence, so a scoped caller learns nothing of others
    if name is None or name not in library().names():
        raise ApiError(404, f"the model {model!r} does not exist; use {MODEL_ID!r} or "
                            f"{MODEL_ID}-<collection>", "model_not_found")
    return name


@bp.operation(Route("get", "/v1/models", "OpenAI-compatible list of the models the caller may "
                   "use: `citeqa` (the default collection) and `citeqa-NAME` for each other "
                   "collection its key or page token may use.",
                   ModelList, errors=(401, 429)))
def models() -> Response:
    """List one model per collection the caller may use: `citeqa`, `citeqa-NAME`, …"""
    return jsonify(ModelList(data=[ModelCard(id=model_id(n)) for n in visible_collections()])
                   .model_dump())


@bp.operation(Route("post", "/v1/chat/completions",
                   "OpenAI-compatible chat completion: the answer with `[n]` markers and "
                   "footnotes, and its citations in `message.citations`.", ChatCompletion,
                   ChatCompletionRequest, (400, 401, 403, 404, 413, 415, 429, 503), streams=True,
                   events="`data:` lines of `chat.completion.chunk` JSON (the first carries "
                          "`delta.citations`), then `data: [DONE]`."))
def chat_completions() -> Response:
    """Answer the last user message as a chat completion, streamed when asked."""
    req = parse(ChatCompletionRequest)
    collection = collection_for(req.model)
    question = to_answer_request(req)
    result = convert.answer(ready_engine(collection).answer(
        question.question, convert.history(question.history), access=reader_access()))
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if req.stream:
        stream = stream_with_context(_chunks(result, ident, created, req.model))
        return Response(stream, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    message = CitedMessage(content=markdown_text(result),
                           citations=result.citations, abstained=result.abstained)
    completion = ChatCompletion(id=ident, created=created, model=req.model,
                                choices=[Choice(message=message)])
    return jsonify(completion.model_dump())


def _chunks(result: AnswerResponse, ident: str, created: int, model: str) -> Iterator[str]:
    """Yield the verified answer as OpenAI chunks: role and citations, words, stop, [DONE]."""
    words = markdown_text(result).split(" ")
    deltas = [Delta(role="assistant", content="", citations=result.citations)]
    deltas += [Delta(content=w if i == 0 else " " + w) for i, w in enumerate(words)]
    for delta in deltas:
        yield _data(ChatCompletionChunk(id=ident, created=created, model=model,
                                        choices=[ChunkChoice(delta=delta)]))
    yield _data(ChatCompletionChunk(id=ident, created=created, model=model,
                                    choices=[ChunkChoice(delta=Delta(), finish_reason="stop")]))
    yield "data: [DONE]\n\n"


def _data(chunk: ChatCompletionChunk) -> str:
    """Format a chunk as an SSE `data:` line, leaving out what its delta does not set."""
    body = chunk.model_dump()
    body["choices"] = [{**c.model_dump(), "delta": c.delta.model_dump(exclude_none=True)}
                       for c in chunk.choices]
    return f"data: {json.dumps(body)}\n\n"
