"""Index uploaded documents in the background: one job at a time, per collection, per store.

A job's file is read with the corpus loaders (so an upload and a file in `corpus/` give the same
document), then written into the collection's serving generation, whose pointer moves so every
serving process reloads. A file that cannot be read fails with the reason; a store that cannot
be reached puts the job back for later.

    >>> Ingester(queue, store_config).start()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from index import collections, store, switch
from index.documents import Document
from index.uploads import Queue, Upload

IDLE_SECONDS = 0.5
RETRY_SECONDS = 5.0
log = logging.getLogger("citeqa")


class Unreadable(ValueError):
    """An upload whose file holds no usable text; the message is the reason shown."""


def read(job: Upload, body: bytes) -> Document:
    """Turn an uploaded file into the document it indexes as."""
    from index import loaders  # file parsers load on the first upload, not in every worker

    suffix = Path(job.filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="citeqa-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(body)
        meta = {"title": job.title, "groups": list(job.groups)}
        path.with_name("upload" + loaders.META_SUFFIX).write_text(json.dumps(meta))
        try:
            doc = loaders.load(path, Path(folder))
        except loaders.LoaderError as exc:
            raise Unreadable(str(exc).replace(str(path), job.filename)) from exc
    if not doc.text.strip():
        raise Unreadable("the file holds no text (an empty file, or a PDF of scanned images)")
    title = doc.title if doc.title != "upload" else Path(job.filename).stem
    return replace(doc, id=job.id, title=title)


def apply(job: Upload, body: bytes, base: store.StoreConfig) -> str:
    """Index or remove one document in its collection's serving generation.

    Return what the owner should read beside `ready`: an import's report of pages fetched,
    indexed and skipped (and why); nothing for a document.
    """
    api = store.client(base)
    if not collections.exists(api, base.collection, job.collection):
        raise Unreadable(f"the collection {job.collection!r} no longer exists")
    cfg = collections.store_config(base, job.collection)
    if job.action == "import":
        from index import webimport  # the crawler loads on the first import job
        from index.crawl import CrawlError

        try:
            return webimport.run_job(body, cfg, job.groups).summary()
        except CrawlError as exc:
            raise Unreadable(str(exc)) from exc
    if job.action == "delete":
        switch.change([], cfg, keep=lambda doc_id: doc_id != job.id)
        return ""
    doc = read(job, body)
    switch.change([doc], cfg, keep=lambda doc_id: doc_id != job.id)
    return ""


class Ingester:
    """A daemon thread that works through the upload queue."""

    def __init__(self, queue: Queue, base: store.StoreConfig) -> None:
        """Remember the queue and the store; `start()` begins work."""
        self.queue, self.base = queue, base
        self._wake = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker thread once."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="citeqa-ingest", daemon=True).start()

    def wake(self) -> None:
        """Look at the queue now (a job was just added)."""
        self._wake.set()

    def _run(self) -> None:
        """Claim and process jobs forever."""
        while True:
            try:
                worked = self.step()
            except Exception:  # the queue file itself failed; keep the thread alive
                log.exception("upload queue failed")
                worked = False
            if not worked:
                self._wake.wait(IDLE_SECONDS)
                self._wake.clear()

    def step(self) -> bool:
        """Process one job if there is one; tell whether there was."""
        claimed = self.queue.claim()
        if claimed is None:
            return False
        job, body = claimed
        try:
            note = apply(job, body, self.base)
        except Unreadable as exc:
            self.queue.finish(job, "failed", str(exc))
        except Exception as exc:  # the store is down or timed out: the job waits, never lost
            log.warning("indexing %s/%s failed (%s); retrying", job.collection, job.id,
                        exc.__class__.__name__)
            self.queue.retry_later(job, RETRY_SECONDS)
        else:
            self.queue.finish(job, "ready", note)
        return True
