"""Split a document along its structure: sections, paragraphs, then sentences.

Every sentence and chunk keeps exact character offsets into the document text, so
`text[start:end]` is always the cited passage.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

from index.documents import Chunk, Document, Span

CHUNK_CHARS = 700
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_LIST_MARK = re.compile(r"(?:[-*+]|\d{1,9}[.)])[ \t]+")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    """Return the shared rule-based sentence segmenter (knows "U.S.", "Dr.", "$305.9")."""
    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Return the sentences of `text[start:end]` as spans of `text`, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for para_start, para_end in _paragraphs(text, start, end):
        cursor = para_start
        for piece in _segmenter().segment(text[para_start:para_end]):
            stripped = piece.strip()
            if not stripped:
                continue
            found = text.find(stripped, cursor, para_end)
            if found < 0:  # the segmenter altered the text; keep offsets honest
                continue
            cursor = found + len(stripped)
            bullet = _LIST_MARK.match(text, found, cursor)
            if bullet and bullet.end() < cursor and (found == 0 or text[found - 1] == "\n"):
                found = bullet.end()  # a list item's sentence is its words, not its bullet
            spans.append(Span(found, cursor))
    return spans


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Return the non-blank paragraph ranges of `text[start:end]`."""
    ranges: list[tuple[int, int]] = []
    cursor = start
    for brk in _PARAGRAPH_BREAK.finditer(text, start, end):
        ranges.append((cursor, brk.start()))
        cursor = brk.end()
    ranges.append((cursor, end))
    return [(a, b) for a, b in ranges if text[a:b].strip()]


def sections(text: str) -> list[tuple[str, int, int]]:
    """Return `(heading, start, end)` for each section; the body follows its heading line."""
    marks = list(_HEADING.finditer(text))
    result: list[tuple[str, int, int]] = []
    first = marks[0].start() if marks else len(text)
    if text[:first].strip():
        result.append(("", 0, first))
    for i, mark in enumerate(marks):
        stop = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        result.append((mark.group(1), mark.end(), stop))
    return result


def chunk_document(doc: Document, max_chars: int = CHUNK_CHARS) -> list[Chunk]:
    """Group each section's sentences into chunks of at most about `max_chars`."""
    chunks: list[Chunk] = []
    for heading, start, end in sections(doc.text):
        group: list[Span] = []
        for span in sentence_spans(doc.text, start, end):
            if group and span.end - group[0].start > max_chars:
                chunks.append(_make(doc.id, len(chunks), heading, group))
                group = []
            group.append(span)
        if group:
            chunks.append(_make(doc.id, len(chunks), heading, group))
    return chunks


def _make(doc_id: str, index: int, heading: str, group: list[Span]) -> Chunk:
    """Build a chunk spanning a run of sentences."""
    return Chunk(doc_id, index, group[0].start, group[-1].end, heading, tuple(group))
