"""Index evaluation data through the project's own pipeline, cached between runs."""

from __future__ import annotations

import os
from pathlib import Path

from index.build import IndexReport, index_documents
from index.documents import Document
from index.store import StoreConfig

CACHE = Path(__file__).resolve().parent / ".cache"
SLICE = 200  # documents per indexing run: an interrupted run keeps what it embedded


def store_for(name: str) -> StoreConfig:
    """Return where the data set `name` is indexed (its own store under bench/.cache/)."""
    base = Path(os.environ.get("CITEQA_BENCH_CACHE", CACHE))
    return StoreConfig(base / name, name)


def ensure_index(name: str, documents: list[Document]) -> tuple[StoreConfig, IndexReport]:
    """Embed only documents that are new or changed since the last run, slice by slice."""
    cfg = store_for(name)
    total = IndexReport()
    for i in range(0, len(documents), SLICE):
        part = index_documents(documents[i:i + SLICE], cfg, keep=lambda _: True,
                               progress=False)
        total.added += part.added
        total.updated += part.updated
        total.unchanged += part.unchanged
        total.chunks += part.chunks
        total.seconds += part.seconds
        if part.chunks:
            print(f"{name}: {min(i + SLICE, len(documents))}/{len(documents)} documents, "
                  f"{total.chunks} chunks embedded in {total.seconds:.0f} s", flush=True)
    # A last pass over everything drops documents no longer in the data set.
    total.removed = index_documents(documents, cfg, progress=False).removed
    return cfg, total
