"""Hybrid retrieval: dense vectors from Chroma plus BM25, their scores fused."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from index import lexical, model_export, store, vectors
from index.access import EVERYTHING, Access
from index.documents import Span
from index.embedder import Embedder
from index.lexical import LexicalIndex
from index.store import within
from index.switch import Active


@dataclass(frozen=True)
class Fusion:
    """How the dense and BM25 rankings combine; a zero weight skips that ranking."""

    # bench/fusion.py scores 150 fusions on SciFact train claims: "scores" (weighted
    # min-max-normalised scores) 1:1 over 500 candidates is the best, on a plateau from 500
    # candidates up (bench/results/fusion.json). "rrf" ranks by 1 / (rrf_k + rank) instead.
    method: str = "scores"
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    candidates: int = 500  # chunks from each ranking; min-max scaling is over these

    def combine(self, dense: list[tuple[int, float]],
                lexical: list[tuple[int, float]]) -> dict[int, float]:
        """Return the fused score of every position either ranking holds."""
        fused: dict[int, float] = {}
        for weight, ranking in ((self.dense_weight, dense), (self.lexical_weight, lexical)):
            if not weight or not ranking:
                continue
            if self.method == "rrf":
                parts = {pos: 1.0 / (self.rrf_k + rank + 1)
                         for rank, (pos, _) in enumerate(ranking)}
            else:
                parts = _min_max(ranking)
            for pos, part in parts.items():
                fused[pos] = fused.get(pos, 0.0) + weight * part
        return fused


def _min_max(ranking: list[tuple[int, float]]) -> dict[int, float]:
    """Scale a ranking's scores to [0, 1] (its best is 1, its worst 0)."""
    top, low = max(s for _, s in ranking), min(s for _, s in ranking)
    spread = top - low or 1.0
    return {pos: (score - low) / spread for pos, score in ranking}


@dataclass
class Passage:
    """A retrieved chunk with its offsets, sentences and scores."""

    chunk_id: str
    doc_id: str
    title: str
    url: str
    heading: str
    text: str
    start: int
    end: int
    sentences: list[Span]
    dense: float = 0.0
    lexical: float = 0.0
    fused: float = 0.0

    def sentence_text(self, span: Span) -> str:
        """Return a sentence of this passage by its document offsets."""
        return self.text[span.start - self.start:span.end - self.start]


def ranked(fused: dict[int, float], dense: dict[int, float]) -> list[int]:
    """Return positions by fused score; ties go to the closer meaning."""
    return sorted(fused, key=lambda p: (-fused[p], -dense.get(p, 0.0)))


class Retriever:
    """Search one chunk collection by meaning and by words, and fuse the rankings.

    The lexical index (index/lexical.py) names the chunks served, by position: only chunks of
    documents that were whole when it was built. The texts and metadata of the passages a
    request returns are read from its folder, as they were indexed (index/passages.py).
    """

    def __init__(self, lexicon: LexicalIndex, chunks: Collection, embedder: Embedder,
                 fusion: Fusion | None = None, deadline: float | None = None,
                 exact: bool = True, threads: int = 1) -> None:
        """Serve `lexicon`; with `exact` and its vectors, rank by meaning in memory, exactly,
        on `threads` CPU threads."""
        self.lexicon = lexicon
        self.chunks = chunks
        self.embedder = embedder
        # a follow-up's query is compared alone and joined before one is searched: embed each once
        self.embed_query = functools.lru_cache(maxsize=64)(embedder.embed_query)
        self.fusion = fusion or Fusion()
        self.deadline = deadline  # seconds a query of a remote store may take
        self.vectors = lexicon.vectors if exact else None
        self.threads = threads
        self.documents = lexicon.documents

    @classmethod
    def open(cls, cfg: store.StoreConfig, api: ClientAPI | None = None, threads: int = 1,
             pointer: Active | None = None) -> Retriever:
        """Open the chunk collection `cfg` names, with the model exported into its data folder.

        The lexical index is the one the index `pointer` names when this host has it.
        """
        api = api or store.client(cfg)
        lexicon = lexical.named(cfg, api, pointer.lexical, pointer.documents,
                                pointer.written) if pointer \
            else lexical.current(cfg, api)
        embedder = model_export.embedder(model_export.installed(cfg.data_dir), threads)
        return cls(lexicon, store.chunks_collection(api, cfg.collection), embedder,
                   deadline=store.deadline(cfg), threads=threads)

    def __len__(self) -> int:
        """Return the number of chunks searched."""
        return len(self.lexicon)

    def mentions(self, terms: Iterable[str], access: Access) -> bool:
        """Tell whether a chunk `access` may read holds one of these stemmed terms."""
        return self.lexicon.mentions(list(terms), access)

    def idf(self, access: Access = EVERYTHING) -> Callable[[str], float]:
        """Return the inverse document frequency of stemmed terms over chunks `access` reads."""
        return self.lexicon.idf(access)

    def dense(self, query: str, k: int, access: Access = EVERYTHING) -> list[tuple[int, float]]:
        """Return `(position, cosine similarity)` of the nearest readable chunks."""
        if not len(self):
            return []
        vector = self.embed_query(query)
        readable = self.lexicon.mask(access)
        if self.vectors is not None:
            return vectors.nearest(self.vectors, vector, k, readable, self.threads)
        # the store applies the filter before its nearest-neighbour ranking; a caller who may
        # read every chunk needs none (and indexes older than access groups carry no flags)
        where = None if readable is None or readable.all() else access.where()
        hits = within(self.deadline, lambda: self.chunks.query(
            query_embeddings=[vector], n_results=min(k, len(self)), include=["distances"],
            where=where))
        ids, dists = hits["ids"][0], (hits["distances"] or [[]])[0]
        found = [(self.lexicon.position(i), 1.0 - float(d))
                 for i, d in zip(ids, dists, strict=True)]
        # a chunk written after the lexical index was built waits for the next load
        return [(p, s) for p, s in found if p is not None and (readable is None or readable[p])]

    def lexical(self, query: str, k: int, access: Access = EVERYTHING) -> list[tuple[int, float]]:
        """Return `(position, BM25 score)` of the best readable word matches."""
        terms = lexical.query_terms(query)
        return self.lexicon.search(terms, k, access) if terms else []

    def search(self, query: str, k: int, candidates: int | None = None,
               access: Access = EVERYTHING) -> list[Passage]:
        """Return the `k` best passages `access` may read for `query`, fused and deduplicated."""
        pool = max(candidates or self.fusion.candidates, k)
        dense = self.dense(query, pool, access) if self.fusion.dense_weight else []
        lexical = self.lexical(query, pool, access) if self.fusion.lexical_weight else []
        fused = self.fusion.combine(dense, lexical)
        dense_of, lexical_of = dict(dense), dict(lexical)
        order = ranked(fused, dense_of)
        passages: list[Passage] = []
        seen_text: set[str] = set()
        for pos in order:  # each text is read from disk only when reached
            passage = _passage(self.lexicon.chunk_id(pos), *self.lexicon.passages[pos])
            key = " ".join(passage.text.split()).lower()
            if key in seen_text:
                continue
            seen_text.add(key)
            passage.dense = float(np.clip(dense_of.get(pos, 0.0), 0.0, 1.0))
            passage.lexical, passage.fused = lexical_of.get(pos, 0.0), fused[pos]
            passages.append(passage)
            if len(passages) == k:
                break
        return passages


def _passage(chunk_id: str, text: str, meta: Mapping[str, object]) -> Passage:
    """Build a Passage from a stored chunk (its scores are set by the search)."""
    spans = [Span(int(a), int(b)) for a, b in json.loads(str(meta.get("sentences", "[]")))]
    return Passage(
        chunk_id=chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        heading=str(meta.get("heading", "")),
        text=text,
        start=int(str(meta.get("start", 0))),
        end=int(str(meta.get("end", 0))),
        sentences=spans,
    )
