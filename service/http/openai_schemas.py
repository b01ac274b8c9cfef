"""Typed models of the OpenAI-compatible routes: chat completions (and chunks) and models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.http.schemas import Citation

MODEL_ID = "citeqa"


def model_id(collection: str) -> str:
    """Return the model id that answers from a collection: `citeqa`, or `citeqa-NAME`."""
    return MODEL_ID if collection == "default" else f"{MODEL_ID}-{collection}"


def collection_of(model: str) -> str | None:
    """Return the collection a model id names, or None when it names none."""
    if model == MODEL_ID:
        return "default"
    prefix = MODEL_ID + "-"
    return model[len(prefix):] if model.startswith(prefix) and len(model) > len(prefix) else None


class ContentPart(BaseModel):
    """One part of a message's content; only text parts carry a question."""

    model_config = ConfigDict(extra="ignore")
    type: str
    text: str = ""


class ChatMessage(BaseModel):
    """One message of an OpenAI chat request."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        """Return the message's text, joining text parts."""
        if isinstance(self.content, list):
            return " ".join(p.text for p in self.content if p.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """An OpenAI chat request; sampling options (temperature, …) are accepted and unused."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(description=f"The model id; citeqa serves `{MODEL_ID}`.")
    messages: list[ChatMessage] = Field(min_length=1, description="The last one is the question.")
    stream: bool = Field(default=False, description="Send `chat.completion.chunk` events (SSE).")


class CitedMessage(BaseModel):
    """The assistant's answer: text with `[n]` markers and footnotes, and its citations."""

    role: Literal["assistant"] = "assistant"
    content: str
    citations: list[Citation] = Field(description="What each `[n]` of the content cites.")
    abstained: bool = Field(description="Whether citeqa said the sources do not cover it.")


class Choice(BaseModel):
    """The one answer of a completion."""

    index: int = 0
    message: CitedMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    """Token counts; citeqa does not count tokens, so these are zeros."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(BaseModel):
    """An OpenAI `chat.completion` whose message keeps citeqa's citations."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)


class Delta(BaseModel):
    """What one streamed chunk adds to the message."""

    role: Literal["assistant"] | None = None
    content: str | None = None
    citations: list[Citation] | None = None


class ChunkChoice(BaseModel):
    """One streamed piece of the answer."""

    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """An OpenAI `chat.completion.chunk`, as sent in `data:` lines when streaming."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]


class ModelCard(BaseModel):
    """A model citeqa serves."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "citeqa"


class ModelList(BaseModel):
    """The models citeqa serves."""

    object: Literal["list"] = "list"
    data: list[ModelCard]
