"""The task queue between the web tier and the ingest workers (Huey).

    enqueue(cfg, "hr")  # after the upload's row is written: "collection hr has work"

The upload queue (index/uploads.py) holds each job, its bytes and its status; a message only
says which collection has work, and a worker drains that collection's waiting jobs in order.
A lost message loses nothing (a worker re-sends one for every collection with waiting work
when it starts and whenever it is idle), and a repeated one costs one query.

Empty `CITEQA_INGEST_QUEUE` keeps the messages in a SQLite file in the data folder (one host);
`redis://…` keeps them in Redis, for workers on several hosts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.settings import Config

if TYPE_CHECKING:
    from huey import Huey

TASK = "citeqa.ingest.drain"
NAME = "citeqa-ingest"


@functools.cache
def _huey(location: str, data_dir: Path) -> Huey:
    """Return the queue at `location` (a Redis URL, else the SQLite file in `data_dir`)."""
    # huey imports redis: it loads on the first upload, not in every serving process
    from huey import RedisHuey, SqliteHuey

    if location.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(NAME, url=location, results=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(NAME, filename=str(data_dir / "ingest-queue.sqlite3"), results=False)


def huey(cfg: Config) -> Huey:
    """Return the task queue the settings name."""
    return _huey(cfg.ingest_queue, cfg.data_dir)


def drain_task(queue: Huey, work: Callable[[str], None]) -> Any:
    """Register `work(collection)` as the drain task of `queue`; return the task."""
    def drain(collection: str) -> None:
        # defined here, so the task has this module's name in every process that sends it
        work(collection)

    return queue.task(name=TASK)(drain)


def _worker_only(collection: str) -> None:
    """Stand for the drain task in processes that only send it."""
    raise RuntimeError(f"draining {collection!r} runs in `citeqa worker`, not here")


@functools.cache
def _sender(queue: Huey) -> Any:
    """Return the drain task as the web tier sends it."""
    return drain_task(queue, _worker_only)


def enqueue(cfg: Config, collection: str) -> None:
    """Tell the ingest workers that `collection` has waiting jobs."""
    _sender(huey(cfg))(collection)
