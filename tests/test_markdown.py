"""Markdown rendered for the pages: clean HTML, and text runs that point at the raw text."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from service.web.markdown import anchored, render
from tests.support.paths import ROOT

RUN = re.compile(r'<span data-at="(\d+)">([^<]*)</span>')
HOSTILE = ("[click](javascript:window.__xss='link') [data](data:text/html,<b>x</b>) "
           "<javascript:alert(1)> ![img](x onerror=alert(1)) <img src=x onerror=alert(1)> "
           "<script>alert(1)</script> <a href=\"javascript:alert(1)\">a</a> "
           "[ok](https://example.org/a?b=1) **bold**\n\n| a | b |\n|---|---|\n| <i>1</i> | 2 |\n")


def runs(rendered: str) -> list[tuple[int, str]]:
    """Return each anchored run's offset and text."""
    return [(int(at), html.unescape(text)) for at, text in RUN.findall(rendered)]


def test_each_run_of_a_document_is_the_raw_text_at_its_offset() -> None:
    """Highlighting by offsets is exact on the shipped page and on a structured one."""
    for path in [*(ROOT / "corpus").glob("*.md"), *(ROOT / "tests" / "fixtures").rglob("*.md")]:
        text = path.read_text()
        found = runs(anchored(text))
        assert found, path
        assert all(text[at:at + len(run)] == run for at, run in found), path
        shown = re.sub(r"\s", "", "".join(run for _, run in found))
        assert len(shown) > 0.8 * len(re.sub(r"[#*_`|\-\s]", "", text)), path  # few unanchored


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*"ab *_`#-|\\[]()<>&\n1.", "**", "\n\n", "- "]),
                max_size=60).map("".join))
def test_runs_point_at_the_raw_text_whatever_the_markdown(text: str) -> None:
    """No Markdown, however broken, makes a run point at text it does not hold."""
    assert all(text[at:at + len(run)] == run for at, run in runs(anchored(text)))


def test_markdown_shows_rendered_not_raw() -> None:
    """Bold, links and tables render; headings sit below the page's own h1 and h2."""
    shown = render("# Rules\n\nBoats **only between** 9 and 5, see [the map](https://x.org).\n\n"
                   "| day | hours |\n|---|---|\n| Mon | 9-5 |\n")
    assert "<h3>Rules</h3>" in shown and "<strong>only between</strong>" in shown
    assert '<a href="https://x.org"' in shown and "<td>Mon</td>" in shown
    assert "**" not in shown and "](" not in shown


def test_hostile_markdown_renders_inert() -> None:
    """No script, no event handler, no javascript: or data: link; raw HTML is shown as text."""
    for shown in (render(HOSTILE), anchored(HOSTILE)):
        tags = re.findall(r"<\s*([a-z0-9]+)([^>]*)>", shown)
        assert {t for t, _ in tags} <= {"p", "a", "strong", "table", "thead", "tbody", "tr",
                                        "th", "td", "span"}
        attributes = " ".join(a for _, a in tags)
        assert "javascript:" not in attributes and "data:" not in attributes
        assert not re.search(r"\son\w+=", attributes)
        assert '<a href="https://example.org/a?b=1"' in shown
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
