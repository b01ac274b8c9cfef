"""Generated tables land between their markers in their own docs page."""

from __future__ import annotations

from pathlib import Path

from bench.doc_tables import DOCS, PAGES, replace_section


def test_a_section_is_replaced_between_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# x\n\nintro\n", encoding="utf-8")
    replace_section("quality", "first", page)
    replace_section("quality", "second", page)
    text = page.read_text(encoding="utf-8")
    start, end = "<!-- quality:start -->", "<!-- quality:end -->"
    assert text.count(start) == 1 and f"{start}\nsecond\n{end}" in text and "first" not in text
    assert text.startswith("# x\n\nintro\n")


def test_every_generated_section_has_its_markers_in_its_page() -> None:
    for name, page in PAGES.items():
        text = (DOCS / page).read_text(encoding="utf-8")
        assert text.count(f"<!-- {name}:start -->") == 1, f"{page} lacks the {name} markers"
        assert text.count(f"<!-- {name}:end -->") == 1, f"{page} lacks the {name} markers"
