"""The units that flow through indexing: documents, their sentences and chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")  # the files citeqa reads


@dataclass(frozen=True)
class Document:
    """One source file as text, with the metadata citations show."""

    id: str
    title: str
    url: str
    text: str
    fingerprint: str
    groups: tuple[str, ...] = ()  # who may read it (index/access.py); none: every reader


@dataclass(frozen=True)
class Span:
    """A character range `[start, end)` in a document's text."""

    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: consecutive sentences of one section of a document."""

    doc_id: str
    index: int
    start: int
    end: int
    heading: str
    sentences: tuple[Span, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        """Return the chunk's stable id in the vector store."""
        return f"{self.doc_id}::{self.index}"


def imported(doc_id: str) -> bool:
    """Tell whether a document id is a web page's URL (from `citeqa import`), not a file path."""
    return "://" in doc_id
