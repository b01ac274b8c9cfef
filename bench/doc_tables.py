"""Rewrite a generated README section between `<!-- NAME:start -->` and `<!-- NAME:end -->`."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def replace_section(name: str, body: str, readme: Path = README) -> None:
    """Put `body` between the section's markers, appending the section if it is missing."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = readme.read_text(encoding="utf-8")
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")


def settings_block() -> str:
    """Return the README's settings section as `make readme` writes it."""
    from service.settings import readme_table

    return readme_table()


if __name__ == "__main__":
    replace_section("settings", settings_block())
