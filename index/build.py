"""Incrementally index a corpus: embed new and changed files, drop removed ones."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import NotFoundError
from tqdm import tqdm

from index import access, model_export, store
from index.chunking import chunk_document
from index.documents import Chunk, Document, imported
from index.embedder import Embedder

EMBED_BATCH = 256


@dataclass
class IndexReport:
    """What one indexing run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """Return the one-line summary printed after indexing."""
        return (
            f"indexed {len(self.added)} new, {len(self.updated)} changed, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged documents; "
            f"{self.chunks} chunks embedded in {self.seconds:.1f} s"
        )


def chunk_metadata(doc: Document, chunk: Chunk) -> dict[str, str | int]:
    """Return the Chroma metadata stored with a chunk."""
    return {
        "doc_id": doc.id,
        "title": doc.title,
        "url": doc.url,
        "heading": chunk.heading,
        "start": chunk.start,
        "end": chunk.end,
        "sentences": json.dumps([[s.start, s.end] for s in chunk.sentences]),
        # a serving process keeps a chunk only if its document's record has this fingerprint
        "fingerprint": doc.fingerprint,
        **access.metadata(doc.groups),
    }


def index_documents(
    docs: Iterable[Document],
    cfg: store.StoreConfig,
    keep: Callable[[str], bool] | None = None,
    progress: bool = True,
    on_embed: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Bring the index in line with `docs`; ids not in `docs` are removed unless `keep` says so.

    `on_embed(done, total)` hears of each embedded batch of chunks (a job's progress).
    """
    began = time.perf_counter()
    report = IndexReport()
    api = store.client(cfg)
    records = store.docs_collection(api, cfg.collection)
    indexed = {i: str(m.get("fingerprint", "")) for i, m in store.metadatas(records).items()}
    chunks = store.chunks_collection(api, cfg.collection)
    seen: set[str] = set()
    todo: list[tuple[Document, list[Chunk]]] = []
    for doc in docs:
        seen.add(doc.id)
        if indexed.get(doc.id) == doc.fingerprint:
            report.unchanged += 1
            continue
        (report.updated if doc.id in indexed else report.added).append(doc.id)
        todo.append((doc, chunk_document(doc)))
    # Chunks whose document has no record were left by a run that died: they go too.
    for doc_id in (indexed.keys() | _chunked(chunks)) - seen:
        if keep is None or not keep(doc_id):
            report.removed.append(doc_id)
    if report.removed:
        _forget(records, chunks, report.removed)
    total = sum(len(c) for _, c in todo)
    bar = tqdm(total=total, unit="chunk", desc="embedding",
               disable=not progress)
    embedder = (model_export.embedder(model_export.ensure(cfg.data_dir), index_threads())
                if todo else None)
    embedded = 0

    def batch_done(size: int) -> None:
        nonlocal embedded
        embedded += size
        if on_embed is not None:
            on_embed(embedded, total)

    for group in _groups(todo):
        # A few documents at a time, their records written last: a run killed at any point
        # leaves them unrecorded, so the next run replaces all their chunks.
        _forget(records, chunks, [doc.id for doc, _ in group])
        pending = [(doc, c) for doc, doc_chunks in group for c in doc_chunks]
        if embedder is not None and pending:
            _embed(chunks, embedder, pending, bar, batch_done)
        record_documents(records, {doc.id: doc for doc, _ in group},
                Counter({doc.id: len(doc_chunks) for doc, doc_chunks in group}))
        report.chunks += len(pending)
    bar.close()
    report.removed.sort()
    report.seconds = time.perf_counter() - began
    return report


def _groups(todo: list[tuple[Document, list[Chunk]]]
            ) -> Iterable[list[tuple[Document, list[Chunk]]]]:
    """Yield documents in groups of about one embedding batch of chunks (a big one alone)."""
    group: list[tuple[Document, list[Chunk]]] = []
    size = 0
    for doc, doc_chunks in todo:
        group.append((doc, doc_chunks))
        size += len(doc_chunks)
        if size >= EMBED_BATCH:
            yield group
            group, size = [], 0
    if group:
        yield group


def index_threads() -> int:
    """Return the threads one indexing run embeds with: every core this process may use."""
    return len(os.sched_getaffinity(0))


def _chunked(chunks: Collection) -> set[str]:
    """Return the ids of every document that has chunks in the store."""
    return {str(m.get("doc_id", "")) for m in store.metadatas(chunks).values()} - {""}


def _forget(records: Collection, chunks: Collection, doc_ids: list[str]) -> None:
    """Drop documents: their records first (so a crash re-indexes them), then their chunks."""
    with store.changing(records):
        records.delete(ids=doc_ids)
    chunks.delete(where=store.where_doc_in(doc_ids))


def _embed(chunks: Collection, embedder: Embedder, pending: list[tuple[Document, Chunk]],
           bar: tqdm[None], batch_done: Callable[[int], None]) -> None:
    """Embed and store chunks in batches, advancing the progress bar."""
    for i in range(0, len(pending), EMBED_BATCH):
        batch = pending[i:i + EMBED_BATCH]
        texts = [d.text[c.start:c.end] for d, c in batch]
        chunks.upsert(ids=[c.id for _, c in batch], embeddings=embedder.embed(texts),
                      documents=texts, metadatas=[chunk_metadata(d, c) for d, c in batch])
        bar.update(len(batch))
        batch_done(len(batch))


def record_documents(records: Collection, docs: Mapping[str, Document],
                     chunks: Mapping[str, int]) -> None:
    """Store full texts, fingerprints and chunk counts: a document is served once recorded."""
    if not docs:
        return
    with store.changing(records):
        records.upsert(
            ids=list(docs),
            embeddings=store.placeholder_vectors(len(docs)),
            documents=[d.text for d in docs.values()],
            metadatas=[{"title": d.title, "url": d.url, "fingerprint": d.fingerprint,
                        "length": len(d.text), "chunks": chunks[d.id],
                        **access.metadata(d.groups)}
                       for d in docs.values()],
        )


def stored_documents(api: ClientAPI, collection: str,
                     wanted: Callable[[str], bool]) -> list[Document]:
    """Return the documents `collection` holds whose id `wanted` accepts, as they were indexed."""
    try:
        records = api.get_collection(collection + store.DOCS_SUFFIX, embedding_function=None)
    except (NotFoundError, ValueError):
        return []
    return [Document(doc_id, str(meta.get("title", "")), str(meta.get("url", "")), text,
                     str(meta.get("fingerprint", "")), access.groups_of(meta))
            for found in store.pages(records, ["documents", "metadatas"])
            for doc_id, text, meta in zip(found["ids"], found["documents"] or [],
                                          found["metadatas"] or [], strict=False)
            if wanted(doc_id) and meta and text is not None]


def index_corpus(corpus_dir: Path, cfg: store.StoreConfig, progress: bool = True) -> IndexReport:
    """Index every loadable file under `corpus_dir`, keeping imported web pages."""
    from index import loaders  # file parsers stay out of serving processes

    return index_documents(loaders.load_corpus(corpus_dir), cfg, keep=imported,
                           progress=progress)
