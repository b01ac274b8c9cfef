"""Open the Chroma store (embedded on disk or a `chroma run` server) and its collections."""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import GetResult, Include, Where
from chromadb.config import Settings as ChromaSettings

from index import systems

DOCS_SUFFIX = "_docs"
WRITTEN = "written"  # a document collection's metadata: a new stamp with each change
OPENING = "~"  # begins the stamp of a change that has begun and not ended
PAGE = 5_000  # records per read of a whole collection
T = TypeVar("T")
_DEADLINES = concurrent.futures.ThreadPoolExecutor(max_workers=16,
                                                   thread_name_prefix="citeqa-store")


class StoreUnavailable(Exception):
    """The store did not answer: its server is unreachable or slower than the deadline."""


@dataclass(frozen=True)
class StoreConfig:
    """Where the index lives."""

    data_dir: Path
    collection: str
    chroma_url: str = ""
    timeout: float = 10.0


def client(cfg: StoreConfig, fresh: bool = False) -> ClientAPI:
    """Return an embedded persistent client or an HTTP client for a Chroma server.

    Embedded clients of one folder share a system that caches vectors; `fresh` opens a new one
    that reads what other processes wrote (clients already open keep their own, which stops
    once they and the collections `systems.hold` ties to them are gone).
    """
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if cfg.chroma_url:
        url = urlparse(cfg.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=settings,
        )
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    settings.is_persistent, settings.persist_directory = True, str(cfg.data_dir)
    return systems.client(settings, fresh)


# What the embedded Chroma store writes: its database and one folder per segment.
_STORE_FILES = re.compile(r"chroma\.sqlite3(-wal|-shm|-journal)?|"
                          r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def check(api: ClientAPI) -> None:
    """Raise if the store cannot list and count its collections (a damaged store raises)."""
    for col in api.list_collections():
        api.get_collection(col.name, embedding_function=None).count()


def set_aside(data_dir: Path) -> Path:
    """Move the embedded store's files into `broken-<time>/`, leaving every other file.

    Feedback, rate-limit counters, keys and secrets in the data folder stay where they are.
    """
    target = data_dir / f"broken-{time.strftime('%Y%m%d-%H%M%S')}"
    target.mkdir()
    for path in data_dir.iterdir():
        if _STORE_FILES.fullmatch(path.name):
            path.rename(target / path.name)
    return target


def within(seconds: float | None, call: Callable[[], T]) -> T:
    """Return `call()`, or raise StoreUnavailable if the store is unreachable or over `seconds`.

    No deadline when `seconds` is None. Chroma's HTTP client waits forever and offers no public
    timeout, so a hung server must be cut off here; the abandoned call finishes in its pool
    thread whenever the server answers.
    """
    try:
        if seconds is None:
            return call()
        future = _DEADLINES.submit(call)
        try:
            return future.result(timeout=seconds)
        except concurrent.futures.TimeoutError:
            raise StoreUnavailable(f"the Chroma server did not answer in {seconds:g} s") from None
    except httpx.TransportError as exc:
        raise StoreUnavailable(f"the Chroma server is unreachable ({exc!r})") from exc


def deadline(cfg: StoreConfig) -> float | None:
    """Return the deadline of a call to the store: only a remote server can hang."""
    return cfg.timeout if cfg.chroma_url else None


def chunks_collection(api: ClientAPI, name: str) -> Collection:
    """Return the collection of chunk vectors (cosine space)."""
    return api.get_or_create_collection(
        name, metadata={"hnsw:space": "cosine"}, embedding_function=None
    )


def docs_collection(api: ClientAPI, name: str) -> Collection:
    """Return the collection of full document texts and fingerprints."""
    return api.get_or_create_collection(name + DOCS_SUFFIX, embedding_function=None)


@contextlib.contextmanager
def changing(records: Collection) -> Iterator[None]:
    """Stamp a document collection before and after a change to its records.

    Whoever read the stamp (`written`) before reading the records finds it unchanged later only
    if no change began since, even one whose writer died midway; a stamp read while a change
    was under way begins with `OPENING` and vouches for nothing (`switch.stamped_lexicon`).
    """
    _stamp(records, OPENING)
    try:
        yield
    finally:
        _stamp(records)


def _stamp(records: Collection, prefix: str = "") -> None:
    """Give a document collection a new stamp (its metadata holds nothing else)."""
    records.modify(metadata={WRITTEN: prefix + uuid.uuid4().hex})


def written(api: ClientAPI, name: str) -> str:
    """Return the stamp of the last change to collection `name`'s records ("" before stamps).

    It is read from the collection's description: no record is read, so an embedded store
    loads none of the collection into memory.
    """
    return str((docs_collection(api, name).metadata or {}).get(WRITTEN, ""))


def pages(collection: Collection, include: Include, size: int = PAGE) -> Iterator[GetResult]:
    """Yield every record of a collection, `size` at a time, in the store's order.

    One get of a whole large collection fails in the embedded store (too many SQL variables).
    """
    offset = 0
    while True:
        page = collection.get(include=include, limit=size, offset=offset)
        yield page
        if len(page["ids"]) < size:
            return
        offset += size


def metadatas(collection: Collection) -> dict[str, dict[str, object]]:
    """Return the metadata of every record of a collection, by id."""
    return {i: dict(m or {}) for page in pages(collection, ["metadatas"])
            for i, m in zip(page["ids"], page["metadatas"] or [], strict=False)}


def records(api: ClientAPI, name: str) -> dict[str, dict[str, object]]:
    """Return the metadata of every document record of collection `name`, by document id."""
    return metadatas(docs_collection(api, name))


def placeholder_vectors(count: int) -> list[Sequence[float]]:
    """Return one-dimensional vectors for records that carry no embedding of their own."""
    return [[0.0] for _ in range(count)]


def where_doc_in(doc_ids: list[str]) -> Where:
    """Return a filter matching the chunks of any of `doc_ids`."""
    return cast(Where, {"doc_id": {"$in": doc_ids}})
