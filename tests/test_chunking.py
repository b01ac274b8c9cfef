"""Sentences and chunks keep exact offsets and survive abbreviations and amounts."""

from __future__ import annotations

from index.chunking import chunk_document, sections, sentence_spans
from index.loaders import load
from tests.support.paths import ROOT


def test_sentences_survive_amounts_and_abbreviations() -> None:
    text = ("Canada will allocate approximately $305.9 million this year. The U.S. agreed. "
            "Dr. Smith signed it on March 31, 2017. Done.")
    got = [text[s.start:s.end] for s in sentence_spans(text)]
    assert got == ["Canada will allocate approximately $305.9 million this year.",
                   "The U.S. agreed.", "Dr. Smith signed it on March 31, 2017.", "Done."]


def test_paragraph_break_ends_a_sentence() -> None:
    text = "Other initiatives include:\n\nThese initiatives will also be undertaken."
    got = [text[s.start:s.end] for s in sentence_spans(text)]
    assert got == ["Other initiatives include:", "These initiatives will also be undertaken."]


def test_list_items_are_sentences_without_their_bullets() -> None:
    text = "Steps:\n- Moor on the east pontoon.\n2. Pay at the office. Then rest.\n- 5 knots max."
    got = [text[s.start:s.end] for s in sentence_spans(text)]
    assert got == ["Steps:", "Moor on the east pontoon.", "Pay at the office.", "Then rest.",
                   "5 knots max."]


def test_sections_follow_markdown_headings() -> None:
    text = "Intro line.\n\n# One\n\nBody one.\n\n## Two\n\nBody two."
    found = [(h, text[a:b].strip()) for h, a, b in sections(text)]
    assert found == [("", "Intro line."), ("One", "Body one."), ("Two", "Body two.")]


def test_chunks_of_seed_corpus_keep_offsets_and_headings() -> None:
    doc = load(ROOT / "corpus" / "promoting-security-and-stability.md", ROOT / "corpus")
    chunks = chunk_document(doc, max_chars=400)
    assert len(chunks) >= 4
    for chunk in chunks:
        assert chunk.sentences[0].start == chunk.start and chunk.sentences[-1].end == chunk.end
        assert "#" not in doc.text[chunk.start:chunk.end]
        for span in chunk.sentences:
            sentence = doc.text[span.start:span.end]
            assert sentence == sentence.strip() and sentence
    headings = {c.heading for c in chunks}
    assert {"Military efforts", "Non-military security efforts"} <= headings
    amount = next(c for c in chunks if "$305.9 million" in doc.text[c.start:c.end])
    assert amount.heading == "Military efforts"
    assert any(doc.text[s.start:s.end].startswith("Canada will allocate approximately $305.9")
               and doc.text[s.start:s.end].endswith("in 2016-17.") for s in amount.sentences)
