"""Incremental indexing with the real model and a real Chroma store on disk."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index import passages, store
from index.access import EVERYTHING, PUBLIC, Access
from index.build import index_corpus
from index.lexical import ensure
from index.store import StoreConfig
from service.core.retrieval import Retriever


def _doc_ids(cfg: StoreConfig) -> set[str]:
    """Return the document ids that have chunks in the index."""
    chunks = store.chunks_collection(store.client(cfg), cfg.collection)
    metas = chunks.get(include=["metadatas"])["metadatas"] or []
    return {str(m["doc_id"]) for m in metas}


def test_add_change_and_delete_files(corpus_copy: Path, tmp_path: Path) -> None:
    cfg = StoreConfig(tmp_path / "data", "incremental")
    first = index_corpus(corpus_copy, cfg, progress=False)
    assert sorted(first.added) == ["bridge.html", "guide.md", "notes.txt", "report.pdf"]
    assert first.chunks > 0

    again = index_corpus(corpus_copy, cfg, progress=False)
    assert (again.added, again.updated, again.removed, again.chunks) == ([], [], [], 0)
    assert again.unchanged == 4

    (corpus_copy / "notes.txt").write_text("Harbour notes\n\nThe survey found 17 wrecks.\n")
    (corpus_copy / "report.pdf").unlink()
    (corpus_copy / "extra.md").write_text("# Extra\n\nThe kiln fires at 1,280 degrees.\n")
    third = index_corpus(corpus_copy, cfg, progress=False)
    assert (third.added, third.updated, third.removed) == (["extra.md"], ["notes.txt"],
                                                            ["report.pdf"])
    assert third.unchanged == 2
    assert _doc_ids(cfg) == {"bridge.html", "guide.md", "notes.txt", "extra.md"}

    retriever = Retriever.open(cfg)
    served = [retriever.lexicon.chunk_id(p) for p in range(len(retriever))]
    texts = " ".join(retriever.chunks.get(ids=served, include=["documents"])["documents"] or [])
    assert "17 wrecks" in texts and "42 stations" not in texts and "318 members" not in texts
    assert retriever.search("kiln temperature", 1)[0].doc_id == "extra.md"


def test_metadata_change_alone_reindexes(corpus_copy: Path, tmp_path: Path) -> None:
    cfg = StoreConfig(tmp_path / "data", "metadata")
    index_corpus(corpus_copy, cfg, progress=False)
    (corpus_copy / "guide.meta.json").write_text('{"title": "Pruning, revised"}')
    report = index_corpus(corpus_copy, cfg, progress=False)
    assert report.updated == ["guide.md"]
    hit = Retriever.open(cfg).search("prune apple trees winter", 1)[0]
    assert hit.title == "Pruning, revised"


def test_index_survives_process_exit(corpus_copy: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    script = textwrap.dedent(f"""
        from pathlib import Path
        from index.build import index_corpus
        from index.store import StoreConfig
        index_corpus(Path({str(corpus_copy)!r}), StoreConfig(Path({str(data)!r}), "restart"),
                     progress=False)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    reopened = Retriever.open(StoreConfig(data, "restart"))
    assert len(reopened) > 0
    best = reopened.search("How deep was the silt beside the ferry pier?", 1)[0]
    assert best.doc_id == "notes.txt"
    report = index_corpus(corpus_copy, StoreConfig(data, "restart"), progress=False)
    assert report.unchanged == 4 and report.chunks == 0


def test_exact_search_ranks_as_the_store_does(corpus_copy: Path, tmp_path: Path) -> None:
    """A small embedded collection is searched in memory, ranked as the store's query ranks."""
    (corpus_copy / "crew").mkdir()
    (corpus_copy / "crew" / "_access.json").write_text('{"groups": ["crew"]}')
    (corpus_copy / "crew" / "log.md").write_text("# Log\n\nThe lighthouse keeper logs the tides.\n")
    cfg = StoreConfig(tmp_path / "data", "exact")
    index_corpus(corpus_copy, cfg, progress=False)
    exact = Retriever.open(cfg)
    assert exact.vectors is not None and len(exact.vectors) == len(exact)
    queried = Retriever(exact.lexicon, exact.chunks, exact.embedder, exact=False)
    assert queried.vectors is None
    queries = ("How deep was the silt beside the ferry pier?", "tides", "pruning")
    for access in (EVERYTHING, PUBLIC, Access(frozenset({"crew"}))):
        for query in queries:
            _same_ranking(exact.dense(query, 5, access), queried.dense(query, 5, access))

    def docs(access: Access) -> set[str]:
        return {exact.lexicon.doc_id(p) for p, _ in exact.dense("tides", 9, access)}

    assert "crew/log.md" in docs(Access(frozenset({"crew"}))) and len(docs(PUBLIC)) == 4
    assert "crew/log.md" not in docs(PUBLIC)

    # a document still being written is left out, and the rest rank as before
    records = store.records(store.client(cfg), cfg.collection)
    ready = {doc: meta for doc, meta in records.items() if doc != "guide.md"}
    partial = Retriever(ensure(tmp_path / "partial", exact.chunks, ready, 10_000), exact.chunks,
                        exact.embedder)
    assert partial.vectors is not None and len(partial.vectors) == len(partial) < len(exact)
    for query in queries:
        found = [(partial.lexicon.chunk_id(p), s)
                 for p, s in partial.dense(query, len(exact), EVERYTHING)]
        every = [(exact.lexicon.chunk_id(p), s)
                 for p, s in exact.dense(query, len(exact), EVERYTHING)
                 if exact.lexicon.doc_id(p) != "guide.md"]
        assert len(found) == len(partial)
        _same_ranking(found, every)


def test_int8_vectors_rank_as_float32_ones(corpus_copy: Path, tmp_path: Path) -> None:
    """Past vectors.FULL_PRECISION_CHUNKS the rows are int8: four times smaller, same order."""
    cfg = StoreConfig(tmp_path / "data", "int8s")
    index_corpus(corpus_copy, cfg, progress=False)
    full = Retriever.open(cfg)
    records = store.records(store.client(cfg), cfg.collection)
    small = Retriever(ensure(tmp_path / "int8", full.chunks, records, 10_000, full_up_to=0),
                      full.chunks, full.embedder)
    assert small.vectors is not None and small.vectors.rows.dtype == np.int8
    assert full.vectors is not None and full.vectors.rows.dtype == np.float32
    assert small.vectors.rows.nbytes * 4 == full.vectors.rows.nbytes
    for query in ("How deep was the silt beside the ferry pier?", "tides", "pruning"):
        mine, theirs = small.dense(query, len(full), PUBLIC), full.dense(query, len(full), PUBLIC)
        assert {p for p, _ in mine} == {p for p, _ in theirs}
        assert mine[0][0] == theirs[0][0]
        score = dict(theirs)
        assert all(abs(s - score[p]) < 0.01 for p, s in mine)


def test_passages_are_read_from_the_index_folder_as_the_store_holds_them(
        corpus_copy: Path, tmp_path: Path) -> None:
    """The passages a search returns come from the state's folder, equal to the stored chunks."""
    (corpus_copy / "notes.txt").write_text("Café hours: 7:30–16:00.\n\nThe ferry pier silts up.\n",
                                           encoding="utf-8")
    cfg = StoreConfig(tmp_path / "data", "passages")
    index_corpus(corpus_copy, cfg, progress=False)
    retriever = Retriever.open(cfg)
    assert (retriever.lexicon.folder / passages.TEXTS).stat().st_size > 0
    found = retriever.search("café hours ferry pier", 20)
    stored = retriever.chunks.get(ids=[p.chunk_id for p in found],
                                  include=["documents", "metadatas"])
    by_id = dict(zip(stored["ids"], zip(stored["documents"] or [], stored["metadatas"] or [],
                                        strict=True), strict=True))
    assert len(found) == len(retriever) and any("Café" in p.text for p in found)
    for passage in found:
        text, meta = by_id[passage.chunk_id]
        assert (passage.text, passage.doc_id, passage.start, passage.end) == \
            (text, meta["doc_id"], meta["start"], meta["end"])


def _same_ranking(mine: Sequence[tuple[object, float]],
                  theirs: Sequence[tuple[object, float]]) -> None:
    """Assert two rankings hold the same chunks in order, with the same similarities."""
    assert [p for p, _ in mine] == [p for p, _ in theirs]
    assert all(abs(a - b) < 1e-5 for (_, a), (_, b) in zip(mine, theirs, strict=True))


def test_a_query_is_embedded_once_however_often_it_is_searched(corpus_copy: Path,
                                                                tmp_path: Path) -> None:
    cfg = StoreConfig(tmp_path / "data", "queries")
    index_corpus(corpus_copy, cfg, progress=False)
    retriever = Retriever.open(cfg)
    first = retriever.dense("prune apple trees winter", 3)
    assert retriever.search("prune apple trees winter", 3)  # a follow-up's second look
    assert retriever.dense("prune apple trees winter", 3) == first
    cached = retriever.embed_query.cache_info()
    assert (cached.misses, cached.hits) == (1, 2)
