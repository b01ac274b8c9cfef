"""The seam every answering strategy plugs into."""

from __future__ import annotations

from abc import ABC, abstractmethod

from service.drafts import Draft
from service.questions import Question
from service.retrieval import Passage, Retriever


class AnswerBackend(ABC):
    """Turn a question and retrieved passages into a draft answer."""

    name: str = "base"

    @abstractmethod
    def draft(self, question: Question, passages: list[Passage], retriever: Retriever) -> Draft:
        """Return claims with evidence drawn from `passages`, or an abstention."""
