"""Checkouts that points run in: a worker's git worktree (local runs) or a node's clone (cluster tasks).

Each checkout is persistent and moved from point to point (:func:`gitgrid.git.checkout.checkout`), so
only the files that differ are rewritten and untracked build products survive: ``make``, ``cmake`` or
``pip install -e`` stay incremental. A checkout's lock keeps two runners or tasks from sharing it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gitgrid.git.checkout import checkout, clone_shared, head_of
from gitgrid.git.repository import Repository
from gitgrid.layout import Layout, node_checkout, node_checkouts, node_lock
from gitgrid.run.locks import first_free

__all__ = ["Checkout", "node_checkout_for", "worker_checkouts"]


@dataclass
class Checkout:
    """One checkout: its number, folder and lock, how to make it, and the commit it is at."""

    number: int
    path: Path
    lock: IO[str]
    create: Callable[[Path, str], None]  # makes the checkout at ``path``, at a commit
    head: str | None = None

    def move_to(self, commit: str) -> None:
        """Check out ``commit``, making the checkout on first use (or again if it was deleted).

        A checkout left by an earlier process is checked out again in any case: its last command may
        have edited tracked files.
        """
        if self.head is None:
            if (self.path / ".git").exists() and head_of(self.path) is not None:
                checkout(self.path, commit)
            else:
                self.create(self.path, commit)
        elif self.head != commit:
            checkout(self.path, commit)
        self.head = commit

    def release(self) -> None:
        self.lock.close()


@contextmanager
def worker_checkouts(repo: Repository, layout: Layout, count: int) -> Iterator[list[Checkout]]:
    """Lock ``count`` free worker checkouts of ``repo`` (other runners may hold some)."""
    layout.worktrees.mkdir(parents=True, exist_ok=True)
    checkouts: list[Checkout] = []
    number = 0
    try:
        while len(checkouts) < count:
            number, lock = first_free(layout.worker_lock, number)
            checkouts.append(Checkout(number, layout.worker_checkout(number), lock, repo.add_worktree))
            number += 1
        yield checkouts
    finally:
        for held in checkouts:
            held.release()


@contextmanager
def node_checkout_for(repo: str, scratch: Path) -> Iterator[Checkout]:
    """A free checkout of the repository at ``repo`` (its git dir) in a node's scratch, locked.

    Only the first task on a node pays for a clone (``--shared``: no objects are copied); later ones
    move the checkout, rewriting only the files that differ.
    """
    folder = node_checkouts(scratch, repo)
    folder.mkdir(parents=True, exist_ok=True)
    number, lock = first_free(lambda n: node_lock(folder, n))

    def create(path: Path, commit: str) -> None:
        shutil.rmtree(path, ignore_errors=True)
        clone_shared(Path(repo), path)
        checkout(path, commit)

    held = Checkout(number, node_checkout(folder, number), lock, create)
    try:
        yield held
    finally:
        held.release()
