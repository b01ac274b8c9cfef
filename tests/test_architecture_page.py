"""The architecture page names every module of service/, index/ and prompts/, and no other."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"
NAMED = re.compile(r"`((?:service|index|prompts)/[\w/.]+\.(?:py|md))`")


def modules() -> set[str]:
    """Return every module of the three packages (and every prompt file) as a repo path."""
    found = {p for top in ("service", "index") for p in (ROOT / top).rglob("*.py")
             if p.name != "__init__.py"}
    found |= {p for p in (ROOT / "prompts").iterdir() if p.suffix in {".py", ".md"}}
    return {p.relative_to(ROOT).as_posix() for p in found}


def test_every_module_is_on_the_architecture_page() -> None:
    missing = modules() - set(NAMED.findall(PAGE.read_text(encoding="utf-8")))
    assert not missing, f"add these to docs/architecture.md: {sorted(missing)}"


def test_the_architecture_page_names_only_modules_that_exist() -> None:
    stale = set(NAMED.findall(PAGE.read_text(encoding="utf-8"))) - modules()
    assert not stale, f"docs/architecture.md names modules that are gone: {sorted(stale)}"


def test_a_missing_module_is_noticed() -> None:
    assert "service/cli.py" in modules() and "prompts/answer.system.md" in modules()
