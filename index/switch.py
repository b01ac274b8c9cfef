"""Switch serving processes to a rebuilt index atomically, through a pointer record in Chroma.

`citeqa index --rebuild` writes a whole new collection `NAME_<timestamp>` (chunks and full
texts), then updates one record in the collection `NAME_active`. Serving processes read that
record (cheaply, at most once per `CITEQA_INDEX_CHECK_SECONDS`) and load the new collection in
the background, so no request ever sees a half-built index. Without a pointer, `NAME` itself
is the index — the layout a plain `citeqa index` has always written.

    >>> rebuild(Path("corpus"), StoreConfig(Path("data"), "citeqa"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from index import lexical, store
from index.build import IndexReport, index_documents, stored_documents
from index.documents import Document, imported

POINTER_SUFFIX = "_active"
log = logging.getLogger("citeqa")
POINTER_ID = "active"


@dataclass(frozen=True)
class Active:
    """The collection that serves now, the version that last changed it, and its lexical index.

    `lexical` names the lexical index built for that version (index/lexical.py), `documents`
    how many documents it holds and `written` the document collection's stamp (`store.written`)
    read before it was built: a serving process that has it opens it without reading every
    document record (empty: read them).
    """

    collection: str
    version: str = ""
    lexical: str = ""
    documents: int = -1
    written: str = ""


def active(api: ClientAPI, base: str) -> Active:
    """Return the collection the pointer names, else `base` itself."""
    try:
        pointer = api.get_collection(base + POINTER_SUFFIX, embedding_function=None)
    except (NotFoundError, ValueError):
        return Active(base)
    record = pointer.get(ids=[POINTER_ID], include=["metadatas"])
    metas = record["metadatas"] or []
    if not metas or not metas[0]:
        return Active(base)
    meta = metas[0]
    return Active(str(meta.get("collection", base)), str(meta.get("version", "")),
                  str(meta.get("lexical", "")), int(str(meta.get("documents", -1))),
                  str(meta.get("written", "")))


def stamped_lexicon(cfg: store.StoreConfig, api: ClientAPI) -> tuple[lexical.LexicalIndex, str]:
    """Return the lexical index of what collection `cfg.collection` holds now, and the stamp
    that vouches for it: "" when a change was under way or ran meanwhile (a serving process
    then counts the records instead)."""
    before = store.written(api, cfg.collection)
    lexicon = lexical.current(cfg, api)
    settled = not before.startswith(store.OPENING) and before == store.written(api, cfg.collection)
    return lexicon, before if settled else ""


def point(api: ClientAPI, base: str, collection: str,
          built: lexical.LexicalIndex | None = None, written: str = "") -> Active:
    """Make `collection` the serving index with a new version, in one write.

    `written` is the document collection's stamp read before `built` read the records.
    """
    pointer = api.get_or_create_collection(base + POINTER_SUFFIX, embedding_function=None)
    now = Active(collection, str(time.time_ns()), built.folder.name if built else "",
                 built.documents if built else -1, written)
    pointer.upsert(ids=[POINTER_ID], embeddings=store.placeholder_vectors(1),
                   metadatas=[{"collection": now.collection, "version": now.version,
                               "lexical": now.lexical, "documents": now.documents,
                               "written": now.written}])
    return now


def generation_name(base: str) -> str:
    """Return a fresh collection name for a rebuild of `base`."""
    return f"{base}_{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"


def prune(api: ClientAPI, base: str, keep: set[str]) -> list[str]:
    """Delete rebuilt generations of `base` not in `keep`; return their names."""
    pattern = re.compile(rf"{re.escape(base)}_\d{{20}}")
    dropped = []
    for col in api.list_collections():
        name = col.name
        if pattern.fullmatch(name) and name not in keep:
            for gone in (name, name + store.DOCS_SUFFIX):
                with contextlib.suppress(NotFoundError, ValueError):
                    api.delete_collection(gone)
            dropped.append(name)
    return dropped


def readable(cfg: store.StoreConfig) -> ClientAPI:
    """Return a client of a store that reads; an embedded store that does not is set aside.

    Its files move to `broken-<time>/` (`store.set_aside`) and a new, empty store opens.
    """
    try:
        api = store.client(cfg)
        store.check(api)
        return api
    except Exception as exc:  # a damaged store raises many kinds; a new one replaces it
        if cfg.chroma_url:
            raise
        moved = store.set_aside(cfg.data_dir)
        log.warning("the index store is damaged (%s); its files moved to %s",
                    exc.__class__.__name__, moved)
        return store.client(cfg, fresh=True)


def rebuild(corpus_dir: Path, cfg: store.StoreConfig, progress: bool = True,
            keep: Callable[[str], bool] | None = None) -> IndexReport:
    """Index the corpus into a new collection, switch to it, and drop older generations.

    Pages imported from web sites are carried over from the serving generation as they are.
    The generation that served until now is kept, so requests already running on it finish.
    An embedded store too damaged to read is set aside first (`readable`).
    """
    api = readable(cfg)
    previous = active(api, cfg.collection)
    name = generation_name(cfg.collection)
    # imported sites and uploaded documents (ids `keep` accepts) come along as they are
    pages = stored_documents(api, previous.collection,
                             lambda doc_id: imported(doc_id) or bool(keep and keep(doc_id)))
    from index import loaders  # file parsers stay out of serving processes, which import this

    report = index_documents(itertools.chain(loaders.load_corpus(corpus_dir), pages),
                             replace(cfg, collection=name), progress=progress)
    # serving processes are pointed at a generation only once its lexical index is complete
    point(api, cfg.collection, name, *stamped_lexicon(replace(cfg, collection=name), api))
    for dropped in prune(api, cfg.collection, keep={name, previous.collection}):
        shutil.rmtree(lexical.root(replace(cfg, collection=dropped)), ignore_errors=True)
    return report


def update(corpus_dir: Path, cfg: store.StoreConfig, progress: bool = True,
           keep: Callable[[str], bool] | None = None) -> IndexReport:
    """Index a corpus incrementally into the serving collection.

    Ids not in the corpus go unless `keep` says so; pages imported from web sites stay.
    """
    def kept(doc_id: str) -> bool:
        return imported(doc_id) or (keep is not None and keep(doc_id))

    from index import loaders

    return change(loaders.load_corpus(corpus_dir), cfg, kept, progress)


def change(docs: Iterable[Document], cfg: store.StoreConfig,
           keep: Callable[[str], bool] | None = None, progress: bool = False,
           on_embed: Callable[[int, int], None] | None = None) -> IndexReport:
    """Bring the serving collection in line with `docs` and tell serving processes it changed."""
    api = store.client(cfg)
    current = replace(cfg, collection=active(api, cfg.collection).collection)
    before = lexical.state(current, api)
    report = index_documents(docs, current, keep=keep, progress=progress, on_embed=on_embed)
    # the lexical index of the new state is complete before serving processes look for it
    lexicon, written = stamped_lexicon(current, api)
    if report.added or report.updated or report.removed:
        point(api, cfg.collection, current.collection, lexicon, written)
        # the state that served until now stays, so requests already running on it finish
        lexical.prune(lexical.root(current), keep={lexicon.folder.name, before})
    return report
