"""The question-answering flow: condense, retrieve, draft, compose — over one loaded index."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace

from index import collections, store, switch, systems
from index.access import PUBLIC, Access, groups_of
from service.core.backends import AnswerBackend, BackendError
from service.core.drafts import Draft, compose
from service.core.extractive import PROFILES, ExtractiveBackend
from service.core.loaded import LoadedIndex
from service.core.meaning import Judge
from service.core.questions import Question
from service.core.reasons import Reason
from service.core.reloader import Reloader
from service.core.results import Answer, DocumentInfo, EventData, Message
from service.core.retrieval import Passage, Retriever
from service.core.verify import Verifier
from service.ops.metrics import count_answer, stage
from service.settings import Config

NOT_COVERED = Reason("The sources do not cover this question.")
log = logging.getLogger("citeqa")


def judge_for(config: Config) -> Judge | None:
    """Return the relevance model's judge when the settings answer by meaning."""
    return Judge.shipped() if config.meaning else None


def backend_for(config: Config) -> AnswerBackend:
    """Return the answer backend the settings name."""
    if config.backend == "openai":
        from service.core.llm_backend import LLMBackend  # the OpenAI client takes ~1 s to import

        return LLMBackend(config)
    if config.backend == "extractive":
        return ExtractiveBackend(PROFILES[config.abstention], judge=judge_for(config))
    raise ValueError(f"CITEQA_BACKEND must be `extractive` or `openai`, not {config.backend!r}")


class NotReady(RuntimeError):
    """The index is not loaded (yet, or because it is missing or broken)."""


class UnknownDocument(KeyError):
    """No indexed document has this id."""


class Engine:
    """Hold one collection's loaded index and answer over it; safe to share between threads.

    Every reading method takes the caller's `access`: what it may not read is filtered out
    inside retrieval (index/access.py), so it never reaches an answer, a hit or a list.
    """

    def __init__(self, config: Config, backend: AnswerBackend | None = None,
                 name: str = collections.DEFAULT) -> None:
        """Remember the settings; `load()` does the heavy work."""
        self.config = config
        self.name = name
        self.judge = judge_for(config)
        self.verifier_judge = Judge.shipped() if config.verify_by_meaning else None
        self.backend = backend or backend_for(config)
        self.fallback = ExtractiveBackend(PROFILES[config.abstention], judge=self.judge)
        self._index: LoadedIndex | None = None
        self._error = "index is loading"
        self._loaded = threading.Event()
        self._reloader = Reloader(config.index_check_seconds, self._stale, self.load)

    def store_config(self) -> store.StoreConfig:
        """Return where this collection's index lives (its base collection name)."""
        return collections.store_config(store.StoreConfig(
            self.config.data_dir, self.config.collection, self.config.chroma_url,
            self.config.chroma_timeout), self.name)

    def load(self) -> None:
        """Open the serving collection, load the model and build the BM25 index.

        A failure is recorded; a reload that fails keeps the index already serving.
        """
        try:
            cfg = self.store_config()
            api = store.client(cfg, fresh=True)  # an embedded store's cache holds old vectors
            serving = switch.active(api, cfg.collection)
            texts = store.docs_collection(api, serving.collection)
            retriever = Retriever.open(replace(cfg, collection=serving.collection), api,
                                       self.config.model_threads, serving)
            if not len(retriever) and self.name == collections.DEFAULT:
                raise NotReady("the index is empty: run `citeqa index` first")
            retriever.embedder.embed_query("warm up")
            # this generation's system runs while a request still reads these collections
            systems.hold(api, texts, retriever.chunks)
            # one assignment: a request sees the old generation or the new one, never a mix
            self._index = LoadedIndex(api, retriever, texts, serving.version)
            self._error = ""
        except NotReady as exc:
            self._failed(str(exc))
        except Exception as exc:  # a corrupt store raises many kinds; report, never crash
            self._failed(f"the index could not be opened ({exc.__class__.__name__})")
        finally:
            self._loaded.set()

    def _failed(self, reason: str) -> None:
        """Record why the index could not be loaded, unless an older one still serves."""
        log.warning("index load failed: %s", reason)
        if self._index is None:
            self._error = reason

    def _stale(self) -> bool:
        """Tell whether the index pointer moved since the load, or no index is loaded yet."""
        index = self._index
        if index is None:
            return True
        try:  # one small read on the open client; it fails once the store is damaged
            return self._pointer(index).version != index.version
        except Exception:  # only a fresh client can tell what the store holds now
            return True

    def _pointer(self, index: LoadedIndex) -> switch.Active:
        """Read the index pointer through `index`'s client: no record of a large collection.

        Any read of a document or chunk collection would load the whole collection into an
        embedded store's memory for as long as the client lives.
        """
        return switch.active(index.api, self.store_config().collection)

    def probe(self) -> str:
        """Return "" when the serving index answers a small read now, else why not."""
        self._reloader.poll()  # a probe alone (no traffic) must still find a rebuilt index
        index = self._index
        if index is None:
            return self._error
        try:
            store.within(store.deadline(self.store_config()), lambda: self._pointer(index))
        except Exception as exc:  # a dead server, a corrupt file: each raises its own kind
            return f"the index store failed a check ({exc.__class__.__name__})"
        return ""

    def load_in_background(self) -> None:
        """Start loading without blocking the caller."""
        threading.Thread(target=self.load, name="citeqa-load", daemon=True).start()

    @property
    def status(self) -> str:
        """Return "" when ready, else why not."""
        return self._error

    def loaded(self, wait: float = 30.0) -> LoadedIndex:
        """Return the serving index generation, waiting briefly for a load in progress."""
        self._loaded.wait(wait)
        self._reloader.poll()
        index = self._index
        if index is None:
            raise NotReady(self._error)
        return index

    def retriever(self, wait: float = 30.0) -> Retriever:
        """Return the serving retriever."""
        return self.loaded(wait).retriever

    def search(self, query: str, top_k: int | None = None,
               access: Access = PUBLIC) -> list[Passage]:
        """Return ranked passages for a query, among the documents `access` may read."""
        return self.retriever().search(query, top_k or self.config.top_k, access=access)

    def answer(self, question: str, history: list[Message] | None = None,
               top_k: int | None = None, access: Access = PUBLIC) -> Answer:
        """Answer a question with verified citations, or abstain with a reason."""
        ask = Ask(question, history or [], top_k, access)
        retriever = self.retriever()
        try:
            read, passages = self._retrieve(ask, retriever, self.backend)
            with stage("answer"):
                draft = self.backend.draft(read, passages, retriever, ask.access)
            return self._verified(ask, read, passages, retriever, draft, self.backend.name)
        except BackendError as exc:
            return self._fall_back(ask, retriever, str(exc))

    def answer_events(self, question: str, history: list[Message] | None = None,
                      top_k: int | None = None,
                      access: Access = PUBLIC) -> Iterator[tuple[str, EventData]]:
        """Yield the answer as events: text deltas, citations, then the result.

        A streaming backend's deltas are its unverified draft; `done` carries the verified
        answer that replaces it. Otherwise the deltas spell the final answer.
        """
        ask = Ask(question, history or [], top_k, access)
        if not self.backend.streams:
            result = self.answer(question, history, top_k, access)
            yield "citations", result.citations
            words = result.answer.split(" ")
            for i, word in enumerate(words):
                yield "delta", word if i == 0 else " " + word
            yield "done", result
            return
        retriever = self.retriever()
        try:
            read, passages = self._retrieve(ask, retriever, self.backend)
            written = self.backend.draft_stream(read, passages, retriever, ask.access)
            draft = yield from _deltas(written)
            result = self._verified(ask, read, passages, retriever, draft, self.backend.name)
        except BackendError as exc:
            result = self._fall_back(ask, retriever, str(exc))
        yield "citations", result.citations
        yield "done", result

    def _retrieve(self, ask: Ask, retriever: Retriever,
                  backend: AnswerBackend) -> tuple[Question, list[Passage]]:
        """Read the question as `backend` does and retrieve its passages."""

        def similarity(query: str) -> float:
            best = retriever.dense(query, 1, ask.access)
            return best[0][1] if best else 0.0

        question = backend.question(ask.question, ask.history, similarity)
        with stage("retrieve"):
            return question, retriever.search(question.query, ask.top_k or self.config.top_k,
                                              access=ask.access)

    def _fall_back(self, ask: Ask, retriever: Retriever, why: str) -> Answer:
        """Answer extractively because the configured backend failed, and say so."""
        log.warning("answer backend %s failed (%s); answering extractively",
                    self.backend.name, why)
        question, passages = self._retrieve(ask, retriever, self.fallback)
        draft = self.fallback.draft(question, passages, retriever, ask.access)
        return self._verified(ask, question, passages, retriever, draft, self.fallback.name,
                              why)

    def _verified(self, ask: Ask, question: Question, passages: list[Passage],
                  retriever: Retriever, draft: Draft, backend: str, fallback: str = "") -> Answer:
        """Check the draft's citations, then write the answer or the abstention."""
        with stage("verify"):
            verifier = Verifier.over(retriever, self.verifier_judge, ask.access)
            draft, report = verifier.verify(draft, passages)
        count_answer(draft.abstained)
        if draft.abstained:
            return Answer(answer=NOT_COVERED, abstained=True, reason=draft.reason,
                          citations=[], query=question.query, backend=backend,
                          fallback=fallback, verification=report)
        text, citations = compose(draft.claims)
        return Answer(answer=text, abstained=False, reason="", citations=citations,
                      query=question.query, backend=backend, fallback=fallback,
                      verification=report)

    def documents(self, access: Access = PUBLIC) -> list[DocumentInfo]:
        """Return the metadata of every indexed document `access` may read."""
        texts = self.loaded().texts
        records = store.within(store.deadline(self.store_config()),
                               lambda: store.metadatas(texts))
        return sorted((
            DocumentInfo(id=i, title=str(m.get("title", "")), url=str(m.get("url", "")),
                         length=int(str(m.get("length", 0))), groups=groups_of(m))
            for i, m in records.items() if access.allows(m)
        ), key=lambda d: d.id)

    def document(self, doc_id: str, access: Access = PUBLIC) -> DocumentInfo:
        """Return one document with its full text; one `access` may not read does not exist."""
        texts = self.loaded().texts
        records = store.within(store.deadline(self.store_config()), lambda: texts.get(
            ids=[doc_id], include=["metadatas", "documents"]))
        meta = ((records["metadatas"] or [{}])[0] or {}) if records["ids"] else {}
        if not records["ids"] or not access.allows(meta):
            raise UnknownDocument(doc_id)
        text = (records["documents"] or [""])[0] or ""
        return DocumentInfo(id=doc_id, title=str(meta.get("title", "")),
                            url=str(meta.get("url", "")), length=len(text), text=text,
                            groups=groups_of(meta))


@dataclass(frozen=True)
class Ask:
    """A question as the engine receives it."""

    question: str
    history: list[Message]
    top_k: int | None
    access: Access = PUBLIC


def _deltas(written: Generator[str, None, Draft]) -> Generator[tuple[str, EventData], None, Draft]:
    """Pass each piece of written text on as a delta event; return the finished draft."""
    while True:
        try:
            piece = next(written)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if piece:
            yield "delta", piece
