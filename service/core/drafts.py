"""Drafts of answers as claims with evidence, and how a draft becomes numbered citations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from service.core.results import Citation
from service.core.retrieval import Passage

_END_PUNCT = re.compile(r"[.!?]+[\"'”’)]*$")


@dataclass(frozen=True)
class Evidence:
    """A span of a retrieved passage, in document offsets, that supports a claim."""

    passage: Passage
    start: int
    end: int

    @property
    def text(self) -> str:
        """Return the cited text exactly as it stands in the document."""
        return self.passage.text[self.start - self.passage.start:self.end - self.passage.start]


@dataclass
class Claim:
    """One sentence of an answer and the evidence cited for it."""

    text: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Draft:
    """An answer as claims, or an abstention with its reason."""

    claims: list[Claim] = field(default_factory=list)
    reason: str = ""

    @property
    def abstained(self) -> bool:
        """Return whether nothing supported is left to say."""
        return not self.claims


def compose(claims: list[Claim]) -> tuple[str, list[Citation]]:
    """Number evidence in order of first use and write each claim with its `[n]` markers."""
    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    sentences: list[str] = []
    for claim in claims:
        marks: list[int] = []
        for ev in claim.evidence:
            key = (ev.passage.doc_id, ev.start, ev.end)
            if key not in numbers:
                numbers[key] = len(citations) + 1
                citations.append(Citation(
                    id=numbers[key], document_id=ev.passage.doc_id, title=ev.passage.title,
                    url=ev.passage.url, text=ev.text, start=ev.start, end=ev.end,
                    score=round(ev.passage.dense, 4),
                ))
            if numbers[key] not in marks:
                marks.append(numbers[key])
        sentences.append(_mark(claim.text, marks))
    return " ".join(sentences), citations


def _mark(sentence: str, marks: list[int]) -> str:
    """Put `[n]` markers before a sentence's final punctuation."""
    body = sentence.rstrip()
    tail = _END_PUNCT.search(body)
    end = tail.group(0) if tail else "."
    body = body[:tail.start()] if tail else body.rstrip(":;,")
    refs = "".join(f"[{m}]" for m in marks)
    return f"{body} {refs}{end}" if refs else f"{body}{end}"
