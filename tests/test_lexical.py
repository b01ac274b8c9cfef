"""The lexical index: built once per indexed state, served from disk, blind to restricted text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from chromadb.api import ClientAPI

from index import lexical, store, switch
from index.access import PUBLIC, Access
from index.build import index_corpus, index_documents
from index.documents import Document
from index.loaders import load_corpus
from index.store import StoreConfig
from service.core.retrieval import Retriever

QUERY = "silt depth harbour survey divers"
VAULT = Access(frozenset({"vault"}))


def _scores(retriever: Retriever, access: Access) -> list[tuple[str, float]]:
    """Return a reader's BM25 ranking for QUERY by chunk id."""
    return [(retriever.lexicon.chunk_id(p), s) for p, s in retriever.lexical(QUERY, 20, access)]


def test_restricted_text_moves_no_other_readers_scores(corpus_copy: Path, tmp_path: Path) -> None:
    """Adding a restricted document with the query's words changes nothing a reader sees."""
    cfg = StoreConfig(tmp_path / "data", "side")
    index_corpus(corpus_copy, cfg, progress=False)
    before = Retriever.open(cfg)
    terms = lexical.query_terms(QUERY)
    public, weights = _scores(before, PUBLIC), [before.idf(PUBLIC)(t) for t in terms]
    assert public and not before.mentions(["kiln"], PUBLIC)

    (corpus_copy / "vault").mkdir()
    (corpus_copy / "vault" / "_access.json").write_text('{"groups": ["vault"]}')
    (corpus_copy / "vault" / "dive.md").write_text(
        "# Dive log\n\nSilt silt silt: the harbour survey divers logged silt depth daily.\n\n"
        "The kiln by the harbour fires at night.\n")
    index_corpus(corpus_copy, cfg, progress=False)
    after = Retriever.open(cfg)
    assert _scores(after, PUBLIC) == public
    assert [after.idf(PUBLIC)(t) for t in terms] == weights
    assert not after.mentions(["kiln"], PUBLIC) and after.mentions(["kiln"], VAULT)
    assert any(cid.startswith("vault/dive.md") for cid, _ in _scores(after, VAULT))
    assert after.idf(VAULT)(terms[0]) != weights[0]  # who may read it counts it
    # a reader of every class is masked by nobody; a public reader only off the vault's chunks
    assert before.lexicon.mask(PUBLIC) is None and after.lexicon.mask(VAULT) is None
    public_mask = after.lexicon.mask(PUBLIC)
    assert public_mask is not None and not all(public_mask) and any(public_mask)
    assert all(after.lexicon.doc_id(p).startswith("vault/") != bool(public_mask[p])
               for p in range(len(after.lexicon)))


def test_indexing_builds_the_lexical_index_before_serving_processes_look(
        corpus_copy: Path, tmp_path: Path) -> None:
    """`citeqa index` leaves a complete lexical index that a serving process opens as it is."""
    cfg = StoreConfig(tmp_path / "data", "built")
    switch.update(corpus_copy, cfg, progress=False)
    root = lexical.root(cfg)
    built = {p.name: (p / lexical.MANIFEST).stat().st_mtime_ns for p in root.iterdir()
             if p.is_dir()}
    assert len(built) == 1
    served = Retriever.open(cfg)
    assert served.lexicon.folder.name in built
    assert {p.name for p in root.iterdir() if p.is_dir()} == set(built)
    assert (served.lexicon.folder / lexical.MANIFEST).stat().st_mtime_ns == \
        built[served.lexicon.folder.name]

    # a changed document gets a new folder; the one serving until now stays for its requests
    (corpus_copy / "notes.txt").write_text("Harbour notes\n\nThe survey found 17 wrecks.\n")
    switch.update(corpus_copy, cfg, progress=False)
    folders = {p.name for p in root.iterdir() if p.is_dir()}
    assert len(folders) == 2 and served.lexicon.folder.name in folders
    assert Retriever.open(cfg).search("wrecks", 1)[0].doc_id == "notes.txt"
    switch.update(corpus_copy, cfg, progress=False)
    (corpus_copy / "notes.txt").write_text("Harbour notes\n\nThe survey found 18 wrecks.\n")
    switch.update(corpus_copy, cfg, progress=False)
    assert served.lexicon.folder.name not in {p.name for p in root.iterdir()}
    assert served.search("prune apple trees winter", 1)  # its files are still open


def test_a_half_written_lexical_index_is_never_served(corpus_copy: Path, tmp_path: Path) -> None:
    """What a killed builder left (a temporary folder, a folder without its manifest) is rebuilt."""
    cfg = StoreConfig(tmp_path / "data", "crash")
    index_corpus(corpus_copy, cfg, progress=False)
    api = store.client(cfg)
    root = lexical.root(cfg)
    target = root / lexical.state(cfg, api)
    (root / ".building-killed").mkdir(parents=True)
    (root / ".building-killed" / "ids.npy").write_bytes(b"half")
    target.mkdir()
    (target / "ids.npy").write_bytes(b"half")
    served = Retriever.open(cfg, api)
    assert served.lexicon.folder == target and len(served) > 0
    assert served.search("How deep was the silt beside the ferry pier?", 1)[0].doc_id == \
        "notes.txt"


def pointed(corpus: Path, cfg: StoreConfig) -> tuple[StoreConfig, ClientAPI, switch.Active]:
    """Index `corpus` as `citeqa index` does; return the store, a client and the pointer."""
    switch.update(corpus, cfg, progress=False)
    api = store.client(cfg)
    return cfg, api, switch.active(api, cfg.collection)


def test_the_pointer_names_the_lexical_index_and_a_stale_name_is_not_served(
        corpus_copy: Path, tmp_path: Path) -> None:
    """A serving process opens the index the pointer names, unless documents came or went."""
    cfg, api, pointer = pointed(corpus_copy, StoreConfig(tmp_path / "data", "pointed"))
    assert pointer.lexical and pointer.documents == 4
    assert pointer.written == store.written(api, cfg.collection) != ""
    assert Retriever.open(cfg, api, pointer=pointer).lexicon.folder.name == pointer.lexical

    # written by a library call that leaves the pointer alone: the records' stamp tells, and
    # for a pointer written before stamps, the records' count
    extra = Document("extra.md", "Extra", "", "# Extra\n\nThe kiln fires at 1,280 degrees.\n",
                     "fp-extra")
    index_documents([extra], cfg, keep=lambda _: True, progress=False)
    assert store.written(api, cfg.collection) != pointer.written
    for seen in (pointer, replace(pointer, written="")):
        opened = Retriever.open(cfg, api, pointer=seen)
        assert opened.lexicon.folder.name != pointer.lexical
        assert opened.search("kiln temperature", 1)[0].doc_id == "extra.md"


def test_a_replaced_document_is_seen_though_the_count_is_the_same(corpus_copy: Path,
                                                                   tmp_path: Path) -> None:
    """A library call that rewrites a document leaves the count alone, not the stamp."""
    cfg, api, pointer = pointed(corpus_copy, StoreConfig(tmp_path / "data", "replaced"))
    (corpus_copy / "notes.txt").write_text("The kiln fires at 1,280 degrees.\n")
    index_documents(load_corpus(corpus_copy), cfg, progress=False)
    opened = Retriever.open(cfg, api, pointer=pointer)
    assert opened.lexicon.documents == pointer.documents
    assert opened.lexicon.folder.name != pointer.lexical
    assert opened.search("kiln temperature", 1)[0].doc_id == "notes.txt"


def test_a_document_without_chunks_does_not_make_every_load_build(tmp_path: Path) -> None:
    """An empty document is whole: the state it belongs to is built once, then reused."""
    cfg = StoreConfig(tmp_path / "data", "empty")
    docs = [Document("empty.md", "Empty", "", "", "fp-empty"),
            Document("kiln.md", "Kiln", "", "# Kiln\n\nThe kiln fires at 1,280 degrees.\n",
                     "fp-kiln")]
    index_documents(docs, cfg, progress=False)
    first = Retriever.open(cfg)
    assert first.documents == 2 and Retriever.open(cfg).lexicon.folder == first.lexicon.folder
    assert [p.name for p in lexical.root(cfg).iterdir() if p.is_dir()] == \
        [first.lexicon.folder.name]


def test_a_stamp_read_during_a_change_vouches_for_nothing(corpus_copy: Path,
                                                          tmp_path: Path) -> None:
    """A change under way, or one that failed, leaves no stamp a pointer could trust."""
    cfg, api, _ = pointed(corpus_copy, StoreConfig(tmp_path / "data", "stamped"))
    records = store.docs_collection(api, cfg.collection)
    with store.changing(records):
        assert switch.stamped_lexicon(cfg, api)[1] == ""
    settled = store.written(api, cfg.collection)
    assert settled and switch.stamped_lexicon(cfg, api)[1] == settled
    with pytest.raises(RuntimeError), store.changing(records):
        raise RuntimeError("the writer failed midway")
    assert store.written(api, cfg.collection) not in ("", settled)
    assert not store.written(api, cfg.collection).startswith(store.OPENING)


def _resident_kb(names: set[str]) -> dict[str, int]:
    """Return how much of each named file this process holds resident through a memory map."""
    held = dict.fromkeys(names, 0)
    mapped = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].endswith(":"):  # a mapping's header line
            mapped = Path(fields[-1]).name if len(fields) >= 6 else ""
        elif fields[0] == "Rss:" and mapped in held:
            held[mapped] += int(fields[1])
    return held


def test_postings_and_passages_are_read_not_mapped_into_the_worker(
        corpus_copy: Path, tmp_path: Path) -> None:
    """A search reads its words' postings and its passages from disk: the worker keeps none
    of their pages resident, and the scores are bm25s's own."""
    cfg = StoreConfig(tmp_path / "data", "pread")
    index_corpus(corpus_copy, cfg, progress=False)
    served = Retriever.open(cfg)
    found = served.search(QUERY, 5)
    assert found and found[0].doc_id == "notes.txt" and "silt" in found[0].text.lower()
    assert _resident_kb({"passages.jsonl", "data.csc.index.npy", "indices.csc.index.npy"}) == \
        {"passages.jsonl": 0, "data.csc.index.npy": 0, "indices.csc.index.npy": 0}
    [part] = served.lexicon.parts
    terms = [t for t in [*lexical.query_terms(QUERY), "silt"] if t in part.bm25.vocab_dict]
    assert len(terms) >= 3 and terms.count("silt") == 2  # a repeated word counts twice
    assert part.scores(terms).tolist() == part.bm25.get_scores(terms).tolist()
