"""citeqa as a model for the official `openai` client: answers keep their citations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from tests.support.servers import serving_in_thread

QUESTION = "Until when did Canada extend Operation IMPACT?"


@pytest.fixture(scope="module")
def base_url(app: Flask) -> Iterator[str]:
    """Serve the app over real HTTP on a free port for the module's tests."""
    with serving_in_thread(make_server("127.0.0.1", 0, app, threaded=True), "/v1") as base:
        yield base


@pytest.fixture()
def client(base_url: str) -> openai.OpenAI:
    """Return the official OpenAI client pointed at citeqa."""
    return openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=30)


def assert_cited(content: str, citations: list[dict[str, Any]]) -> None:
    """Every marker of the answer is a citation, listed as a footnote with its passage."""
    answer, _, notes = content.partition("\n\nSources:\n")
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer)} == {c["id"] for c in citations}
    for c in citations:
        assert f"- [{c['id']}] *{c['title']}*" in notes and c["document_id"] in notes


def test_models_lists_citeqa(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["citeqa"]


def test_completion_carries_citations(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="citeqa", messages=[{"role": "system", "content": "Answer in French."},
                                  {"role": "user", "content": QUESTION}])
    message = completion.choices[0].message
    assert completion.object == "chat.completion" and message.role == "assistant"
    assert message.content and "March 31, 2017" in message.content
    citations = (message.model_extra or {})["citations"]
    assert citations and any("March 31, 2017" in c["text"] for c in citations)
    assert_cited(message.content, citations)
    assert completion.choices[0].finish_reason == "stop"


def test_stream_sends_citations_then_the_same_answer(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="citeqa",
                                           messages=[{"role": "user", "content": QUESTION}])
    stream = client.chat.completions.create(model="citeqa", stream=True,
                                            messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    citations = [cite for c in chunks for cite in (c.choices[0].delta.model_extra or {})
                 .get("citations") or []]
    assert len(chunks) > 3 and chunks[-1].choices[0].finish_reason == "stop"
    assert text == whole.choices[0].message.content
    assert citations == (whole.choices[0].message.model_extra or {})["citations"]
    assert_cited(text, citations)


def test_follow_up_uses_the_conversation(client: openai.OpenAI) -> None:
    first = "When did Canada sign the agreement with Jordan?"
    answer = client.chat.completions.create(
        model="citeqa", messages=[{"role": "user", "content": first}]).choices[0].message
    follow = client.chat.completions.create(model="citeqa", messages=[
        {"role": "user", "content": first},
        {"role": "assistant", "content": answer.content or ""},
        {"role": "user", "content": [{"type": "text", "text": "What was it meant to do?"}]},
    ]).choices[0].message
    assert "increase cooperation" in (follow.content or "")


def test_uncovered_question_abstains_without_citations(client: openai.OpenAI) -> None:
    message = client.chat.completions.create(
        model="citeqa", messages=[{"role": "user", "content": "What is the capital of "
                                                               "Australia?"}]).choices[0].message
    assert "sources do not cover" in (message.content or "")
    assert (message.model_extra or {})["citations"] == []
    assert (message.model_extra or {})["abstained"] is True


def test_errors_reach_the_client_as_json(client: openai.OpenAI, base_url: str) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user",
                                                                 "content": QUESTION}])
    with pytest.raises(openai.BadRequestError, match="user's question"):
        client.chat.completions.create(model="citeqa", messages=[{"role": "assistant",
                                                                  "content": "Hello"}])
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.chat.completions.create(model="citeqa", messages=[{"role": "user",
                                                                  "content": "  "}])
    bad = requests.post(f"{base_url}/chat/completions", data="{oops",
                        headers={"Content-Type": "application/json"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    wrong = requests.get(f"{base_url}/chat/completions", timeout=10)
    assert wrong.status_code == 405 and set(wrong.json()["error"]) == {"code", "message"}


def test_routes_are_in_the_openapi_document(base_url: str) -> None:
    spec = requests.get(base_url.removesuffix("/v1") + "/openapi.json", timeout=10).json()
    assert {"/v1/chat/completions", "/v1/models"} <= set(spec["paths"])
    post = spec["paths"]["/v1/chat/completions"]["post"]
    assert "[DONE]" in post["responses"]["200"]["content"]["text/event-stream"]["schema"][
        "description"]
    assert "citations" in spec["components"]["schemas"]["CitedMessage"]["properties"]
