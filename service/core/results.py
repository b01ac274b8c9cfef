"""What the answering core takes and returns; the HTTP layer turns these into its schemas."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    """One earlier turn of the conversation: `role` is "user" or "assistant"."""

    role: str
    content: str


@dataclass(frozen=True)
class Citation:
    """The exact passage that supports a claim: `text == document_text[start:end]`."""

    id: int
    document_id: str
    title: str
    url: str
    text: str
    start: int
    end: int
    score: float


@dataclass
class Verification:
    """What checking a draft against its citations changed."""

    removed: int = 0
    recited: int = 0


@dataclass(frozen=True)
class Answer:
    """An answer whose every `[n]` is a citation, or an abstention with its reason."""

    answer: str
    abstained: bool
    reason: str
    citations: list[Citation]
    query: str
    backend: str
    fallback: str = ""
    verification: Verification = field(default_factory=Verification)


@dataclass(frozen=True)
class DocumentInfo:
    """A document's metadata, and its full text when asked for."""

    id: str
    title: str
    url: str
    length: int
    text: str | None = None
    groups: tuple[str, ...] = ()  # who may read it; none: every reader


EventData = list[Citation] | str | Answer  # citations, a text delta, or the finished answer
