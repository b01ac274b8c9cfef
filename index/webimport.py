"""Import a web site into an index: crawl it, extract each page's main text, index incrementally.

    result = import_site("https://docs.example/", StoreConfig(Path("data"), "citeqa"))
    print(result.report.summary())

Each page becomes a Document whose id and citation link are its URL. A re-import embeds only
pages whose text changed, removes the site's pages that are gone (or now disallowed), and keeps
pages that failed for a passing reason (a timeout, a 5xx); other documents are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from index import store, switch
from index.build import IndexReport
from index.crawl import Crawler, Limits
from index.documents import Document
from index.extract import page_document


@dataclass
class SiteImport:
    """What one import did: the indexing report and the pages that yielded nothing."""

    report: IndexReport
    pages: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)

    def summary(self) -> str:
        """Return the lines printed after an import."""
        lines = [f"fetched {self.pages} pages; {self.report.summary()}"]
        lines += [f"skipped {url}: {why}" for url, why in sorted(self.skipped.items())]
        return "\n".join(lines)


def site_documents(crawler: Crawler, skipped: dict[str, str]) -> Iterator[Document]:
    """Yield a Document for each crawled page with main text not already seen at another URL."""
    first_at: dict[str, str] = {}
    for page in crawler.pages():
        doc = page_document(page)
        if doc is None:
            skipped[page.url] = "no main text"
        elif doc.fingerprint in first_at:
            skipped[page.url] = f"same text as {first_at[doc.fingerprint]}"
        else:
            first_at[doc.fingerprint] = doc.url
            yield doc


def import_site(start_url: str, cfg: store.StoreConfig, limits: Limits | None = None,
                progress: bool = True) -> SiteImport:
    """Crawl the site of `start_url` into the serving collection of `cfg`."""
    crawler = Crawler(start_url, limits or Limits())
    empty: dict[str, str] = {}

    def keep(doc_id: str) -> bool:
        """Keep other documents, and this site's pages that failed for a passing reason."""
        return not crawler.owns(doc_id) or doc_id in crawler.failed

    report = switch.change(site_documents(crawler, empty), cfg, keep=keep, progress=progress)
    return SiteImport(report, crawler.fetched, {**crawler.skipped, **empty}, crawler.failed)
