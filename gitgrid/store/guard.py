"""SQLite's errors as one line a user can act on: a busy store names who holds it, a damaged store says
how to rebuild it.

Readers never wait (the store is in WAL mode); a writer waits for another writer at most
``GITGRID_STORE_TIMEOUT`` seconds (default 60), then fails naming the file and, on Linux, the process that
holds the write lock (read from ``/proc/locks``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gitgrid.errors import StoreError

__all__ = ["REBUILD", "damaged", "lock_holders", "store_timeout", "translated"]

REBUILD = "gitgrid collect --rebuild"
_WAL_WRITE_LOCK = 120  # the byte of the -shm file a WAL writer locks (SQLite's WAL_WRITE_LOCK)
_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_CORRUPT = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}


def store_timeout() -> float:
    """Seconds a writer waits for another one (``GITGRID_STORE_TIMEOUT``, default 60)."""
    text = os.environ.get("GITGRID_STORE_TIMEOUT", "")
    try:
        value = float(text) if text else 60.0
    except ValueError:
        value = 60.0
    return value if 0 <= value < 86400 else 60.0


def damaged(path: Path, detail: str) -> StoreError:
    return StoreError(
        f"{path}: the results store is damaged ({detail}); every result is also in the run directories: "
        f"rebuild the store from them with '{REBUILD}'"
    )


@contextmanager
def translated(path: Path, started: float | None = None) -> Iterator[None]:
    """Turn SQLite's errors met inside into :class:`StoreError` (a bug's error, e.g. bad SQL, is kept)."""
    started = time.monotonic() if started is None else started
    try:
        yield
    except sqlite3.DatabaseError as exc:
        name = getattr(exc, "sqlite_errorname", "")
        if name in _BUSY or "database is locked" in str(exc):
            waited = time.monotonic() - started
            raise StoreError(
                f"{path}: the results store is locked by another process{_holders(path)}; gave up after "
                f"{waited:.0f} s (GITGRID_STORE_TIMEOUT sets the wait); nothing was lost: try again later"
            ) from None
        if name in _CORRUPT or "no such table" in str(exc) or type(exc) is sqlite3.DatabaseError:
            raise damaged(path, str(exc)) from None
        if isinstance(exc, sqlite3.OperationalError) and not name.startswith("SQLITE_ERROR"):
            what = "free space there" if name == "SQLITE_FULL" else "check that disk and its permissions"
            raise StoreError(
                f"cannot write the results store {path}: {exc}; {what} and run again (finished results "
                "are kept in their run directories)"
            ) from None
        raise


def _holders(path: Path) -> str:
    pids = lock_holders(path)
    if not pids:
        return ""
    return " (" + ", ".join(f"pid {pid}{_command(pid)}" for pid in pids) + ")"


def lock_holders(path: Path) -> list[int]:
    """Processes holding the write lock of the store at ``path`` (Linux; empty when unknown)."""
    try:
        shm = Path(f"{path}-shm").stat()
        locks = Path("/proc/locks").read_text()
    except OSError:
        return []
    device = f"{os.major(shm.st_dev):02x}:{os.minor(shm.st_dev):02x}:{shm.st_ino}"
    pids = []
    for line in locks.splitlines():
        fields = line.split()
        if "->" in fields:  # a process waiting for a lock, not holding it
            continue
        if len(fields) >= 8 and fields[3] == "WRITE" and fields[5] == device:
            start, end = fields[6], fields[7]
            if int(start) <= _WAL_WRITE_LOCK and (end == "EOF" or int(end) >= _WAL_WRITE_LOCK):
                pid = int(fields[4])
                if pid > 0 and pid != os.getpid() and pid not in pids:
                    pids.append(pid)
    return pids


def _command(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())  # one line, no escapes
    return f": {text[:80]}" if text else ""
