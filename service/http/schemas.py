"""Typed request and response models of the HTTP API; the OpenAPI document comes from these."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from index.collections import MAX_EXAMPLES


def web_link(url: str) -> str:
    """Return the URL when it is an http(s) link, else "" (`javascript:`, `data:`, …)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed `[` in the host
        return ""
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


# A document's link as the API returns it: only what a browser may safely open.
WebLink = Annotated[str, AfterValidator(web_link)]


def json_integer(value: object) -> object:
    """Refuse what JSON does not call an integer: `true`, `"5"` (2.0 is one, 2.5 is not)."""
    if isinstance(value, bool | str):
        raise ValueError("Input should be a JSON integer")
    return value


# A count as JSON Schema means an integer: no booleans, no numbers in strings.
Count = Annotated[int, Field(ge=1), BeforeValidator(json_integer)]


class Message(BaseModel):
    """One earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20000)


class AnswerRequest(BaseModel):
    """A question, the conversation so far, and how many passages to retrieve."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, description="The question to answer.")
    history: list[Message] = Field(default_factory=list, description="Earlier turns, oldest first.")
    top_k: Count | None = Field(default=None, description="Passages to retrieve.")


class Citation(BaseModel):
    """The exact passage that supports a claim: `text == document_text[start:end]`."""

    id: int = Field(description="The number used in the answer's `[n]` markers.")
    document_id: str
    title: str
    url: WebLink = ""
    text: str
    html: str = Field(default="", description="`text` as sanitised HTML (Markdown rendered, "
                                              "raw HTML shown as text).")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float = Field(description="Similarity of the cited passage to the question, 0..1.")


class Verification(BaseModel):
    """What checking the draft against its citations changed."""

    removed: int = Field(default=0, description="Sentences dropped: nothing retrieved supports "
                                                "them (a wrong number or name, a claim the "
                                                "passages do not make).")
    recited: int = Field(default=0, description="Sentences kept with changed citations: a wrong "
                                                "or dangling marker replaced by the passage that "
                                                "supports them.")


class AnswerResponse(BaseModel):
    """An answer whose every `[n]` is a citation, or an abstention with its reason."""

    answer: str
    answer_html: str = Field(default="", description="`answer` as sanitised HTML (Markdown "
                                                     "rendered, `[n]` markers kept as text).")
    abstained: bool
    reason: str = ""
    citations: list[Citation]
    query: str = Field(description="The standalone query used for retrieval.")
    backend: str = Field(default="extractive", description="The backend that wrote the answer.")
    fallback: str = Field(default="", description="Why the configured backend was not used "
                                                  "(the LLM failed or timed out); empty if it was.")
    verification: Verification = Field(default_factory=Verification)


class SearchRequest(BaseModel):
    """A query for ranked passages."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    top_k: Count | None = None


class SearchHit(BaseModel):
    """One ranked passage with its offsets and scores."""

    document_id: str
    title: str
    url: WebLink = ""
    heading: str = ""
    text: str
    start: int
    end: int
    score: float = Field(description="Fused rank score (reciprocal rank fusion).")
    dense: float = Field(description="Cosine similarity of the passage to the query.")
    lexical: float = Field(description="BM25 score of the passage for the query.")


class SearchResponse(BaseModel):
    """Ranked passages, best first."""

    query: str
    results: list[SearchHit]


class DocumentSummary(BaseModel):
    """A document's metadata and indexing status."""

    id: str
    title: str
    url: WebLink = ""
    length: int
    status: Literal["queued", "indexing", "ready", "failed", "deleting"] = Field(
        default="ready", description="Where its indexing stands; only `ready` is answered from.")
    reason: str = Field(default="", description="Why indexing failed; for a finished site "
                                                "import, its report (pages fetched, skipped "
                                                "and why).")
    progress: str = Field(default="", description="How far indexing went while it runs.")
    groups: list[str] = Field(default_factory=list,
                              description="Who may read it (shown to admins only).")


class DocumentList(BaseModel):
    """Every indexed document."""

    documents: list[DocumentSummary]


class DocumentDetail(DocumentSummary):
    """A document with its full text, for showing a cited passage in context."""

    text: str
    html: str = Field(default="", description="`text` as sanitised HTML (Markdown rendered); "
                                              "each `<span data-at=N>` starts at `text[N]`.")


class ErrorBody(BaseModel):
    """A machine-readable code and a human-readable message."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error the API returns."""

    error: ErrorBody


class Health(BaseModel):
    """Liveness or readiness."""

    status: str
    documents: int = 0
    chunks: int = 0


class FeedbackRequest(BaseModel):
    """A reader's verdict on one answer, with the question and history that produced it."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000)
    history: list[Message] = Field(default_factory=list, max_length=40)
    answer: AnswerResponse
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)


class FeedbackSaved(BaseModel):
    """The stored feedback's id."""

    id: int


class ExampleList(BaseModel):
    """Example questions that the loaded index answers, for an empty chat."""

    examples: list[str]


EXAMPLES_NOTE = ("Example questions of the collection's chat; one is shown only when the "
                 "index answers it for that reader.")


class CollectionCreate(BaseModel):
    """A new collection's name, and what its owner says of it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="1-40 lowercase letters, digits and single hyphens.")
    title: str = Field(default="", max_length=80, description="Shown as the chat's heading.")
    description: str = Field(default="", max_length=500)
    groups: list[str] | str = Field(default_factory=list, description="Groups the console "
                                    "proposes for new uploads (a list, or comma-separated).")
    examples: list[str] = Field(default_factory=list, max_length=MAX_EXAMPLES,
                                description=EXAMPLES_NOTE)


class CollectionEdit(BaseModel):
    """A new title, description, proposed groups or examples for a collection (absent: kept)."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=80)
    description: str | None = Field(default=None, max_length=500)
    groups: list[str] | str | None = None
    examples: list[str] | None = Field(default=None, max_length=MAX_EXAMPLES,
                                       description=EXAMPLES_NOTE)


class CollectionInfo(BaseModel):
    """A collection, what its owner says of it, and the OpenAI model id that answers from it."""

    name: str
    model: str
    title: str = ""
    description: str = ""
    groups: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)


class AdminCheck(BaseModel):
    """The key may manage collections."""

    admin: bool = True


class DocumentEdit(BaseModel):
    """A new title or new access groups for a document (it is indexed again)."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=300)
    groups: list[str] | str | None = Field(default=None, description="Access groups (a list, "
                                           "or comma-separated; empty: every reader).")


class CollectionList(BaseModel):
    """The collections the caller may use."""

    collections: list[CollectionInfo]


class TextUpload(BaseModel):
    """A document sent as JSON text instead of a file."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, description="The document (Markdown headings are kept).")
    title: str = Field(default="", max_length=300)
    groups: list[str] | str = Field(default_factory=list,
                                    description="Access groups (a list, or comma-separated).")


class UploadAccepted(BaseModel):
    """An upload taken into the indexing queue."""

    id: str
    status: str


class SiteImportRequest(BaseModel):
    """A web site to import into a collection."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000,
                     description="Start page (http or https); only pages of its site are read.")
    max_pages: int | None = Field(default=None, ge=1, description="Most pages fetched (at most "
                                  "CITEQA_IMPORT_MAX_PAGES, its default).")
    max_depth: int | None = Field(default=None, ge=0, description="Most links followed from "
                                  "the start page (default CITEQA_IMPORT_MAX_DEPTH).")
    groups: list[str] | str = Field(default_factory=list,
                                    description="Access groups of every imported page.")
