"""Answers during rebuilds: every request reads one index generation, never a mix of two."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from index import switch
from index.store import StoreConfig
from service.core.engine import Engine
from service.settings import Config

QUESTION = "How many lanterns does the harbour keep lit?"


def write_generation(corpus: Path, n: int) -> None:
    """Write a corpus whose one document changes length and wording with each generation."""
    filler = " ".join(f"Padding sentence {i} of generation {n}." for i in range(n % 4 * 3))
    (corpus / "harbour.md").write_text(
        f"# Harbour\n\n{filler}\n\nThe harbour keeps {n + 3} lanterns lit every night.\n",
        encoding="utf-8")


def test_every_request_sees_one_generation(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_generation(corpus, 0)
    store = StoreConfig(tmp_path / "data", "harbour")
    switch.rebuild(corpus, store, progress=False)
    engine = Engine(Config.from_env(data_dir=store.data_dir, collection=store.collection,
                                    index_check_seconds=0.05))
    engine.load()
    done = threading.Event()
    mixed: list[str] = []
    checked = versions = 0

    def rebuild_repeatedly() -> None:
        for n in range(1, 7):
            write_generation(corpus, n)
            switch.rebuild(corpus, store, progress=False)
            time.sleep(0.5)  # slower than a reload: each generation gets served
        done.set()

    writer = threading.Thread(target=rebuild_repeatedly)
    writer.start()
    seen: set[str] = set()
    while not done.is_set():
        index = engine.loaded()
        seen.add(index.version)
        for passage in index.retriever.search(QUESTION, 3):
            text = index.texts.get(ids=[passage.doc_id], include=["documents"])["documents"]
            whole = (text or [""])[0] or ""
            if whole[passage.start:passage.end] != passage.text:
                mixed.append(f"{index.version}: {passage.text!r}")
            checked += 1
        engine.answer(QUESTION)
    writer.join()
    versions = len(seen)
    assert not mixed, mixed[:3]
    assert checked > 20 and versions >= 3, (checked, versions)
