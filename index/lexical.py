"""The lexical index of one index generation: built once, saved to disk, read from disk to serve.

`citeqa index` builds it after the chunks are written and before serving processes are told the
index changed; a serving process that finds none for what the store holds (another host, an
index written by a library call) builds it once per host under a file lock. Each folder is
named by what it holds (the documents, their fingerprints and access groups), is written under
a temporary name and renamed when complete, and is only ever read after that: a crash leaves
at most a temporary folder that nothing reads. Workers of one host share the files through the
page cache: bm25s's files are opened with `bm25s.BM25.load(..., mmap=True)`, and the postings
of a question's words are read with `pread` (index/slices.py).

Term statistics are computed per access class (chunks with the same access groups): a chunk
is scored against the statistics of chunks every reader of it may also read, so adding a
restricted document changes no score another reader sees (issue 23, finding 7).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Include

from index import passages, store, vectors
from index.access import EVERYTHING, Access, groups_of
from index.ast_lock import AST_LOCK
from index.slices import ArraySlices
from index.terms import STOPWORDS, stemmer

FOLDER = "lexical"  # under the data folder: a folder per collection, a subfolder per state
# Up to this many chunks, an embedded store's vectors are kept beside the lexical index (float32
# up to vectors.FULL_PRECISION_CHUNKS, int8 beyond) and ranked exactly by one product per
# query: no worker then loads Chroma's HNSW index (about 2 KB a chunk in each worker), and a
# reader's access mask costs nothing, where the store's filtered query costs 25-50x
# (docs/scale.md). Beyond it the product grows past the store's query time: Chroma answers.
EXACT_SEARCH_CHUNKS = 1_000_000
FORMAT = "4"  # of a folder's files: a folder of another format is built again
MANIFEST = "manifest.json"
LOCK = ".build.lock"
K1, B = 0.9, 0.4

Meta = Mapping[str, object]


def complete(records: Mapping[str, Meta]) -> dict[str, tuple[str, int]]:
    """Return `doc id -> (fingerprint, chunk count)` of recorded documents, from their records."""
    return {doc_id: (str(meta.get("fingerprint", "")), int(str(meta.get("chunks", -1))))
            for doc_id, meta in records.items()}


def stamp(records: Mapping[str, Meta]) -> str:
    """Return a name for the state these document records describe (who, what, who may read)."""
    digest = hashlib.sha256()
    for doc_id in sorted(records):
        meta = records[doc_id]
        digest.update(json.dumps([doc_id, str(meta.get("fingerprint", "")),
                                  str(meta.get("chunks", -1)), groups_of(meta)]).encode())
    return digest.hexdigest()[:24]


def tokenize(texts: list[str]) -> bm25s.tokenization.Tokenized:
    """Tokenize with the shared stemmer and stopwords."""
    return bm25s.tokenize(texts, stopwords=list(STOPWORDS), stemmer=stemmer(),
                          show_progress=False)


def query_terms(query: str) -> list[str]:
    """Return the stemmed content terms of a query, as the index holds them."""
    tokens = bm25s.tokenize([query], stopwords=list(STOPWORDS), stemmer=stemmer(),
                            show_progress=False, return_ids=False)
    return list(tokens[0]) if tokens else []


@dataclass(frozen=True)
class Part:
    """The chunks of one access class: positions `[start, end)`, their BM25 index.

    Its postings (each word's chunks and their BM25 weights) are read from bm25s's saved
    files a word at a time, not through its memory map.
    """

    groups: tuple[str, ...]
    start: int
    end: int
    bm25: bm25s.BM25
    chunks: ArraySlices
    weights: ArraySlices

    @classmethod
    def open(cls, folder: Path, groups: Sequence[str], start: int, end: int) -> Part:
        """Open the BM25 index saved in `folder` for positions `[start, end)`."""
        bm25 = bm25s.BM25.load(folder, mmap=True, show_progress=False)
        return cls(tuple(groups), start, end, bm25, ArraySlices(bm25.scores["indices"]),
                   ArraySlices(bm25.scores["data"]))

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """Return every chunk's BM25 score for terms this class knows (as `BM25.get_scores`:
        the same float32 sums in the same order)."""
        indptr = self.bm25.scores["indptr"]
        scores = np.zeros(self.bm25.scores["num_docs"], dtype=np.float32)
        for term in terms:
            tid = self.bm25.vocab_dict[term]
            begin, end = int(indptr[tid]), int(indptr[tid + 1])
            scores[self.chunks.read(begin, end)] += self.weights.read(begin, end)
        return scores

    def df(self, term: str) -> int:
        """Return how many chunks of this class hold a stemmed term."""
        tid = self.bm25.vocab_dict.get(term)
        if tid is None:
            return 0
        indptr = self.bm25.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    def readable(self, access: Access) -> bool:
        """Tell whether `access` may read this class's chunks."""
        return access.allows({"groups": list(self.groups)})


class LexicalIndex:
    """One built folder, memory-mapped: chunk ids in position order, BM25 per access class.

    Positions are grouped by access class; each class's own BM25 index scores them.
    """

    def __init__(self, folder: Path) -> None:
        """Open a complete folder; its arrays stay on disk and are paged in as read."""
        self.folder = folder
        manifest = json.loads((folder / MANIFEST).read_text())
        self.documents = int(manifest["documents"])
        mapped = bool(manifest["chunks"])
        with AST_LOCK:  # each array's header is parsed with `ast`
            self.ids = _array(folder / "ids.npy", mapped)
            self.docs = _array(folder / "docs.npy", mapped)
            self._order = _array(folder / "order.npy", mapped)
            self.vectors = vectors.load(folder, mapped)
            self.passages = passages.Passages(folder)
            self.parts = [Part.open(folder / f"part{i}", p["groups"], int(p["start"]),
                                    int(p["end"])) for i, p in enumerate(manifest["parts"])]

    def __len__(self) -> int:
        """Return the number of chunks indexed."""
        return len(self.ids)

    def chunk_id(self, pos: int) -> str:
        """Return the store id of the chunk at a position."""
        return bytes(self.ids[pos]).decode()

    def doc_id(self, pos: int) -> str:
        """Return the document id of the chunk at a position."""
        return bytes(self.docs[pos]).decode()

    def position(self, chunk_id: str) -> int | None:
        """Return the position of a chunk id, or None when this index does not hold it."""
        wanted = chunk_id.encode()
        if not len(self.ids) or len(wanted) > self.ids.dtype.itemsize:
            return None
        at = int(np.searchsorted(self.ids, np.bytes_(wanted), sorter=self._order))
        if at < len(self._order) and bytes(self.ids[self._order[at]]) == wanted:
            return int(self._order[at])
        return None

    def readable(self, access: Access) -> list[Part]:
        """Return the access classes `access` may read."""
        return [p for p in self.parts if p.readable(access)]

    def mask(self, access: Access) -> np.ndarray | None:
        """Return True for each position `access` may read (None: all)."""
        parts = self.readable(access)
        if access.everything or len(parts) == len(self.parts):  # no position to mask
            return None
        allowed = np.zeros(len(self), dtype=bool)
        for part in parts:
            allowed[part.start:part.end] = True
        return allowed

    def search(self, terms: Sequence[str], k: int, access: Access) -> list[tuple[int, float]]:
        """Return `(position, BM25 score)` of the best readable matches, best first."""
        hits: list[tuple[int, float]] = []
        for part in self.readable(access):
            known = [t for t in terms if t in part.bm25.vocab_dict]
            if not known:
                continue
            # the top k among the chunks that match at all: bm25s's own top k partitions every
            # score, mostly zeros, which costs 25 ms at 150,000 chunks against 1.5 ms
            scores = part.scores(known)
            found = np.flatnonzero(scores > 0)
            if len(found) > k:
                found = found[np.argpartition(-scores[found], k - 1)[:k]]
            hits += [(part.start + int(d), float(scores[d])) for d in found]
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]

    def mentions(self, terms: Sequence[str], access: Access) -> bool:
        """Tell whether a chunk `access` may read holds one of these stemmed terms."""
        return any(part.df(t) for part in self.readable(access) for t in terms)

    def idf(self, access: Access = EVERYTHING) -> Callable[[str], float]:
        """Return the inverse document frequency of stemmed terms over what `access` reads."""
        parts = self.readable(access)
        n = max(sum(p.end - p.start for p in parts), 1)
        known: dict[str, float] = {}

        def idf(term: str) -> float:
            if term not in known:
                df = sum(p.df(term) for p in parts)
                known[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
            return known[term]

        return idf


def _array(path: Path, mapped: bool) -> np.ndarray:
    """Load a saved array, memory-mapped unless empty (an empty file cannot be mapped)."""
    loaded: np.ndarray = np.load(path, mmap_mode="r") if mapped else np.load(path)
    return loaded


@dataclass
class _Chunks:
    """Chunks read from the store while building, before they are grouped by access class."""

    ids: list[str]
    docs: list[str]
    groups: list[tuple[str, ...]]
    texts: list[str]
    passages: list[tuple[str, Meta]]
    vectors: list[np.ndarray]


def folder_name(records: Mapping[str, Meta], exact_up_to: int) -> str:
    """Return the folder a state's index lives in (with its vectors, or without: `-q`)."""
    return stamp(records) + _suffix(exact_up_to)


def _suffix(exact_up_to: int) -> str:
    """Return how a folder's name ends: with vectors (`v`) or without (`q`), and the format
    (4: int8 vector columns and their product graph past vectors.FULL_PRECISION_CHUNKS,
    passages)."""
    return ("-v" if exact_up_to else "-q") + FORMAT


def root(cfg: store.StoreConfig) -> Path:
    """Return the folder of the lexical indexes of collection `cfg.collection` on this host."""
    return cfg.data_dir / FOLDER / cfg.collection


def exact_up_to(cfg: store.StoreConfig) -> int:
    """Return up to how many chunks a collection's vectors are searched exactly, in memory.

    Only an embedded store's: a server's vectors would cross the network to every host.
    """
    return 0 if cfg.chroma_url else EXACT_SEARCH_CHUNKS


def current(cfg: store.StoreConfig, api: ClientAPI) -> LexicalIndex:
    """Return the lexical index of what collection `cfg.collection` holds now (built if new).

    The records are read first: a document recorded has all its chunks written already.
    """
    records = store.records(api, cfg.collection)
    return ensure(root(cfg), store.chunks_collection(api, cfg.collection), records,
                  exact_up_to(cfg))


def named(cfg: store.StoreConfig, api: ClientAPI, name: str, documents: int,
          written: str = "") -> LexicalIndex:
    """Return the lexical index the index pointer names, if this host has it; else `current`.

    Reading every document record costs seconds and, in an embedded store, memory the store
    keeps (about 8 KB per document). The stamp `written` the pointer recorded, checked against
    the document collection's (`store.written`), catches records changed since without a new
    pointer; a pointer written before stamps has its document count checked instead, which
    costs an embedded store's reader about 0.5 KB per document, kept.
    """
    folder = root(cfg) / name
    # a folder of an older format (another suffix) is rebuilt in today's
    if name.endswith(_suffix(exact_up_to(cfg))) and folder.is_dir() and _unchanged(
            cfg, api, documents, written):
        with _locked(root(cfg) / LOCK, shared=True):  # a prune waits until the files are mapped
            if (folder / MANIFEST).exists():
                return LexicalIndex(folder)
    return current(cfg, api)


def _unchanged(cfg: store.StoreConfig, api: ClientAPI, documents: int, written: str) -> bool:
    """Tell whether collection `cfg.collection`'s records are as the pointer found them."""
    if written:
        return written == store.written(api, cfg.collection)
    return documents == store.docs_collection(api, cfg.collection).count()


def state(cfg: store.StoreConfig, api: ClientAPI) -> str:
    """Return the folder name of what collection `cfg.collection` holds now (built or not)."""
    return folder_name(store.records(api, cfg.collection), exact_up_to(cfg))


def ensure(root: Path, chunks: Collection, records: Mapping[str, Meta],
           exact_up_to: int = 0, full_up_to: int = vectors.FULL_PRECISION_CHUNKS
           ) -> LexicalIndex:
    """Return the index of what `records` describe, building it once per host if missing."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / folder_name(records, exact_up_to)
    with _locked(root / LOCK, shared=True):  # a prune waits until the files are mapped
        if (target / MANIFEST).exists():
            return LexicalIndex(target)
    with _locked(root / LOCK):  # one builder per host; the others wait, then read
        if not (target / MANIFEST).exists():
            # a document changed while it was read: serve what was read
            target = build(root, chunks, records, exact_up_to, full_up_to)
        return LexicalIndex(target)


@contextlib.contextmanager
def _locked(path: Path, shared: bool = False) -> Iterator[None]:
    """Hold a lock on a file (released by the system if this process dies)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(root: Path, chunks: Collection, records: Mapping[str, Meta],
          exact_up_to: int = 0, full_up_to: int = vectors.FULL_PRECISION_CHUNKS) -> Path:
    """Build the index of the whole documents `records` names into `root`; return its folder.

    A document whose chunks do not match its record (being rewritten now) is left out, and the
    folder is named by the records of the documents it holds.
    """
    exact = exact_up_to > 0 and chunks.count() <= exact_up_to
    ready = complete(records)
    read = _read(chunks, ready, exact)
    empty = {doc_id for doc_id, (_, count) in ready.items() if count == 0}  # whole, no chunks
    held = {d: records[d] for d in set(read.docs) | empty}
    target = root / folder_name(held, exact_up_to)
    if (target / MANIFEST).exists():
        return target
    if target.exists():  # no manifest: left by a process killed while deleting it
        shutil.rmtree(target)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    try:
        _write(work, read, len(held), full_up_to if exact else -1)
        os.rename(work, target)
    except OSError:
        if not (target / MANIFEST).exists():  # a builder on another host may have won
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _read(chunks: Collection, ready: Mapping[str, tuple[str, int]], exact: bool) -> _Chunks:
    """Read every chunk of a whole document, page by page, in the store's order."""
    include: Include = ["documents", "metadatas", "embeddings"] if exact \
        else ["documents", "metadatas"]
    rows: list[tuple[str, str, Meta, np.ndarray | None]] = []
    for page in store.pages(chunks, include):
        embedded = page["embeddings"] if exact else None
        for i, cid in enumerate(page["ids"]):
            rows.append((cid, (page["documents"] or [])[i] or "",
                         dict((page["metadatas"] or [])[i] or {}),
                         None if embedded is None else np.asarray(embedded[i], dtype=np.float32)))
    kept = whole_documents([meta for _, _, meta, _ in rows], ready)
    read = _Chunks([], [], [], [], [], [])
    for cid, text, meta, vector in (rows[i] for i in kept):
        read.ids.append(cid)
        read.docs.append(str(meta.get("doc_id", "")))
        read.groups.append(groups_of(meta))
        read.texts.append(bm25_text(text, meta))
        read.passages.append((text, meta))
        if vector is not None:
            read.vectors.append(vector)
    return read


def bm25_text(text: str, meta: Meta) -> str:
    """Return what BM25 reads for a chunk: its title and heading, then its text."""
    head = [str(meta.get(k, "")) for k in ("title", "heading")]
    # The first chunk often starts with the title already; do not count it twice.
    return " ".join(h for h in head if h and h not in text) + " " + text


def _write(work: Path, read: _Chunks, documents: int, full_up_to: int) -> None:
    """Write the arrays, one BM25 index per access class, and the manifest last; the vectors
    too unless `full_up_to` is negative (float32 up to that many chunks, int8 beyond)."""
    classes = sorted(set(read.groups))
    order = sorted(range(len(read.ids)), key=lambda i: classes.index(read.groups[i]))
    parts, start = [], 0
    for n, groups in enumerate(classes):
        members = [i for i in order if read.groups[i] == groups]
        model = bm25s.BM25(k1=K1, b=B)
        model.index(tokenize([read.texts[i] for i in members]), show_progress=False)
        model.save(work / f"part{n}", show_progress=False)
        parts.append({"groups": list(groups), "start": start, "end": start + len(members)})
        start += len(members)
    ids = np.array([read.ids[i].encode() for i in order], dtype=bytes)
    np.save(work / "ids.npy", ids)
    np.save(work / "order.npy", np.argsort(ids, kind="stable").astype(np.int64))
    np.save(work / "docs.npy", np.array([read.docs[i].encode() for i in order], dtype=bytes))
    passages.save(work, (read.passages[i] for i in order))
    if full_up_to >= 0:
        vectors.save(work, [read.vectors[i] for i in order], full_up_to)
    (work / MANIFEST).write_text(json.dumps({"documents": documents, "chunks": len(ids),
                                             "parts": parts}))


def whole_documents(metas: list[Meta], ready: Mapping[str, tuple[str, int]]) -> list[int]:
    """Return where the chunks are whose document's record matches their fingerprint and count."""
    counts = Counter((str(m.get("doc_id")), str(m.get("fingerprint", ""))) for m in metas)

    def whole(meta: Meta) -> bool:
        doc_id, printed = str(meta.get("doc_id")), str(meta.get("fingerprint", ""))
        if doc_id not in ready:
            return False
        fingerprint, chunks = ready[doc_id]
        if not printed:  # indexed before chunks carried fingerprints: trust the record
            return True
        return printed == fingerprint and chunks in (-1, counts[(doc_id, printed)])

    return [i for i, meta in enumerate(metas) if whole(meta)]


def prune(root: Path, keep: set[str]) -> None:
    """Delete built folders not named in `keep`, and what a killed builder left.

    A process still mapping a deleted folder's files keeps reading them until it lets go.
    """
    if not root.is_dir():
        return
    with _locked(root / LOCK):
        for path in root.iterdir():
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
