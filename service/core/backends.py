"""The seam every answering strategy plugs into."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator

from service.core.drafts import Draft
from service.core.questions import Question, read_question
from service.core.results import Message
from service.core.retrieval import Passage, Retriever


class BackendError(RuntimeError):
    """The backend could not answer (timeout, unreachable, refused); the message says why."""


class AnswerBackend(ABC):
    """Turn a question and retrieved passages into a draft answer."""

    name: str = "base"
    streams: bool = False  # whether `draft_stream` yields text as it is written

    def question(self, text: str, history: list[Message]) -> Question:
        """Read a question in the light of its history."""
        return read_question(text, history)

    @abstractmethod
    def draft(self, question: Question, passages: list[Passage], retriever: Retriever) -> Draft:
        """Return claims with evidence drawn from `passages`, or an abstention."""

    def draft_stream(self, question: Question, passages: list[Passage],
                     retriever: Retriever) -> Generator[str, None, Draft]:
        """Yield the draft's text as it is written, then return the draft."""
        draft = self.draft(question, passages, retriever)
        yield from ()  # a backend that does not stream writes nothing before it is done
        return draft
