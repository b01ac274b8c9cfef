"""Open the Chroma store (embedded on disk or a `chroma run` server) and its collections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings

DOCS_SUFFIX = "_docs"


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
        remote = chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=settings,
        )
        # The client waits forever by default; a dead server must become a quick 503 instead.
        remote._server._session.timeout = httpx.Timeout(cfg.timeout)  # type: ignore[attr-defined]
        return remote
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(cfg.data_dir), settings=settings)


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
