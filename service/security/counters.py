"""Rate-limit counters in one SQLite file, shared by every worker process of one host.

Registered with the `limits` library under the scheme `citeqa-sqlite`, so flask-limiter
takes it by URI (`citeqa-sqlite:///srv/data/ratelimit.sqlite3`). Each hit is one atomic
upsert: the fixed-window count is exact however many workers count at once.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import Storage

SCHEME = "citeqa-sqlite"
_SCHEMA = ("CREATE TABLE IF NOT EXISTS counters "
           "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)")
_INCR = """INSERT INTO counters (key, count, expires) VALUES (:key, :amount, :expires)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN counters.expires <= :now THEN :amount ELSE counters.count + :amount END,
    expires = CASE WHEN counters.expires <= :now THEN :expires ELSE counters.expires END
RETURNING count"""
_SWEEP_EVERY = 1000  # increments between deletions of expired windows


def uri(path: Path) -> str:
    """Return the storage URI of a counters file."""
    return f"{SCHEME}://{path.resolve()}"


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file (safe across processes and threads)."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (the type limits declares)

    def __init__(self, uri: str, wrap_exceptions: bool = False,
                 **options: float | str | bool) -> None:
        """Open (or create) the file the URI names."""
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(uri.removeprefix(f"{SCHEME}://"))
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """Return what a failing database raises."""
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        """Return this process's connection (a forked child opens its own)."""
        if self._conn is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # counters need no durability
            conn.execute(_SCHEMA)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count `amount` hits of `key` in its window (a new one when it expired)."""
        now = time.time()
        with self._lock:
            db = self._db()
            count = db.execute(_INCR, {"key": key, "amount": amount, "now": now,
                                       "expires": now + expiry}).fetchone()[0]
            self._hits += 1
            if self._hits % _SWEEP_EVERY == 0:
                db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return int(count)

    def get(self, key: str) -> int:
        """Return the hits of `key` in its current window."""
        with self._lock:
            row = self._db().execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                                     (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """Return when the window of `key` ends (epoch seconds)."""
        with self._lock:
            row = self._db().execute("SELECT expires FROM counters WHERE key = ?",
                                     (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        """Tell whether the database answers."""
        try:
            with self._lock:
                self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; return how many there were."""
        with self._lock:
            return int(self._db().execute("DELETE FROM counters").rowcount)

    def clear(self, key: str) -> None:
        """Forget the counter of `key`."""
        with self._lock:
            self._db().execute("DELETE FROM counters WHERE key = ?", (key,))
