"""Answer with an LLM on any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp).

The model sees the retrieved passages numbered `[1]…[k]` and writes sentences that cite them;
`service.core.verify` then checks every sentence against what it cites. Failures and timeouts raise
`BackendError`, and the engine answers extractively instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator
from dataclasses import replace
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import httpx
import openai
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from index.access import PUBLIC, Access
from service.core.backends import AnswerBackend, BackendError
from service.core.drafts import Draft
from service.core.questions import Question, Similarity, read_question
from service.core.reasons import Reason
from service.core.results import Message
from service.core.retrieval import Passage, Retriever
from service.core.verify import claims_from_text, markers
from service.settings import Config

PROMPT_NAMES = ("answer.system", "answer.user", "followup.system", "followup.user")
# The model's way of saying the passages do not hold the answer (the prompt asks for it).
_NOT_COVERED = re.compile(r"\b(sources|passages) do not (cover|answer|contain|mention)\b", re.I)
# Our own delimiters written inside data would let the data close them.
_DELIMITER = re.compile(r"<(/?\s*(?:passages|question|conversation)\b)", re.I)
MAX_QUERY_CHARS = 500
log = logging.getLogger("citeqa")


def load_prompts(folder: str = "") -> dict[str, str]:
    """Read every prompt file of `folder` (default: the shipped `prompts` package), or fail now."""
    where: Traversable = Path(folder) if folder else files("prompts")
    return {name: where.joinpath(f"{name}.md").read_text(encoding="utf-8").strip()
            for name in PROMPT_NAMES}


def as_data(text: str) -> str:
    """Neutralise delimiters inside text that goes into a prompt as data."""
    return _DELIMITER.sub(r"‹\1", text)


def answer_messages(question: str, passages: list[Passage],
                    prompts: dict[str, str]) -> list[BaseMessage]:
    """Return the system and user messages that ask for a cited answer."""
    numbered = "\n\n".join(
        f"[{i}] {as_data(' — '.join(t for t in (p.title, p.heading) if t))}\n{as_data(p.text)}"
        for i, p in enumerate(passages, start=1))
    user = prompts["answer.user"].format(passages=numbered, question=as_data(question))
    return [SystemMessage(prompts["answer.system"]), HumanMessage(user)]


def followup_messages(question: str, history: list[Message],
                      prompts: dict[str, str]) -> list[BaseMessage]:
    """Return the messages that rewrite a follow-up into a standalone question."""
    turns = "\n".join(f"{m.role}: {as_data(' '.join(m.content.split()))}" for m in history)
    user = prompts["followup.user"].format(history=turns, question=as_data(question))
    return [SystemMessage(prompts["followup.system"]), HumanMessage(user)]


def parse_draft(text: str) -> Draft:
    """Turn the model's text into claims, or an abstention when it says it cannot answer."""
    if not text.strip():
        raise BackendError("the LLM returned an empty answer")
    if _NOT_COVERED.search(text) and not markers(text):
        return Draft(reason=Reason("the LLM found no answer in the retrieved passages"))
    return Draft(claims=claims_from_text(text))


def why(exc: Exception) -> str:
    """Say in a few words why an LLM call failed, without echoing its details."""
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return "the LLM timed out"
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return "the LLM server could not be reached"
    if isinstance(exc, openai.APIStatusError):
        return f"the LLM server answered HTTP {exc.status_code}"
    return "the LLM call failed"


class LLMBackend(AnswerBackend):
    """Draft answers with a chat model through langchain's OpenAI integration."""

    name = "openai"
    streams = True

    def __init__(self, config: Config) -> None:
        """Configure the chat model; nothing is sent until a question comes."""
        self.prompts = load_prompts(config.prompts_dir)
        self.chat = ChatOpenAI(
            model=config.llm_model,
            base_url=config.llm_base_url or None,
            # local servers take any key, but the client insists on one
            api_key=SecretStr(config.llm_api_key or "unused"),
            timeout=config.llm_timeout,
            max_retries=config.llm_retries,
            max_completion_tokens=config.llm_max_tokens,
            temperature=0,
        )

    def question(self, text: str, history: list[Message],
                 similarity: Similarity | None = None) -> Question:
        """Let the model rewrite a follow-up into a standalone query; read it as usual."""
        if not history:
            return read_question(text, history)
        rewritten = " ".join(self._write(followup_messages(text, history, self.prompts)).split())
        rewritten = rewritten.strip("\"'“”")
        if not rewritten or len(rewritten) > MAX_QUERY_CHARS:
            return read_question(text, history, similarity)
        return replace(read_question(rewritten, []), text=text)

    def draft(self, question: Question, passages: list[Passage], retriever: Retriever,
              access: Access = PUBLIC) -> Draft:
        """Ask the model for a cited answer from the passages."""
        if not passages:
            return Draft(reason=Reason("nothing in the indexed documents matches the question"))
        return parse_draft(self._write(answer_messages(question.query, passages, self.prompts)))

    def draft_stream(self, question: Question, passages: list[Passage], retriever: Retriever,
                     access: Access = PUBLIC) -> Generator[str, None, Draft]:
        """Yield the model's tokens as they come, then return the draft they make."""
        if not passages:
            return Draft(reason=Reason("nothing in the indexed documents matches the question"))
        written: list[str] = []
        for token in self._tokens(answer_messages(question.query, passages, self.prompts)):
            written.append(token)
            yield token
        return parse_draft("".join(written))

    def _write(self, messages: list[BaseMessage]) -> str:
        """Return the model's whole reply, or raise BackendError."""
        try:
            return str(self.chat.invoke(messages).text)
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            log.warning("LLM call failed: %r", exc)
            raise BackendError(why(exc)) from exc

    def _tokens(self, messages: list[BaseMessage]) -> Iterator[str]:
        """Yield the model's reply piece by piece, or raise BackendError."""
        try:
            for chunk in self.chat.stream(messages):
                yield str(chunk.text)
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            log.warning("LLM stream failed: %r", exc)
            raise BackendError(why(exc)) from exc


