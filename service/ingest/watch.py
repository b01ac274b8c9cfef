"""Watch one running ingest job from a second thread: renew its lease, publish its progress,
and stop it when it runs out of time or its row changes (replaced, deleted, taken over).

The job runs in the worker's main thread; stopping it is a signal to that thread, whose
handler raises `Stopped` wherever the job is, so no step of indexing needs to poll. What was
written by then is left as a crash leaves it: unrecorded, so never served (index/build.py).
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
import time
from types import TracebackType

from index.uploads import LEASE_SECONDS, Queue, Upload

STOP_SIGNAL = signal.SIGUSR1
log = logging.getLogger("citeqa")


class Stopped(Exception):
    """The job was stopped; the message says why."""


class Watch:
    """Renew a job's lease while it runs; stop it past `seconds` or once it is cancelled."""

    def __init__(self, queue: Queue, job: Upload, owner: str, seconds: float) -> None:
        """Remember the job; `with Watch(…):` runs it under watch."""
        self.queue, self.job, self.owner, self.seconds = queue, job, owner, seconds
        self.progress = "started"
        self.reason = ""
        self._deadline = time.monotonic() + seconds
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._beat, name="citeqa-lease", daemon=True)

    def report(self, progress: str) -> None:
        """Record how far the job went (written with the next lease renewal)."""
        self.progress = progress

    def __enter__(self) -> Watch:
        """Start renewing; the worker routes the stop signal to `interrupt`."""
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop renewing (the job's outcome is recorded next)."""
        with self._lock:
            self._done.set()
        self._thread.join()

    def interrupt(self) -> None:
        """Raise `Stopped` in the job's thread, unless the job already ended."""
        if self.reason and not self._done.is_set():
            raise Stopped(self.reason)

    def _beat(self) -> None:
        """Renew the lease every third of it until the job ends, stopping it when due."""
        while not self._done.wait(min(LEASE_SECONDS / 3, self._left())):
            if self._left() <= 0:
                self._stop(f"indexing took longer than {self.seconds:g} seconds "
                           "(CITEQA_INGEST_MAX_SECONDS)")
                return
            try:
                current = self.queue.renew(self.job, self.owner, self.progress)
            except sqlite3.Error:  # the queue file is busy now; the lease lasts two more tries
                log.warning("could not renew the lease of %s/%s", self.job.collection,
                            self.job.id)
                continue
            if not current:
                self._stop("cancelled: the document was replaced or deleted")
                return

    def _left(self) -> float:
        """Return the seconds the job has left."""
        return max(self._deadline - time.monotonic(), 0.0)

    def _stop(self, reason: str) -> None:
        """Signal the job's thread to stop, unless the job already ended."""
        with self._lock:
            if not self._done.is_set():
                self.reason = reason
                os.kill(os.getpid(), STOP_SIGNAL)
