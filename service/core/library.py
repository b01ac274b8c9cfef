"""Every collection's engine, each created and loaded on first use by this process."""

from __future__ import annotations

import threading
import time

from chromadb.api import ClientAPI

from index import collections, store
from service.core.engine import Engine


class UnknownCollection(KeyError):
    """No collection has this name."""


class Library:
    """Hand out one Engine per collection; the list of names is re-read every few seconds."""

    def __init__(self, default: Engine) -> None:
        """Start with the default collection's engine; others are made when first asked for."""
        self.default = default
        self.config = default.config
        self._engines: dict[str, Engine] = {collections.DEFAULT: default}
        self._lock = threading.Lock()
        self._api: ClientAPI | None = None
        self._names: list[str] = []
        self._read_at = float("-inf")

    def api(self) -> ClientAPI:
        """Return this process's client of the store."""
        if self._api is None:
            self._api = store.client(self.default.store_config())
        return self._api

    def base(self) -> str:
        """Return the Chroma base name the collections hang off."""
        return self.config.collection

    def names(self, fresh: bool = False) -> list[str]:
        """Return the collections' names, `default` first (cached briefly unless `fresh`)."""
        now = time.monotonic()
        if fresh or now - self._read_at > self.config.index_check_seconds:
            cfg = self.default.store_config()
            self._names = store.within(store.deadline(cfg), lambda: collections.names(
                self.api(), self.base()))
            self._read_at = now
        return list(self._names)

    def engine(self, name: str) -> Engine:
        """Return the engine of a collection, loading it in the background the first time."""
        if name != collections.DEFAULT and name not in self.names() \
                and name not in self.names(fresh=True):
            with self._lock:
                self._engines.pop(name, None)
            raise UnknownCollection(name)
        with self._lock:
            found = self._engines.get(name)
            if found is None:
                found = Engine(self.config, self.default.backend, name)
                found.load_in_background()
                self._engines[name] = found
            return found

    def create(self, name: str, about: collections.About | None = None) -> None:
        """Create an empty collection."""
        store.within(store.deadline(self.default.store_config()),
                     lambda: collections.create(self.api(), self.base(), name, about))
        self.names(fresh=True)

    def described(self) -> dict[str, collections.About]:
        """Return what the owners said of each collection."""
        return store.within(store.deadline(self.default.store_config()),
                            lambda: collections.described(self.api(), self.base()))

    def describe(self, name: str, about: collections.About) -> None:
        """Replace what the owner says of a collection."""
        store.within(store.deadline(self.default.store_config()),
                     lambda: collections.describe(self.api(), self.base(), name, about))

    def delete(self, name: str) -> None:
        """Delete a collection and its index."""
        store.within(store.deadline(self.default.store_config()),
                     lambda: collections.delete(self.api(), self.base(), name))
        with self._lock:
            self._engines.pop(name, None)
        self.names(fresh=True)
