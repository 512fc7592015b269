"""Checkouts that points run in: a worker's git worktree (local runs) or a node's clone (cluster tasks).

Each checkout is persistent and moved from point to point, so only the files that differ are rewritten
and untracked build products survive: ``make``, ``cmake`` or ``pip install -e`` stay incremental. A
checkout's lock keeps two runners or tasks from sharing it.

The first move in a process is a full ``git checkout --force`` (:func:`gitgrid.git.checkout.checkout`),
which also resets whatever an earlier process left. Later moves write only the files the sweep rewrites
(:class:`gitgrid.git.move.Mover`) while an inotify watch (:mod:`gitgrid.run.watch`) vouches that no
point's command touched another tracked file; when it did, or anything else is in doubt, the move is a
full checkout again. So a point never inherits a previous point's edits, and a large repository costs
no more per point than a small one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gitgrid.errors import excerpt
from gitgrid.git.checkout import checkout, clear_stale_locks, clone_shared, head_of
from gitgrid.git.move import Mover, tracked_files
from gitgrid.git.repository import Repository
from gitgrid.layout import Layout, build_record, node_checkout, node_checkouts, node_lock
from gitgrid.run.locks import first_free
from gitgrid.run.stale import BuildGuard, Tracer, save_record
from gitgrid.run.watch import TrackedWatch, watch_checkout
from gitgrid.sweep.record import Sweep

__all__ = ["MOVE_FROM", "Checkout", "node_checkout_for", "sweep_files", "worker_checkouts"]


@dataclass
class Checkout:
    """One checkout: its number, folder and lock, how to make it, the commit it is at, and the files the
    sweep rewrites (empty: every move is a full checkout)."""

    number: int
    path: Path
    lock: IO[str]
    create: Callable[[Path, str], None]  # makes the checkout at ``path``, at a commit
    head: str | None = None
    files: tuple[str, ...] = ()
    full_moves: int = 0  # full checkouts made (the others moved by the sweep's files alone)
    _mover: Mover | None = field(default=None, init=False, repr=False)
    _watch: TrackedWatch | None = field(default=None, init=False, repr=False)
    _adopted: bool = field(
        default=True, init=False, repr=False
    )  # the watch began after the last full checkout
    _small: bool = field(default=False, init=False, repr=False)  # git checkout is quicker here
    _guard: BuildGuard | None = field(default=None, init=False, repr=False)
    _guarded: bool = field(default=False, init=False, repr=False)  # a guard was tried (made, or warned)

    def build_guard(self, warn: Callable[[str], None]) -> BuildGuard | None:
        """The stale-build check of this checkout (made on first use: it watches every folder), or None
        where it cannot be had, said once to ``warn``: gitgrid does not guess then."""
        if not self._guarded:
            self._guarded = True
            try:
                if not self.files:
                    raise OSError("the sweep's record does not say which files it rewrites")
                self._guard = BuildGuard(Tracer(self.path, self.files), build_record(self.path))
            except (ImportError, OSError, AttributeError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                warn(
                    f"stale builds cannot be detected here ({excerpt(why)}; inotify is Linux only and "
                    "limited by fs.inotify.max_user_watches): a point whose build rebuilds nothing would "
                    "run another point's program unnoticed; --clean-build (or make -B) rebuilds every point"
                )
        return self._guard

    def move_to(self, commit: str) -> None:
        """Check out ``commit``, making the checkout on first use (or again if it was deleted).

        A checkout left by an earlier process is checked out again in any case: its last command may
        have edited tracked files.
        """
        if self.head is not None and not self._adopted:
            self._adopt(self.head)  # nothing ran here since the full checkout: watch from this state
        if self.head == commit:
            return
        if self.head is not None and self._fast(commit):
            self.head = commit
            return
        self.place(commit)
        self._adopt(commit)

    def place(self, commit: str) -> None:
        """A full checkout of ``commit`` (making the checkout if needed), before any command runs in it;
        the watch and the mover start at the next :meth:`move_to`, in the thread that moves it."""
        known, self.head = self.head is not None, None
        if not known:  # this process's first move here: what a killed one left is in the way of git
            clear_stale_locks(self.path)
        if (self.path / ".git").exists() and (known or head_of(self.path) is not None):
            checkout(self.path, commit)
        else:  # first use, or a command deleted it
            self._forget_builds()
            self.create(self.path, commit)
        self.full_moves += 1
        self.head = commit
        self._adopted = False

    def _fast(self, commit: str) -> bool:
        """Move by the sweep's files alone, if nothing but those could differ; False if not done."""
        if self._mover is None or self._watch is None:
            return False
        touched = self._watch.changes()  # what the last point's command (and build) changed
        if touched is None:
            return False
        moved = self._mover.move(commit, rewrite=touched)
        self._watch.changes()  # the events of gitgrid's own writes just now
        return moved

    def _adopt(self, commit: str) -> None:
        """After a full checkout: watch the tracked files and let the mover learn where it is."""
        self._adopted = True
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        if not self.files or self._small:
            return
        self._mover = self._mover or Mover(self.path, self.files)
        if not self._mover.usable:
            return
        try:
            tracked = tracked_files(self.path)
        except OSError:
            return
        if len(tracked) < MOVE_FROM:
            self._small = True  # for this checkout's life: its repository does not shrink mid-sweep
            return
        self._watch = watch_checkout(self.path, tracked, self.files)
        if self._watch is not None and not self._mover.adopt(commit, len(tracked)):
            self._watch.close()
            self._watch = None

    def _forget_builds(self) -> None:
        """The checkout is made anew: its build products go, its record starts empty, and the folders
        watched are watched again."""
        save_record(build_record(self.path))
        if self._guard is not None:
            self._guard.close()
        self._guard, self._guarded = None, False

    def release(self) -> None:
        if self._guard is not None:
            self._guard.close()
        if self._watch is not None:
            self._watch.close()
        if self._mover is not None:
            self._mover.close()
        self.lock.close()


# Tracked files from which a checkout is moved by the sweep's files alone. It was 2,000 while the mover
# updated the index by a git process (then one git checkout cost less CPU at 200 files); since it patches
# a whole index itself (#18), the mover is quicker at every size: 200 files, -j 2, 500 points, measured
# in turn: 4.3-5.1 s of CPU (gitgrid and its children) with git checkout, 2.5-2.7 s with the mover.
MOVE_FROM = 0


def sweep_files(sweep: Sweep) -> tuple[str, ...]:
    """The files the sweep rewrites (all its points differ only in those), or () if its spec cannot
    be read (every move is then a full checkout)."""
    from gitgrid.spec.reader import parse_spec  # the YAML reader: only where a sweep's points are run

    try:
        return tuple(f.path for f in parse_spec(sweep.spec_text, source=sweep.tag).files)
    except Exception:  # a record from another version or a damaged one: full checkouts are always right
        return ()


@contextmanager
def worker_checkouts(
    repo: Repository, layout: Layout, count: int, files: tuple[str, ...] = ()
) -> Iterator[list[Checkout]]:
    """Lock ``count`` free worker checkouts of ``repo`` (other runners may hold some), for points that
    differ only in ``files``."""
    layout.worktrees.mkdir(parents=True, exist_ok=True)
    checkouts: list[Checkout] = []
    number = 0
    try:
        while len(checkouts) < count:
            number, lock = first_free(layout.worker_lock, number)
            path = layout.worker_checkout(number)
            checkouts.append(Checkout(number, path, lock, repo.add_worktree, files=files))
            number += 1
        yield checkouts
    finally:
        for held in checkouts:
            held.release()


@contextmanager
def node_checkout_for(repo: str, scratch: Path, files: tuple[str, ...] = ()) -> Iterator[Checkout]:
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

    held = Checkout(number, node_checkout(folder, number), lock, create, files=files)
    try:
        yield held
    finally:
        held.release()
