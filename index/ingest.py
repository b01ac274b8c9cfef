"""Index one uploaded document or site import, within the job's limits.

A job's file is read with the corpus loaders (so an upload and a file in `corpus/` give the same
document), then written into the collection's serving generation, whose pointer moves so every
serving process reloads. A file that cannot be read, or whose text is over the job's limits,
fails with the reason; the ingest worker (service/ingest/) claims jobs, bounds their time and
puts a job back when the store cannot be reached.

    >>> apply(job, body, store_config, JobLimits(), progress=print)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from index import collections, store, switch
from index.documents import Document
from index.uploads import Upload

Progress = Callable[[str], None]


@dataclass(frozen=True)
class JobLimits:
    """What one job may cost: wall time, extracted characters and PDF pages."""

    max_seconds: float = 600.0
    max_chars: int = 2_000_000
    max_pages: int = 2_000


class Unreadable(ValueError):
    """An upload whose file holds no usable text; the message is the reason shown."""


def read(job: Upload, body: bytes, limits: JobLimits = JobLimits()) -> Document:
    """Turn an uploaded file into the document it indexes as, within the text limits."""
    from index import loaders  # file parsers load on the first upload, not in every worker

    suffix = Path(job.filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="citeqa-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(body)
        meta = {"title": job.title, "groups": list(job.groups)}
        path.with_name("upload" + loaders.META_SUFFIX).write_text(json.dumps(meta))
        try:
            doc = loaders.load(path, Path(folder), loaders.TextLimits(limits.max_chars,
                                                                      limits.max_pages))
        except loaders.LoaderError as exc:
            raise Unreadable(str(exc).replace(str(path), job.filename)) from exc
    if not doc.text.strip():
        raise Unreadable("the file holds no text (an empty file, or a PDF of scanned images)")
    title = doc.title if doc.title != "upload" else Path(job.filename).stem
    return replace(doc, id=job.id, title=title)


def _import(job: Upload, body: bytes, cfg: store.StoreConfig, progress: Progress) -> str:
    """Run a site import job into the collection of `cfg`; return its report."""
    from index import webimport  # the crawler loads on the first import job
    from index.crawl import CrawlError

    try:
        return webimport.run_job(body, cfg, job.groups, progress).summary()
    except CrawlError as exc:
        raise Unreadable(str(exc)) from exc


def apply(job: Upload, body: bytes, base: store.StoreConfig, limits: JobLimits,
          progress: Progress) -> str:
    """Index or remove one document in its collection's serving generation.

    Return what the owner should read beside `ready`: an import's report of pages fetched,
    indexed and skipped (and why); nothing for a document.
    """
    api = store.client(base)
    if not collections.exists(api, base.collection, job.collection):
        raise Unreadable(f"the collection {job.collection!r} no longer exists")
    cfg = collections.store_config(base, job.collection)

    def embedding(done: int, total: int) -> None:
        progress(f"embedded {done} of {total} passages")

    if job.action == "import":
        return _import(job, body, cfg, progress)
    if job.action == "delete":
        switch.change([], cfg, keep=lambda doc_id: doc_id != job.id)
        return ""
    progress("reading the file")
    doc = read(job, body, limits)
    switch.change([doc], cfg, keep=lambda doc_id: doc_id != job.id, on_embed=embedding)
    return ""
