"""Reload a serving index in the background when it changed, checking at most every N seconds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("citeqa")


class Reloader:
    """Run `reload` in a background thread when `stale()` says so; never block a request.

    `poll()` is cheap enough to call on every request: at most once per `every` seconds it
    starts one thread that asks `stale()` (a small read of the index pointer) and, if needed,
    runs `reload()`, which swaps the new index in only once it is fully loaded.
    """

    def __init__(self, every: float, stale: Callable[[], bool], reload: Callable[[], None]) -> None:
        """Remember the check interval and the two callbacks."""
        self.every = every
        self._stale, self._reload = stale, reload
        self._lock = threading.Lock()
        self._next = time.monotonic() + every
        self._running = False

    def poll(self) -> None:
        """Start a background check if one is due and none is running."""
        now = time.monotonic()
        with self._lock:
            if self._running or now < self._next:
                return
            self._running, self._next = True, now + self.every
        threading.Thread(target=self._check, name="citeqa-reload", daemon=True).start()

    def _check(self) -> None:
        """Reload if the index is stale; a failed check waits for the next poll."""
        try:
            if self._stale():
                log.info("index changed; reloading")
                self._reload()
        except Exception as exc:  # the store may be down; requests report it, this retries
            log.warning("index check failed (%s)", exc.__class__.__name__)
        finally:
            with self._lock:
                self._running = False
