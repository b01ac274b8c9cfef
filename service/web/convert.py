"""Turn the core's results into the HTTP schemas, and requests into the core's inputs."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from service.core import results
from service.core.retrieval import Passage
from service.http import schemas
from service.web import markdown
from service.web.i18n import localize


def history(messages: list[schemas.Message]) -> list[results.Message]:
    """Return the conversation as the core reads it."""
    return [results.Message(m.role, m.content) for m in messages]


def answer(result: results.Answer) -> schemas.AnswerResponse:
    """Return an answer as the API sends it."""
    shown = replace(result, answer=localize(result.answer), reason=localize(result.reason))
    response = schemas.AnswerResponse.model_validate(asdict(shown))
    response.answer_html = markdown.render(response.answer)
    response.citations = citations(result.citations)
    return response


def citations(found: list[results.Citation]) -> list[schemas.Citation]:
    """Return citations as the API sends them."""
    return [schemas.Citation.model_validate({**asdict(c), "html": markdown.render(c.text)})
            for c in found]


def search(query: str, passages: list[Passage]) -> schemas.SearchResponse:
    """Return ranked passages as the API sends them."""
    return schemas.SearchResponse(query=query, results=[
        schemas.SearchHit(document_id=p.doc_id, title=p.title, url=p.url, heading=p.heading,
                          text=p.text, start=p.start, end=p.end, score=round(p.fused, 6),
                          dense=round(p.dense, 4), lexical=round(p.lexical, 4))
        for p in passages])


def summary(found: results.DocumentInfo, groups: bool = False) -> schemas.DocumentSummary:
    """Return a document's metadata as the API sends it (its groups only when asked)."""
    return schemas.DocumentSummary(id=found.id, title=found.title, url=found.url,
                                   length=found.length,
                                   groups=list(found.groups) if groups else [])


def document(found: results.DocumentInfo, groups: bool = False) -> schemas.DocumentDetail:
    """Return one document with its text as the API sends it (its groups only when asked)."""
    text = found.text or ""
    return schemas.DocumentDetail(**summary(found, groups).model_dump(), text=text,
                                  html=markdown.anchored(text))


def event(payload: results.EventData) -> dict[str, Any]:
    """Return one answer event's JSON data."""
    if isinstance(payload, str):
        return {"text": payload}
    if isinstance(payload, results.Answer):
        return answer(payload).model_dump()
    return {"citations": [c.model_dump() for c in citations(payload)]}
