"""The durable queue of uploaded documents: one SQLite file in the data folder.

An accepted upload is a row (with the file's bytes) before the request answers, so it survives
a restart; the task queue only says which collection has work. An ingest worker claims a row
with a short lease that it renews while it works (writing its progress), so one process writes
a collection at a time; a worker that died mid-way is replaced once its lease runs out, or at
once by a worker on the same host that sees its process gone. Each change (upload, replace,
delete) bumps the row's revision; a worker's result only lands on the revision it worked on,
and a worker whose row changed under it stops (the job was replaced or deleted).

Statuses: `queued`, `indexing`, `ready`, `failed` (with a reason), `deleting`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

LEASE_SECONDS = 30.0  # renewed every third of it while a job runs
FILE_NAME = "uploads.sqlite3"  # in the data folder, beside the index
# a job whose worker died this many times fails, so one document that kills the worker (out of
# memory, a crash in a parser) cannot keep its collection, or a lone worker, busy for ever
MAX_ATTEMPTS = 10
_SCHEMA = """CREATE TABLE IF NOT EXISTS uploads (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    filename TEXT NOT NULL,
    title TEXT NOT NULL,
    groups TEXT NOT NULL,
    body BLOB NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('index', 'delete', 'import')),
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1,
    lease REAL NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    progress TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection, id)
)"""
_COLUMNS = ("collection, id, filename, title, groups, action, status, reason, revision, "
            "progress")
_ADDED = {"owner": "TEXT NOT NULL DEFAULT ''", "progress": "TEXT NOT NULL DEFAULT ''",
          "attempts": "INTEGER NOT NULL DEFAULT 0"}
_WAITING = "('queued', 'indexing', 'deleting')"


@dataclass(frozen=True)
class Upload:
    """One uploaded document as the queue holds it (without its bytes)."""

    collection: str
    id: str
    filename: str
    title: str
    groups: tuple[str, ...]
    action: str
    status: str
    reason: str
    revision: int
    progress: str = ""


def _upload(row: tuple[object, ...]) -> Upload:
    """Build an Upload from a row of `_COLUMNS`."""
    coll, doc_id, filename, title, groups, action, status, reason, revision, progress = row
    return Upload(str(coll), str(doc_id), str(filename), str(title),
                  tuple(json.loads(str(groups))), str(action), str(status), str(reason),
                  int(str(revision)), str(progress))


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a queue file written by an older version lacks."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(uploads)")}
    for name, kind in _ADDED.items():
        if name not in have:
            conn.execute(f"ALTER TABLE uploads ADD COLUMN {name} {kind}")


class Queue:
    """Add, change and claim uploads in one SQLite file (safe across processes)."""

    def __init__(self, path: Path) -> None:
        """Remember where the database lives; it is created on first write."""
        self.path = path

    @classmethod
    def in_folder(cls, data_dir: Path) -> Queue:
        """Return the queue of the data folder `data_dir`."""
        return cls(data_dir / FILE_NAME)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """Open the database in one immediate transaction (writers queue up, never mix)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            # WAL (readers never wait for the worker) is kept by the file; switching it again
            # on every connection would need a lock that busy waiting does not cover
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_SCHEMA)
            _migrate(conn)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def put(self, collection: str, doc_id: str, filename: str, title: str,
            groups: tuple[str, ...], body: bytes, action: str = "index") -> Upload:
        """Queue a new document, or a replacement of one, for indexing (or a site import)."""
        with self._db() as db:
            db.execute(
                "INSERT INTO uploads (collection, id, filename, title, groups, body, action, "
                "status, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?) "
                "ON CONFLICT (collection, id) DO UPDATE SET filename = excluded.filename, "
                "title = excluded.title, groups = excluded.groups, body = excluded.body, "
                "action = excluded.action, status = 'queued', reason = '', "
                "revision = revision + 1, attempts = 0, updated = excluded.updated",
                (collection, doc_id, filename, title, json.dumps(list(groups)), body, action,
                 time.time()))
            return self._get(db, collection, doc_id)  # type: ignore[return-value]

    def remove(self, collection: str, doc_id: str) -> Upload:
        """Queue a document's removal from the index (uploaded or indexed from a folder)."""
        with self._db() as db:
            db.execute(
                "INSERT INTO uploads (collection, id, filename, title, groups, body, action, "
                "status, updated) VALUES (?, ?, '', '', '[]', x'', 'delete', 'deleting', ?) "
                "ON CONFLICT (collection, id) DO UPDATE SET action = 'delete', "
                "status = 'deleting', reason = '', revision = revision + 1, attempts = 0, "
                "updated = excluded.updated", (collection, doc_id, time.time()))
            return self._get(db, collection, doc_id)  # type: ignore[return-value]

    def get(self, collection: str, doc_id: str) -> Upload | None:
        """Return one upload, or None."""
        if not self.path.exists():
            return None
        with self._db() as db:
            return self._get(db, collection, doc_id)

    @staticmethod
    def _get(db: sqlite3.Connection, collection: str, doc_id: str) -> Upload | None:
        """Read one upload inside a transaction."""
        row = db.execute(f"SELECT {_COLUMNS} FROM uploads WHERE collection = ? AND id = ?",
                         (collection, doc_id)).fetchone()
        return _upload(row) if row else None

    def body(self, collection: str, doc_id: str) -> bytes | None:
        """Return the bytes last uploaded for a document (to index it again), or None."""
        if not self.path.exists():
            return None
        with self._db() as db:
            row = db.execute("SELECT body FROM uploads WHERE collection = ? AND id = ? AND "
                             "action = 'index'", (collection, doc_id)).fetchone()
        return bytes(row[0]) if row else None

    def ids(self, collection: str) -> set[str]:
        """Return the ids of a collection's uploads (a folder index must keep them)."""
        return {u.id for u in self.listed(collection)}

    def listed(self, collection: str) -> list[Upload]:
        """Return a collection's uploads, by id."""
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM uploads WHERE collection = ? "
                              "ORDER BY id", (collection,)).fetchall()
        return [_upload(r) for r in rows]

    def waiting(self) -> set[str]:
        """Return the collections with work that no live lease holds."""
        if not self.path.exists():
            return set()
        with self._db() as db:
            rows = db.execute(f"SELECT DISTINCT collection FROM uploads WHERE status IN "
                              f"{_WAITING} AND lease < ?", (time.time(),)).fetchall()
        return {str(r[0]) for r in rows}

    def claim(self, collection: str, owner: str) -> tuple[Upload, bytes] | None:
        """Take a collection's oldest waiting job unless another is being written; else None."""
        if not self.path.exists():
            return None
        now = time.time()
        with self._db() as db:
            db.execute(f"UPDATE uploads SET status = 'failed', reason = ?, owner = '' WHERE "
                       f"collection = ? AND status IN {_WAITING} AND lease < ? AND attempts >= ?",
                       (f"the ingest worker stopped {MAX_ATTEMPTS} times while indexing it",
                        collection, now, MAX_ATTEMPTS))
            row = db.execute(
                f"SELECT {_COLUMNS}, body FROM uploads u WHERE u.collection = ? AND u.status IN "
                f"{_WAITING} AND u.lease < ? AND NOT EXISTS (SELECT 1 FROM uploads o WHERE "
                "o.collection = u.collection AND o.lease >= ?) ORDER BY u.updated LIMIT 1",
                (collection, now, now)).fetchone()
            if row is None:
                return None
            job = _upload(row[:-1])
            status = "deleting" if job.action == "delete" else "indexing"
            db.execute("UPDATE uploads SET status = ?, lease = ?, owner = ?, progress = '', "
                       "attempts = attempts + 1 WHERE collection = ? AND id = ?",
                       (status, now + LEASE_SECONDS, owner, job.collection, job.id))
            return replace(job, status=status, progress=""), bytes(row[-1])

    def renew(self, job: Upload, owner: str, progress: str) -> bool:
        """Extend a running job's lease and record its progress; False once it was changed,
        deleted or taken over (the worker then stops)."""
        with self._db() as db:
            done = db.execute(
                "UPDATE uploads SET lease = ?, progress = ? WHERE collection = ? AND id = ? "
                "AND revision = ? AND owner = ?",
                (time.time() + LEASE_SECONDS, progress[:200], job.collection, job.id,
                 job.revision, owner))
            return done.rowcount == 1

    def release_dead(self, dead: Callable[[str], bool]) -> int:
        """Free the live leases whose owner `dead` says is gone; return how many."""
        if not self.path.exists():
            return 0
        with self._db() as db:
            rows = db.execute("SELECT collection, id, owner FROM uploads WHERE lease >= ?",
                              (time.time(),)).fetchall()
            gone = [(c, i) for c, i, owner in rows if dead(str(owner))]
            db.executemany("UPDATE uploads SET lease = 0 WHERE collection = ? AND id = ?", gone)
        return len(gone)

    def finish(self, job: Upload, status: str, reason: str = "") -> None:
        """Record a job's outcome (on the revision it worked on) and release its lease."""
        with self._db() as db:
            where = "collection = ? AND id = ? AND revision = ?"
            key = (job.collection, job.id, job.revision)
            if job.action == "delete" and status == "ready":
                db.execute(f"DELETE FROM uploads WHERE {where}", key)
            else:
                db.execute(f"UPDATE uploads SET status = ?, reason = ?, updated = ? WHERE {where}",
                           (status, reason, time.time(), *key))
            db.execute("UPDATE uploads SET lease = 0, owner = '', progress = '' "
                       "WHERE collection = ? AND id = ?", key[:2])

    def retry_later(self, job: Upload, seconds: float) -> None:
        """Put a job back (the store was unreachable), to be claimed again after `seconds`.

        An unreachable store is not the worker dying: this try does not count.
        """
        with self._db() as db:
            db.execute("UPDATE uploads SET status = CASE WHEN action = 'delete' THEN 'deleting' "
                       "ELSE 'queued' END, lease = ?, attempts = MAX(attempts - 1, 0) "
                       "WHERE collection = ? AND id = ?",
                       (time.time() + seconds, job.collection, job.id))

    def drop_collection(self, collection: str) -> None:
        """Forget every upload of a deleted collection."""
        if self.path.exists():
            with self._db() as db:
                db.execute("DELETE FROM uploads WHERE collection = ?", (collection,))
