"""`kill -9` at any point of `citeqa index` leaves a store the next run brings to exactly the
corpus: every chunk is an exact span of its recorded document (issue 13, item 3)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from index import loaders
from index.build import EMBED_BATCH
from index.chunking import chunk_document
from index.store import StoreConfig, chunks_collection, client, docs_collection
from tests.support.cli import CITEQA

LONG, SHORT = 900, 150  # paragraphs: ~270 chunks (two embedding batches), ~50 chunks


def station_log(version: int, paragraphs: int) -> str:
    """Return a long document whose every paragraph names its version."""
    parts = [f"# Station log, version {version}\n"]
    for n in range(paragraphs):
        parts.append(f"Entry {n} of version {version}. The northern station logged "
                     f"{n * 7 + version} readings of wind and {n * 3 % 97} of rain during week "
                     f"{n}. Observers at post {n % 13} noted that gauge {n * 11 % 89} needed "
                     f"cleaning before the survey planned for day {n % 28 + 1}.")
    return "\n\n".join(parts) + "\n"


def rewrite(corpus: Path, version: int, paragraphs: int) -> None:
    """Change the corpus: a new version of the log, a small file added or removed."""
    (corpus / "log.md").write_text(station_log(version, paragraphs))
    extra = corpus / "extra.md"
    if version % 2:
        extra.write_text(f"# Extra\n\nThe extra note of version {version} lists 3 kilns.\n")
    else:
        extra.unlink(missing_ok=True)


def index_run(corpus: Path, data: Path, kill_at: int | None = None) -> bool:
    """Run `citeqa index`; SIGKILL it once its progress bar shows `kill_at` chunks stored
    (-1: as soon as it starts; more than all: once all are); tell whether it was killed."""
    proc = subprocess.Popen([str(CITEQA), "index", "--corpus", str(corpus), "--data-dir",
                             str(data)], env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen = b""
    while kill_at is not None and proc.poll() is None:
        seen += proc.stderr.read1(4096)
        bars = re.findall(rb"embedding:[^|]*\|[^|]*\| *(\d+)/(\d+)", seen)
        stored, total = (int(bars[-1][0]), int(bars[-1][1])) if bars else (0, 1)
        if kill_at < 0 or (bars and stored >= min(kill_at, total)):
            proc.kill()
            proc.wait(timeout=30)
            return True
    rest = proc.stderr.read()
    assert proc.wait(timeout=600) == 0, (seen + rest).decode(errors="replace")[-2000:]
    return False


def assert_exactly(corpus: Path, cfg: StoreConfig) -> None:
    """Assert the store holds the corpus: its records, and exactly its chunks, as spans."""
    docs = {d.id: d for d in loaders.load_corpus(corpus)}
    api = client(cfg)
    records = docs_collection(api, cfg.collection).get(include=["metadatas", "documents"])
    recorded = dict(zip(records["ids"], records["documents"] or [], strict=True))
    assert set(recorded) == set(docs)
    assert all(recorded[i] == docs[i].text for i in docs)
    stored = chunks_collection(api, cfg.collection).get(include=["metadatas", "documents"])
    per_doc: dict[str, int] = {}
    for text, meta in zip(stored["documents"] or [], stored["metadatas"] or [], strict=True):
        assert meta is not None and text is not None
        doc_id = str(meta["doc_id"])
        start, end = int(str(meta["start"])), int(str(meta["end"]))
        assert text == recorded[doc_id][start:end], (doc_id, start, end)
        per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
    assert per_doc == {i: len(chunk_document(d)) for i, d in docs.items()}


@pytest.mark.slow
def test_kill_at_many_points_then_converge(tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    corpus.mkdir()
    (corpus / "kept.md").write_text("# Kept\n\nThe kept note says the ferry runs at 9.\n")
    cfg = StoreConfig(data, "citeqa")
    # killed while starting, after the first batch of chunks is stored, after the last one
    for version, kill_at in enumerate((-1, EMBED_BATCH, 10 * EMBED_BATCH), start=1):
        # a long version killed part way, then a short one: the killed run's chunks must go
        rewrite(corpus, 2 * version - 1, LONG)
        assert index_run(corpus, data, kill_at)
        rewrite(corpus, 2 * version, SHORT)
        assert index_run(corpus, data) is False
        assert_exactly(corpus, cfg)
