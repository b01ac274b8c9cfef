"""Markdown shown as HTML: rendered by markdown-it-py with raw HTML kept as text, then cleaned
by nh3 to an allow-list (no script, no event handler, links only to http(s) and mailto).

`anchored` also wraps each run of a document's text in `<span data-at="N">`, N being where
that run starts in the raw text, so that the page can highlight a cited range [start, end) of
the raw text exactly where it shows on the rendered document.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import accumulate

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code",
        "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
        "span"}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "span": {"data-at"}}
SCHEMES = {"http", "https", "mailto"}
ANCHORED = ("text", "code_inline")  # the inline tokens whose content is raw text, shown as is


def parser() -> MarkdownIt:
    """Return a CommonMark parser with tables and strikethrough, raw HTML off."""
    # text_join would fold escaped characters ("\*") into the text around them, which then
    # no longer reads as it stands in the raw text; they stay apart and unanchored instead.
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("text_special", _span)
    return md.disable("text_join")


def clean(html: str) -> str:
    """Keep only the allow-listed tags, attributes and link schemes (no trailing newline)."""
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES,
                     link_rel="noopener noreferrer nofollow").strip()


def render(text: str) -> str:
    """Return Markdown as clean HTML."""
    return clean(_PLAIN.renderer.render(below_page_headings(_PLAIN.parse(text)),
                                        _PLAIN.options, {}))


def below_page_headings(tokens: list[Token]) -> list[Token]:
    """Move headings two levels down: the page's title and the pane's are h1 and h2."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1:]) + 2, 6)}"
    return tokens


def anchored(text: str) -> str:
    """Return a document's Markdown as clean HTML whose text runs carry their raw offsets."""
    if "\r" in text:  # the parser would normalise line ends and shift every offset
        return render(text)
    tokens = _ANCHORED.parse(text)
    starts = [0, *accumulate(len(line) for line in text.splitlines(keepends=True))]
    for token in tokens:
        if token.type == "inline" and token.map and token.children:
            first, last = token.map
            locate(token.children, text, starts[first], starts[min(last, len(starts) - 1)])
    return clean(_ANCHORED.renderer.render(below_page_headings(tokens), _ANCHORED.options, {}))


def locate(children: Sequence[Token], text: str, cursor: int, stop: int) -> None:
    """Record in each text token where its content stands in text[cursor:stop], in order."""
    for child in children:
        if child.type not in ANCHORED or not child.content:
            continue
        found = text.find(child.content, cursor, stop)
        if found >= 0:
            child.meta["at"] = found
            cursor = found + len(child.content)


def _span(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
          env: EnvType) -> str:
    """Render a text token, wrapped with its raw offset when it has one."""
    token = tokens[idx]
    shown = escape(token.content, quote=False)
    if "at" in token.meta:
        shown = f'<span data-at="{token.meta["at"]}">{shown}</span>'
    return f"<code>{shown}</code>" if token.type == "code_inline" else shown


_PLAIN = parser()
_ANCHORED = parser()
for _rule in ANCHORED:
    _ANCHORED.add_render_rule(_rule, _span)
