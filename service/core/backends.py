"""The seam every answering strategy plugs into."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator

from index.access import PUBLIC, Access
from service.core.drafts import Draft
from service.core.questions import Question, Similarity, read_question
from service.core.results import Message
from service.core.retrieval import Passage, Retriever


class BackendError(RuntimeError):
    """The backend could not answer (timeout, unreachable, refused); the message says why."""


class AnswerBackend(ABC):
    """Turn a question and retrieved passages into a draft answer."""

    name: str = "base"
    streams: bool = False  # whether `draft_stream` yields text as it is written

    def question(self, text: str, history: list[Message],
                 similarity: Similarity | None = None) -> Question:
        """Read a question in the light of its history (`similarity`: see read_question)."""
        return read_question(text, history, similarity)

    @abstractmethod
    def draft(self, question: Question, passages: list[Passage], retriever: Retriever,
              access: Access = PUBLIC) -> Draft:
        """Return claims with evidence drawn from `passages` (read by `access`), or abstain.

        An abstention's reason speaks only of what `access` may read.
        """

    def draft_stream(self, question: Question, passages: list[Passage], retriever: Retriever,
                     access: Access = PUBLIC) -> Generator[str, None, Draft]:
        """Yield the draft's text as it is written, then return the draft."""
        draft = self.draft(question, passages, retriever, access)
        yield from ()  # a backend that does not stream writes nothing before it is done
        return draft
