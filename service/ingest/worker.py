"""`citeqa worker`: the ingest process that indexes uploads and site imports.

    citeqa worker --data-dir data   # `citeqa serve` starts one for you

It takes messages from the task queue (service/ingest/jobs.py) and drains each named
collection's waiting jobs, one at a time, each under its limits (`Watch`). It runs at a lower
CPU priority than the web workers, so answers keep their latency while it embeds. A worker
killed at any moment loses nothing: its job's row keeps its lease until a worker on the same
host sees the process gone (at start) or the lease runs out (another host), and is then taken
again from the start; the index only serves what a finished write recorded.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time

from index.ingest import JobLimits, Unreadable, apply
from index.store import StoreConfig
from index.uploads import Queue, Upload
from service.ingest import jobs
from service.ingest.watch import STOP_SIGNAL, Stopped, Watch
from service.settings import Config

IDLE_SECONDS = 0.2
SWEEP_SECONDS = 10.0
RETRY_SECONDS = 5.0
NICENESS = 10
log = logging.getLogger("citeqa")


def _gone(owner: str) -> bool:
    """Tell whether a lease's owner (`host:pid`) is a process of this host that has ended."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Worker:
    """One ingest process: drains collections named by the task queue."""

    def __init__(self, cfg: Config) -> None:
        """Open the queues and remember the limits."""
        self.queue = Queue.in_folder(cfg.data_dir)
        self.base = StoreConfig(cfg.data_dir, cfg.collection, cfg.chroma_url, cfg.chroma_timeout)
        self.limits = JobLimits(cfg.ingest_max_seconds, cfg.ingest_max_text_chars,
                                cfg.ingest_max_pages)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.huey = jobs.huey(cfg)
        self.drain_task = jobs.drain_task(self.huey, self.drain)
        self.watch: Watch | None = None

    def run_forever(self) -> None:
        """Take messages until the process is stopped."""
        os.nice(NICENESS)
        logging.getLogger("huey").setLevel(logging.WARNING)  # not a line per message
        signal.signal(STOP_SIGNAL, self._interrupt)
        self.sweep()
        swept = time.monotonic()
        while True:
            try:
                if self.step():
                    continue
                if time.monotonic() - swept > SWEEP_SECONDS:
                    self.sweep()
                    swept = time.monotonic()
            except Exception:  # a queue that cannot be read now: the sweep sends work again
                log.exception("the ingest queue failed")
            time.sleep(IDLE_SECONDS)

    def step(self) -> bool:
        """Run the next message, if any; tell whether there was one."""
        task = self.huey.dequeue()
        if task is None:
            return False
        self.huey.execute(task)
        return True

    def sweep(self) -> None:
        """Free the leases of this host's dead workers; send a message for waiting work."""
        freed = self.queue.release_dead(_gone)
        if freed:
            log.warning("took back %d jobs from ingest workers that stopped", freed)
        for collection in sorted(self.queue.waiting()):
            self.drain_task(collection)

    def drain(self, collection: str) -> None:
        """Run a collection's waiting jobs in order until none is left (or another worker
        writes it)."""
        while (claimed := self.queue.claim(collection, self.owner)) is not None:
            self.run(*claimed)

    def run(self, job: Upload, body: bytes) -> None:
        """Run one job under watch and record its outcome."""
        self.watch = Watch(self.queue, job, self.owner, self.limits.max_seconds)
        try:
            with self.watch as watch:
                note = apply(job, body, self.base, self.limits, watch.report)
        except (Unreadable, Stopped) as exc:
            log.warning("%s/%s failed: %s", job.collection, job.id, exc)
            self.queue.finish(job, "failed", str(exc))
        except Exception as exc:  # the store is down or timed out: the job waits, never lost
            log.warning("indexing %s/%s failed (%s); retrying", job.collection, job.id,
                        exc.__class__.__name__)
            self.queue.retry_later(job, RETRY_SECONDS)
        else:
            self.queue.finish(job, "ready", note)

    def _interrupt(self, signum: int, frame: object) -> None:
        """Route the stop signal to the running job's watch."""
        if self.watch is not None:
            self.watch.interrupt()


def run(cfg: Config) -> None:
    """Run an ingest worker with these settings until stopped."""
    Worker(cfg).run_forever()
