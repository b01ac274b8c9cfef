"""Index evaluation data through the project's own pipeline, cached between runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from index import model_export
from index.build import IndexReport, index_documents
from index.documents import Document
from index.embedder import BATCH_SIZE
from index.store import StoreConfig

CACHE = Path(__file__).resolve().parent / ".cache"
SLICE = 200  # documents per indexing run: an interrupted run keeps what it embedded
SIGNATURE = "embedding.json"  # what made a cached index's vectors: the graph, the batch size


def store_for(name: str) -> StoreConfig:
    """Return where the data set `name` is indexed (its own store under bench/.cache/)."""
    base = Path(os.environ.get("CITEQA_BENCH_CACHE", CACHE))
    return StoreConfig(base / name, name)


def ensure_index(name: str, documents: list[Document]) -> tuple[StoreConfig, IndexReport]:
    """Embed only documents that are new or changed since the last run, slice by slice."""
    cfg = store_for(name)
    _embedded_as_now(cfg)
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


def _signature(cfg: StoreConfig) -> dict[str, Any]:
    """Return what the product embeds with now: the served graph's hash and the batch size."""
    manifest = model_export.read_manifest(model_export.ensure(cfg.data_dir))
    if manifest is None:
        raise FileNotFoundError(f"no complete exported model in {cfg.data_dir}")
    graph = manifest["files"][model_export.served_file(manifest)]["sha256"]
    return {"graph": graph, "batch_size": BATCH_SIZE}


def _embedded_as_now(cfg: StoreConfig) -> None:
    """Empty a cached index whose vectors were made another way (or by an unknown one).

    Documents re-embed only when their text changes, so a change to the embedding would
    otherwise leave a cache of old vectors scored against new queries.
    """
    path = cfg.data_dir / SIGNATURE
    known = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    existed = cfg.data_dir.exists()
    now = _signature(cfg)
    if existed and known != now:
        print(f"{cfg.collection}: cached vectors were embedded another way; re-indexing",
              flush=True)
        index_documents([], cfg, progress=False)  # through the store: its client may be open
    path.write_text(json.dumps(now) + "\n", encoding="utf-8")
