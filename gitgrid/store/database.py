"""One connection to a store file, shared by the parts of a :class:`~gitgrid.store.core.Store` and by
a runner's threads; the only way the store's classes reach SQLite.

Writes are short ``BEGIN IMMEDIATE`` transactions; a writer that waits longer than the store's timeout
for another one fails with a :class:`~gitgrid.errors.StoreError` naming the file and the holder. Nothing
outside :mod:`gitgrid.store` sees this class: callers ask the store's parts by name.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gitgrid.store.guard import store_timeout, translated
from gitgrid.store.schema import connect

__all__ = ["Args", "Database"]

_BULK_CACHE = 256 << 20  # bytes of page cache at most for a bulk write
Args = Sequence[Any] | Mapping[str, Any]  # an SQL statement's parameters, by position or by name


class Database:
    """A store file's connection, its lock, and the three ways to use it: read, stream, write."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> Database:
        """Open (creating on first use) the store at ``path``; refuse a damaged one or one from a newer
        gitgrid; migrate one of schema 1. ``readonly`` opens an existing store that is never written."""
        return cls(connect(path, store_timeout(), readonly), path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def stop_when(self, late: Callable[[], bool], every: int = 20000) -> None:
        """Interrupt a query of this connection once ``late()`` is true (asked every ``every`` steps of
        SQLite's machine): a request's time limit in the dashboard (#17)."""
        self._db.set_progress_handler(late, every)

    @contextmanager
    def transaction(self, bulk: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed at the end of the block, rolled back on any exception.

        ``bulk``: one that writes rows by the hundred thousand (runs pulled or reused in bulk) gets a page
        cache of up to :data:`_BULK_CACHE` for its length, so that the pages of indexes written in random
        order (run keys, metric values) are not spilled to the WAL and read back again and again: 100,000
        reused runs were recorded in 9 s instead of 14, with a third of the system time (docs/performance.md).
        The memory is taken only as pages are used, and given back at the end."""
        with self._lock, translated(self.path):
            prior = self._db.execute("PRAGMA cache_size").fetchone()[0] if bulk else None
            if bulk:
                self._db.execute(f"PRAGMA cache_size = -{_BULK_CACHE >> 10}")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if prior is not None:
                    self._db.execute(f"PRAGMA cache_size = {int(prior)}")

    @contextmanager
    def scratch(self) -> Iterator[sqlite3.Connection]:
        """A read transaction that may write temporary tables (a planning's work tables) and is always
        rolled back: the store's files are never written, and no writer waits for it."""
        with self._lock, translated(self.path):
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("ROLLBACK")

    def query(self, sql: str, args: Args = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query."""
        with self._lock, translated(self.path):
            return self._db.execute(sql, args).fetchall()

    def value(self, sql: str, args: Args = ()) -> Any:
        """The first column of the first row of a query (None when it gives no row)."""
        rows = self.query(sql, args)
        return rows[0][0] if rows else None

    def stream(self, sql: str, args: Args = (), size: int = 2000) -> Iterator[Any]:
        """The rows of a read-only query, fetched ``size`` at a time: bounded memory. (Fetching ahead in
        a thread was measured slower: the two threads fight over the GIL.)"""
        with self._lock, translated(self.path):
            cursor = self._db.execute(sql, args)

        def fetch() -> list[Any]:
            with self._lock, translated(self.path):
                return cursor.fetchmany(size)

        return _prefetched(fetch)

    @contextmanager
    def waiting(self, seconds: float) -> Iterator[None]:
        """Writers inside wait at most ``seconds`` for another writer (e.g. a chore a query can skip)."""
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
            try:
                yield
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {int(store_timeout() * 1000)}")

    def create_function(
        self, name: str, narg: int, func: Callable[..., Any], *, deterministic: bool = False
    ) -> None:
        """Register a Python function queries may call (``--where`` evaluated in Python)."""
        with self._lock:
            self._db.create_function(name, narg, func, deterministic=deterministic)


def _prefetched(fetch: Callable[[], list[Any]]) -> Iterator[Any]:
    """Rows of the batches ``fetch`` returns, until an empty one."""
    while rows := fetch():
        yield from rows
