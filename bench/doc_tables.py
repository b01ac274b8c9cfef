"""Rewrite a generated table in its docs page, between `<!-- NAME:start/end -->` markers."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"

# Which page each generated section lives in.
PAGES = {
    "settings": "settings.md",
    "core": "performance.md",
    "peer": "performance.md",
    "load": "operations.md",
    "quality": "quality.md",
    "meaning": "quality.md",
    "scale": "scale.md",
    "dense": "scale.md",
}


def replace_section(name: str, body: str, page: Path | None = None) -> None:
    """Put `body` between the section's markers in its page, appending the section if missing."""
    page = page or DOCS / PAGES[name]
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = page.read_text(encoding="utf-8")
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    page.write_text(text, encoding="utf-8")


def settings_block() -> str:
    """Return the settings page's table as `make docs-tables` writes it."""
    from service.settings import markdown_table

    return markdown_table()


if __name__ == "__main__":
    replace_section("settings", settings_block())
