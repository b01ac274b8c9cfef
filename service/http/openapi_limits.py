"""Write the configured request limits into the OpenAPI document, so clients (and fuzzers)
know a request the service will refuse before they send it."""

from __future__ import annotations

from typing import Any

from service.settings import Config

NOT_BLANK = r"\S"  # the service refuses questions and queries of whitespace only


def _integer_branch(prop: dict[str, Any]) -> dict[str, Any]:
    """Return the integer schema of an optional integer property."""
    return next((b for b in prop.get("anyOf", []) if b.get("type") == "integer"), prop)


def with_limits(document: dict[str, Any], cfg: Config) -> dict[str, Any]:
    """Add maxLength, maxItems, maximum and non-blank patterns from the settings."""
    schemas = document["components"]["schemas"]
    for model, text in (("AnswerRequest", "question"), ("SearchRequest", "query")):
        props = schemas.get(model, {}).get("properties", {})
        if text in props:
            props[text].update(maxLength=cfg.max_question_chars, pattern=NOT_BLANK)
        if "top_k" in props:
            _integer_branch(props["top_k"])["maximum"] = cfg.max_top_k
    history = schemas.get("AnswerRequest", {}).get("properties", {}).get("history")
    if history is not None:
        history["maxItems"] = cfg.max_history_turns
    return document
