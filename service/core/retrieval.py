"""Hybrid retrieval: dense vectors from Chroma plus BM25, their scores fused."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import bm25s
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Include

from index import model_export, store
from index.access import EVERYTHING, Access, groups_of
from index.documents import Span
from index.embedder import Embedder
from index.store import within
from service.core.terms import STOPWORDS, stemmer

# Up to this many chunks, a process over the embedded store keeps their vectors (1.5 KB each)
# and ranks them all exactly by one product: over a small corpus Chroma's query costs more (about
# 1.4 ms of a 9 ms answer) than the whole product, and the ranking is exact, not approximate.
EXACT_SEARCH_CHUNKS = 20_000


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


Row = tuple[str, str | None, Mapping[str, object] | None]


def complete(records: Mapping[str, Mapping[str, object]]) -> Mapping[str, tuple[str, int]]:
    """Return `doc id -> (fingerprint, chunk count)` of recorded documents, from their records."""
    return {doc_id: (str(meta.get("fingerprint", "")), int(str(meta.get("chunks", -1))))
            for doc_id, meta in records.items()}


class Retriever:
    """Search one chunk collection by meaning and by words, and fuse the rankings.

    With `ready` (from `complete()`), only chunks of fully written documents are served: a
    chunk counts if its document is recorded with the same fingerprint and chunk count, so a
    document being (re)written while this loads is left out until the next load.
    """

    def __init__(self, chunks: Collection, embedder: Embedder, fusion: Fusion | None = None,
                 context_in_bm25: bool = True, deadline: float | None = None,
                 ready: Mapping[str, tuple[str, int]] | None = None, exact_up_to: int = 0) -> None:
        """Load every chunk once to build the BM25 index (over title, heading and text).

        A collection of at most `exact_up_to` chunks also has its vectors loaded, and is then
        searched by meaning in memory, exactly, instead of by a query of the store.
        """
        self.chunks = chunks
        self.embedder = embedder
        self.fusion = fusion or Fusion()
        self.deadline = deadline  # seconds a query of a remote store may take
        exact = exact_up_to > 0 and chunks.count() <= exact_up_to
        include: Include = ["documents", "metadatas", "embeddings"] if exact \
            else ["documents", "metadatas"]
        data = chunks.get(include=include)
        rows: list[Row] = list(zip(data["ids"], data["documents"] or [],
                                   data["metadatas"] or [], strict=False))
        kept = list(range(len(rows))) if ready is None else _whole_documents(rows, ready)
        rows = [rows[i] for i in kept]
        self.vectors = _unit_rows(data["embeddings"], kept) if exact else None
        self.ids: list[str] = [i for i, _, _ in rows]
        self.texts: list[str] = [t or "" for _, t, _ in rows]
        self.metas = [dict(m or {}) for _, _, m in rows]
        self.position = {cid: i for i, cid in enumerate(self.ids)}
        self._public = np.array([not groups_of(m) for m in self.metas], dtype=bool)
        self._members: dict[str, list[int]] = {}
        for pos, meta in enumerate(self.metas):
            for group in groups_of(meta):
                self._members.setdefault(group, []).append(pos)
        self.documents = len({m.get("doc_id") for m in self.metas})
        self.bm25 = bm25s.BM25(k1=0.9, b=0.4)
        self.doc_freq: Counter[str] = Counter()
        if self.ids:
            tokens = self._tokenize([self._bm25_text(i, context_in_bm25)
                                     for i in range(len(self.ids))])
            self.bm25.index(tokens, show_progress=False)
            vocab = {i: term for term, i in tokens.vocab.items()}
            for row in tokens.ids:
                self.doc_freq.update({vocab[t] for t in row})

    @classmethod
    def open(cls, cfg: store.StoreConfig, api: ClientAPI | None = None, threads: int = 1,
             ready: Mapping[str, tuple[str, int]] | None = None) -> Retriever:
        """Open the chunk collection `cfg` names, with the model exported into its data folder."""
        embedder = model_export.embedder(model_export.installed(cfg.data_dir), threads)
        return cls(store.chunks_collection(api or store.client(cfg), cfg.collection), embedder,
                   deadline=store.deadline(cfg), ready=ready,
                   exact_up_to=0 if cfg.chroma_url else EXACT_SEARCH_CHUNKS)

    def __len__(self) -> int:
        """Return the number of chunks searched."""
        return len(self.ids)

    def _bm25_text(self, pos: int, context: bool) -> str:
        """Return what BM25 reads for a chunk: its title and heading (when asked) and text."""
        if not context:
            return self.texts[pos]
        meta = self.metas[pos]
        head = [str(meta.get(k, "")) for k in ("title", "heading")]
        text = self.texts[pos]
        # The first chunk often starts with the title already; do not count it twice.
        return " ".join(h for h in head if h and h not in text) + " " + text

    @staticmethod
    def _tokenize(texts: list[str]) -> bm25s.tokenization.Tokenized:
        """Tokenize with the shared stemmer and stopwords."""
        return bm25s.tokenize(texts, stopwords=list(STOPWORDS), stemmer=stemmer(),
                              show_progress=False)

    def mentions(self, terms: Iterable[str], access: Access) -> bool:
        """Tell whether a chunk `access` may read holds one of these stemmed terms."""
        known = [t for t in terms if t in self.bm25.vocab_dict]
        if not known:
            return False
        readable = self.mask(access)
        if readable is None:
            return True
        return bool((self.bm25.get_scores(known, weight_mask=readable) > 0).any())

    def idf(self, term: str) -> float:
        """Return the inverse document frequency of a stemmed term over chunks."""
        n = max(len(self.ids), 1)
        return math.log(1 + (n - self.doc_freq.get(term, 0) + 0.5) / (self.doc_freq.get(term, 0)
                                                                        + 0.5))

    def mask(self, access: Access) -> np.ndarray | None:
        """Return 1.0 for each chunk `access` may read and 0.0 for the rest (None: all)."""
        if access.everything:
            return None
        readable = self._public.copy()
        for group in access.groups:
            readable[self._members.get(group, [])] = True
        return readable.astype(np.float32)

    def dense(self, query: str, k: int, access: Access = EVERYTHING) -> list[tuple[int, float]]:
        """Return `(position, cosine similarity)` of the nearest readable chunks."""
        if not self.ids:
            return []
        vector = self.embedder.embed_query(query)
        readable = self.mask(access)
        if self.vectors is not None:
            return _nearest(self.vectors, vector, k, readable)
        # the store applies the filter before its nearest-neighbour ranking; a caller who may
        # read every chunk needs none (and indexes older than access groups carry no flags)
        where = None if readable is None or readable.all() else access.where()
        hits = within(self.deadline, lambda: self.chunks.query(
            query_embeddings=[vector], n_results=min(k, len(self.ids)), include=["distances"],
            where=where))
        ids, dists = hits["ids"][0], (hits["distances"] or [[]])[0]
        return [(self.position[i], 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)
                if i in self.position]

    def lexical(self, query: str, k: int, access: Access = EVERYTHING) -> list[tuple[int, float]]:
        """Return `(position, BM25 score)` of the best readable word matches."""
        if not self.ids:
            return []
        tokens = bm25s.tokenize([query], stopwords=list(STOPWORDS), stemmer=stemmer(),
                                show_progress=False, return_ids=False)
        if not tokens or not tokens[0]:
            return []
        known = [t for t in tokens[0] if t in self.bm25.vocab_dict]
        if not known:
            return []
        # unreadable chunks score zero before the top k are taken, and zeros are dropped
        docs, scores = self.bm25.retrieve([known], k=min(k, len(self.ids)), show_progress=False,
                                          weight_mask=self.mask(access))
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

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
        for pos in order:
            passage = self._passage(pos, dense_of.get(pos, 0.0), lexical_of.get(pos, 0.0),
                                    fused[pos])
            key = " ".join(passage.text.split()).lower()
            if key in seen_text:
                continue
            seen_text.add(key)
            passages.append(passage)
            if len(passages) == k:
                break
        return passages

    def _passage(self, pos: int, dense: float, lexical: float, fused: float) -> Passage:
        """Build a Passage from a stored chunk."""
        meta = self.metas[pos]
        spans = [Span(int(a), int(b)) for a, b in json.loads(str(meta.get("sentences", "[]")))]
        return Passage(
            chunk_id=self.ids[pos],
            doc_id=str(meta.get("doc_id", "")),
            title=str(meta.get("title", "")),
            url=str(meta.get("url", "")),
            heading=str(meta.get("heading", "")),
            text=self.texts[pos],
            start=int(str(meta.get("start", 0))),
            end=int(str(meta.get("end", 0))),
            sentences=spans,
            dense=float(np.clip(dense, 0.0, 1.0)),
            lexical=lexical,
            fused=fused,
        )


def _unit_rows(vectors: object, kept: list[int]) -> np.ndarray:
    """Return the kept rows of the store's vectors as float32, each scaled to length 1.

    The store's cosine space normalises its vectors the same way before comparing them.
    """
    if not kept:
        return np.zeros((0, 1), dtype=np.float32)
    rows = np.asarray(vectors, dtype=np.float32)[kept]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: np.ndarray = rows / np.where(norms > 0, norms, 1.0)
    return unit


def _nearest(vectors: np.ndarray, query: np.ndarray, k: int,
             readable: np.ndarray | None) -> list[tuple[int, float]]:
    """Return `(position, cosine similarity)` of the `k` readable rows closest to `query`."""
    target = query.astype(np.float32)
    scores = vectors @ (target / (np.linalg.norm(target) or 1.0))
    allowed = np.arange(len(scores)) if readable is None else np.flatnonzero(readable)
    if len(allowed) > k:
        allowed = allowed[np.argpartition(-scores[allowed], k - 1)[:k]]
    best = allowed[np.argsort(-scores[allowed], kind="stable")]
    return [(int(pos), float(scores[pos])) for pos in best]


def _whole_documents(rows: list[Row], ready: Mapping[str, tuple[str, int]]) -> list[int]:
    """Return where the chunks are whose document's record matches their fingerprint and count."""
    counts = Counter((str((m or {}).get("doc_id")), str((m or {}).get("fingerprint", "")))
                     for _, _, m in rows)

    def whole(meta: Mapping[str, object] | None) -> bool:
        doc_id, printed = str((meta or {}).get("doc_id")), str((meta or {}).get("fingerprint", ""))
        if doc_id not in ready:
            return False
        fingerprint, chunks = ready[doc_id]
        if not printed:  # indexed before chunks carried fingerprints: trust the record
            return True
        return printed == fingerprint and chunks in (-1, counts[(doc_id, printed)])

    return [i for i, row in enumerate(rows) if whole(row[2])]
