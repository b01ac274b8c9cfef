"""Open the Chroma store (embedded on disk or a `chroma run` server) and its collections."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings

DOCS_SUFFIX = "_docs"
T = TypeVar("T")
_OPENING = threading.Lock()
_DEADLINES = concurrent.futures.ThreadPoolExecutor(max_workers=16,
                                                   thread_name_prefix="citeqa-store")


@dataclass(frozen=True)
class StoreConfig:
    """Where the index lives."""

    data_dir: Path
    collection: str
    chroma_url: str = ""
    timeout: float = 10.0


def client(cfg: StoreConfig) -> ClientAPI:
    """Return an embedded persistent client or an HTTP client for a Chroma server."""
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
    # Chroma shares one system per folder and breaks if two threads open it at once
    with _OPENING:
        return chromadb.PersistentClient(path=str(cfg.data_dir), settings=settings)


def within(seconds: float | None, call: Callable[[], T]) -> T:
    """Return `call()`, or raise a timeout when it takes over `seconds` (None: no deadline).

    Chroma's HTTP client waits forever and offers no public timeout, so a hung server must be
    cut off here; the abandoned call finishes in its pool thread whenever the server answers.
    """
    if seconds is None:
        return call()
    future = _DEADLINES.submit(call)
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        raise httpx.ReadTimeout(f"the Chroma server did not answer in {seconds:g} s") from None


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


def placeholder_vectors(count: int) -> list[Sequence[float]]:
    """Return one-dimensional vectors for records that carry no embedding of their own."""
    return [[0.0] for _ in range(count)]


def where_doc_in(doc_ids: list[str]) -> Where:
    """Return a filter matching the chunks of any of `doc_ids`."""
    return cast(Where, {"doc_id": {"$in": doc_ids}})
