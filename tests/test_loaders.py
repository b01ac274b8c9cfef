"""Each supported format loads with its text, title and source URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.loaders import LoaderError, discover, fingerprint, load

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"


def test_discover_finds_each_format_and_skips_metadata() -> None:
    names = [p.name for p in discover(FORMATS)]
    assert names == ["bridge.html", "guide.md", "notes.txt", "report.pdf"]


def test_text_file_title_is_its_first_line() -> None:
    doc = load(FORMATS / "notes.txt", FORMATS)
    assert doc.id == "notes.txt"
    assert doc.title == "Field notes on the harbour survey"
    assert "Dr. Alvarez led a team of six divers" in doc.text


def test_markdown_metadata_sidecar_wins() -> None:
    doc = load(FORMATS / "guide.md", FORMATS)
    assert doc.title == "Orchard pruning guide (2nd edition)"
    assert doc.url == "https://example.org/orchard/pruning"
    assert doc.text.startswith("# Orchard pruning guide")


def test_html_keeps_blocks_and_headings_and_drops_scripts() -> None:
    doc = load(FORMATS / "bridge.html", FORMATS)
    assert doc.title == "The Lindqvist Bridge"
    assert doc.url == "https://example.org/bridges/lindqvist"
    assert "## Repairs" in doc.text
    assert "New cables were fitted in 2009 for $12.5 million." in doc.text
    assert "tracking" not in doc.text and "Contact us" not in doc.text and "color" not in doc.text


def test_pdf_text_and_title() -> None:
    doc = load(FORMATS / "report.pdf", FORMATS)
    assert doc.title == "Kestrel Cooperative annual report"
    assert "The cooperative had 318 members in 2023." in doc.text


def test_damaged_pdf_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not a pdf")
    with pytest.raises(LoaderError, match="unreadable PDF"):
        load(bad, tmp_path)


def test_bad_metadata_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Hello.")
    (tmp_path / "a.meta.json").write_text("{not json")
    with pytest.raises(LoaderError, match="invalid JSON"):
        load(tmp_path / "a.txt", tmp_path)


def test_fingerprint_changes_with_the_sidecar(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Hello.")
    before = fingerprint(tmp_path / "a.txt")
    (tmp_path / "a.meta.json").write_text(json.dumps({"title": "A"}))
    assert fingerprint(tmp_path / "a.txt") != before


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="corpus folder not found"):
        discover(tmp_path / "nowhere")
