"""Embedded Chroma systems: one current per folder; a replaced one stops once nothing uses it.

A system caches vectors, so reading what another process wrote takes a new one (`fresh`).
Dropped without `stop()`, a system keeps its threads, open files and memory in Chroma's Rust
bindings (about 10 MB per serving reload under traffic), so every client handed out here, and
every collection passed to `hold`, counts as a user of its system; a replaced system stops when
its last user is gone.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from chromadb.api import ClientAPI, ServerAPI
from chromadb.api.client import Client
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings, System

# Chroma breaks if two threads open a folder's system at once; a finalizer may run while held
_LOCK = threading.RLock()


class _Users:
    """Count the users of one system and stop it when it is replaced and none is left."""

    def __init__(self, system: System) -> None:
        """Start with no users; the system is current."""
        self.system = system
        self.count = 0
        self.current = True

    def add(self, user: object) -> None:
        """Count `user` until it is garbage."""
        with _LOCK:
            self.count += 1
        weakref.finalize(user, self._gone)

    def _gone(self) -> None:
        """Forget one user; stop the system if it was the last of a replaced one."""
        with _LOCK:
            self.count -= 1
            done = not self.current and not self.count
        if done:
            self.system.stop()

    def retire(self) -> Callable[[], None] | None:
        """Mark the system replaced (call under the lock); return its stop if unused already."""
        self.current = False
        return None if self.count else self.system.stop


_current: dict[str, _Users] = {}
_of_client: weakref.WeakKeyDictionary[ClientAPI, _Users] = weakref.WeakKeyDictionary()


def client(settings: Settings, fresh: bool = False) -> ClientAPI:
    """Return a client of the current system of `settings`' folder; `fresh` replaces it first."""
    key = str(settings.persist_directory)
    stop = None
    with _LOCK:
        users = _current.get(key)
        if users is None or fresh:
            system = System(settings)
            system.instance(ServerAPI)  # type: ignore[type-abstract]  # as Chroma itself does
            system.start()  # a damaged store raises here, and the current system stays
            if users is not None:
                stop = users.retire()
            users = _current[key] = _Users(system)
        api = Client.from_system(users.system)
        # Chroma's own registry would hand this system out again after it stopped
        SharedSystemClient.clear_system_cache()
        users.add(api)  # before a `fresh` in another thread can find it unused
        _of_client[api] = users
    if stop is not None:
        stop()
    return api


def hold(api: ClientAPI, *users: object) -> None:
    """Keep `api`'s system running while any of `users` (its collections) is reachable."""
    owner = _of_client.get(api)
    if owner is not None:
        for user in users:
            owner.add(user)
