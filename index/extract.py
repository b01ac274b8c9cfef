"""Turn a fetched web page into a Document: its main text (trafilatura) as Markdown.

Headings, paragraphs and lists come out as Markdown, so chunking sees the sections and the
chat shows the structure; navigation, footers and other boilerplate are left out.
"""

from __future__ import annotations

import hashlib

import trafilatura

from index.crawl import Page
from index.documents import Document
from index.loaders import text_title


def page_text(page: Page) -> tuple[str, str]:
    """Return a page's main text and its title (empty when the page has no main text)."""
    if page.content_type == "text/plain":
        text = page.body.decode(page.charset or "utf-8", "replace").replace("\r\n", "\n")
        return text.strip(), text_title(text, markdown=False)
    markup: str | bytes = page.body
    if page.charset:
        markup = page.body.decode(page.charset, "replace")
    extracted = trafilatura.extract(markup, url=page.url, output_format="markdown",
                                    include_comments=False, include_images=False,
                                    include_links=False, include_tables=True)
    meta = trafilatura.extract_metadata(markup, default_url=page.url)
    return (extracted or "").strip(), (meta.title if meta and meta.title else "")


def page_document(page: Page, groups: tuple[str, ...] = ()) -> Document | None:
    """Return the page as a Document whose id and citation link are its URL, or None."""
    text, title = page_text(page)
    if not text:
        return None
    title = " ".join(title.split()) or page.url
    digest = hashlib.sha256("\0".join((title, text, *groups)).encode()).hexdigest()
    return Document(id=page.url, title=title, url=page.url, text=text, fingerprint=digest,
                    groups=groups)
