"""The docs stay true: the architecture page names every module, the README stays short and whole.

The site itself is checked by `make docs` (MkDocs, strict): dead links and anchors fail there.
The README sits outside the site, so its links are checked here.
"""

from __future__ import annotations

import re

from tests.support.paths import ROOT

ARCHITECTURE = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
NAMED = re.compile(r"`((?:service|index|prompts)/[\w/.]+\.(?:py|md))`")
LINK = re.compile(r"\]\(([^)#\s]+)")


def modules() -> set[str]:
    """Return every module of the three packages (and every prompt file) as a repo path."""
    found = {p for top in ("service", "index") for p in (ROOT / top).rglob("*.py")
             if p.name != "__init__.py"}
    found |= {p for p in (ROOT / "prompts").iterdir() if p.suffix in {".py", ".md"}}
    return {p.relative_to(ROOT).as_posix() for p in found}


def named_on_page() -> set[str]:
    """Return every module path the architecture page names."""
    return set(NAMED.findall(ARCHITECTURE.read_text(encoding="utf-8")))


def test_the_module_list_sees_every_package() -> None:
    found = modules()
    assert {"service/cli.py", "index/store.py", "prompts/answer.system.md"} <= found


def test_every_module_is_on_the_architecture_page() -> None:
    missing = modules() - named_on_page()
    assert not missing, f"add these to docs/architecture.md: {sorted(missing)}"


def test_the_architecture_page_names_only_modules_that_exist() -> None:
    stale = named_on_page() - modules()
    assert not stale, f"docs/architecture.md names modules that are gone: {sorted(stale)}"


def test_the_readme_is_short_and_its_links_lead_somewhere() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150, "the README is a front page: move detail into docs/"
    assert "make run" in text and "make test" in text
    local = [link for link in LINK.findall(text) if "://" not in link]
    assert local, "the README links to the docs pages"
    dead = [link for link in local if not (ROOT / link).exists()]
    assert not dead, f"the README links to files that do not exist: {dead}"
