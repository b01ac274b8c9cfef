"""The question-answering flow: condense, retrieve, draft, compose — over one loaded index."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from chromadb.api.models.Collection import Collection

from index import store
from index.build import vector_store
from service.backends import AnswerBackend
from service.contract import (
    AnswerRequest,
    AnswerResponse,
    DocumentDetail,
    DocumentSummary,
    SearchHit,
    SearchRequest,
    SearchResponse,
)
from service.drafts import compose
from service.extractive import ExtractiveBackend
from service.questions import read_question
from service.retrieval import Retriever
from service.settings import Config

NOT_COVERED = "The sources do not cover this question."


class NotReady(RuntimeError):
    """The index is not loaded (yet, or because it is missing or broken)."""


class UnknownDocument(KeyError):
    """No indexed document has this id."""


class Engine:
    """Hold the index and answer questions over it; safe to share between threads."""

    def __init__(self, config: Config, backend: AnswerBackend | None = None) -> None:
        """Remember the settings; `load()` does the heavy work."""
        self.config = config
        self.backend = backend or ExtractiveBackend()
        self._retriever: Retriever | None = None
        self._error = "index is loading"
        self._loaded = threading.Event()

    def load(self) -> None:
        """Open the store, load the model and build the BM25 index; record any failure."""
        try:
            cfg = store.StoreConfig(self.config.data_dir, self.config.collection,
                                    self.config.chroma_url)
            retriever = Retriever(vector_store(cfg))
            if not len(retriever):
                raise NotReady("the index is empty: run `citeqa index` first")
            retriever.vectors.embeddings.embed_query("warm up")  # type: ignore[union-attr]
            self._retriever, self._error = retriever, ""
        except NotReady as exc:
            self._error = str(exc)
        except Exception as exc:  # a corrupt store raises many kinds; report, never crash
            self._error = f"the index could not be opened ({exc.__class__.__name__})"
        finally:
            self._loaded.set()

    def load_in_background(self) -> None:
        """Start loading without blocking the caller."""
        threading.Thread(target=self.load, name="citeqa-load", daemon=True).start()

    @property
    def status(self) -> str:
        """Return "" when ready, else why not."""
        return self._error

    def retriever(self, wait: float = 30.0) -> Retriever:
        """Return the loaded retriever, waiting briefly for a load in progress."""
        self._loaded.wait(wait)
        if self._retriever is None:
            raise NotReady(self._error)
        return self._retriever

    def search(self, req: SearchRequest) -> SearchResponse:
        """Return ranked passages for a query."""
        passages = self.retriever().search(req.query, req.top_k or self.config.top_k)
        return SearchResponse(query=req.query, results=[
            SearchHit(document_id=p.doc_id, title=p.title, url=p.url, heading=p.heading,
                      text=p.text, start=p.start, end=p.end, score=round(p.fused, 6),
                      dense=round(p.dense, 4), lexical=round(p.lexical, 4))
            for p in passages
        ])

    def answer(self, req: AnswerRequest) -> AnswerResponse:
        """Answer a question with citations, or abstain with a reason."""
        retriever = self.retriever()
        question = read_question(req.question, req.history)
        passages = retriever.search(question.query, req.top_k or self.config.top_k)
        draft = self.backend.draft(question, passages, retriever)
        if draft.abstained:
            return AnswerResponse(answer=NOT_COVERED, abstained=True, reason=draft.reason,
                                  citations=[], query=question.query, backend=self.backend.name)
        text, citations = compose(draft.claims)
        return AnswerResponse(answer=text, abstained=False, citations=citations,
                              query=question.query, backend=self.backend.name)

    def answer_events(self, req: AnswerRequest) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield the answer as server-sent events: citations, text deltas, then the result."""
        result = self.answer(req)
        yield "citations", {"citations": [c.model_dump() for c in result.citations]}
        words = result.answer.split(" ")
        for i, word in enumerate(words):
            yield "delta", {"text": word if i == 0 else " " + word}
        yield "done", result.model_dump()

    def documents(self) -> list[DocumentSummary]:
        """Return every indexed document's metadata."""
        records = self._records().get(include=["metadatas"])
        return sorted((
            DocumentSummary(id=i, title=str((m or {}).get("title", "")),
                            url=str((m or {}).get("url", "")),
                            length=int(str((m or {}).get("length", 0))))
            for i, m in zip(records["ids"], records["metadatas"] or [], strict=False)
        ), key=lambda d: d.id)

    def document(self, doc_id: str) -> DocumentDetail:
        """Return one document with its full text."""
        records = self._records().get(ids=[doc_id], include=["metadatas", "documents"])
        if not records["ids"]:
            raise UnknownDocument(doc_id)
        meta = (records["metadatas"] or [{}])[0] or {}
        text = (records["documents"] or [""])[0] or ""
        return DocumentDetail(id=doc_id, title=str(meta.get("title", "")),
                              url=str(meta.get("url", "")), length=len(text), text=text)

    def _records(self) -> Collection:
        """Return the collection of full document texts."""
        retriever = self.retriever()
        return store.docs_collection(retriever.vectors._client, self.config.collection)
