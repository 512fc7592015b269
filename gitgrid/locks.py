"""Locks on files (``flock``): released by the kernel when their holder dies, so a killed runner or
task never leaves a lock behind.

Two uses: a sweep is run by one runner at a time (:func:`hold`; ``create --force`` holds it too while
it replaces a sweep, so never under a runner), and a checkout is used by one worker or task at a time
(:func:`first_free`, which takes the lowest-numbered free one). A foundation beside ``layout``: it
imports no layer, and every layer may hold a lock.
"""

from __future__ import annotations

import fcntl
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["Held", "first_free", "hold", "remove_held", "try_lock"]


class Held(Exception):
    """The lock is held by another process; ``holder`` is what it wrote into the file (its pid)."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def try_lock(path: Path) -> IO[str] | None:
    """The open, locked file at ``path``, or None when another process holds it. A symbolic link is
    never followed (``ELOOP``): a lock in a cloned repository's ``.gitgrid`` could point anywhere, and
    :func:`hold` empties the file it locks.

    A holder may remove its lock file before it lets go (:func:`remove_held`: a node's checkout is
    removed with its lock when its task ends, and by ``gitgrid clean``). A process that opened the file
    before then gets a lock on a file no longer at ``path``, so the lock is only taken when the file
    locked is still the one at ``path``; otherwise it is tried again on the new file.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        handle: IO[str] = os.fdopen(fd, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        if _still_at(path, fd):
            return handle
        handle.close()


def _still_at(path: Path, fd: int) -> bool:
    try:
        now = path.lstat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def remove_held(path: Path) -> None:
    """Remove the lock file at ``path`` while this process holds its lock (see :func:`try_lock`)."""
    path.unlink(missing_ok=True)


@contextmanager
def hold(path: Path) -> Iterator[None]:
    """Hold the lock at ``path`` with this process's pid in it; :class:`Held` when another has it."""
    handle = try_lock(path)
    if handle is None:
        with path.open() as held:
            raise Held(held.read().strip() or "?")
    try:
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def first_free(lock_of: Callable[[int], Path], start: int = 0) -> tuple[int, IO[str]]:
    """The lowest number from ``start`` whose lock file (``lock_of(number)``) is free, locked."""
    for number in itertools.count(start):
        handle = try_lock(lock_of(number))
        if handle is not None:
            return number, handle
    raise AssertionError("unreachable")  # pragma: no cover
