"""Import a web site into an index: crawl it, extract each page's main text, index incrementally.

    result = import_site("https://docs.example/", StoreConfig(Path("data"), "citeqa"))
    print(result.report.summary())

Each page becomes a Document whose id and citation link are its URL. A re-import embeds only
pages whose text changed, removes the site's pages that are gone (or now disallowed), and keeps
pages that failed for a passing reason (a timeout, a 5xx) or that a crawl cut short by its
page or time limit did not reach; other documents are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from index import store, switch
from index.build import IndexReport
from index.crawl import Crawler, Limits
from index.documents import Document


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


def site_documents(crawler: Crawler, skipped: dict[str, str], groups: tuple[str, ...] = (),
                   progress: Callable[[str], None] | None = None) -> Iterator[Document]:
    """Yield a Document for each crawled page with main text not already seen at another URL."""
    from index.extract import page_document  # the extractor loads only when a site is imported

    first_at: dict[str, str] = {}
    for page in crawler.pages():
        if progress is not None:
            progress(f"fetched {crawler.fetched} pages")
        doc = page_document(page, groups)
        if doc is None:
            skipped[page.url] = "no main text"
        elif doc.fingerprint in first_at:
            skipped[page.url] = f"same text as {first_at[doc.fingerprint]}"
        else:
            first_at[doc.fingerprint] = doc.url
            yield doc


def import_site(start_url: str, cfg: store.StoreConfig, limits: Limits | None = None,
                progress: bool = True, groups: tuple[str, ...] = (),
                on_progress: Callable[[str], None] | None = None) -> SiteImport:
    """Crawl the site of `start_url` into the serving collection of `cfg`.

    Every page gets the access `groups` (none: every reader of the collection may read it).
    `on_progress` hears how far the crawl and the embedding went.
    """
    crawler = Crawler(start_url, limits or Limits())
    empty: dict[str, str] = {}

    def keep(doc_id: str) -> bool:
        """Keep other sites' documents, pages that failed for a passing reason, and pages a
        crawl cut short by its limits did not reach."""
        if not crawler.owns(doc_id) or doc_id in crawler.failed:
            return True
        return not crawler.complete and doc_id not in crawler.skipped and doc_id not in empty

    def embedding(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(f"fetched {crawler.fetched} pages; embedded {done} of {total} passages")

    report = switch.change(site_documents(crawler, empty, groups, on_progress), cfg, keep=keep,
                           progress=progress, on_embed=embedding)
    return SiteImport(report, crawler.fetched, {**crawler.skipped, **empty}, crawler.failed)


def job_body(url: str, limits: Limits) -> bytes:
    """Return a queued import job's body: the start URL and the limits."""
    return json.dumps({"url": url, "limits": asdict(limits)}).encode()


def run_job(body: bytes, cfg: store.StoreConfig, groups: tuple[str, ...],
            on_progress: Callable[[str], None] | None = None) -> SiteImport:
    """Run a queued import job (see `job_body`) into the collection of `cfg`."""
    job = json.loads(body)
    return import_site(str(job["url"]), cfg, Limits(**job["limits"]), progress=False,
                       groups=groups, on_progress=on_progress)
