"""What a crash leaves behind, found and removed: ``gitgrid clean``.

Two places. Node scratch: this user's checkouts there (``gitgrid-<user>/<repo>/slot-<k>``, of any
repository), which a task removes when it ends but a killed task cannot; a checkout whose lock is held
is in use and kept. The runs root: the probe files a runs-root check writes and removes at once, and
attempt folders claimed but never written (a run killed between the two), unless ``gitgrid prepare``
handed them out. Run directories with anything in them, submissions and worker checkouts are never
touched. ``dry_run`` lists what would go.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import (
    Layout,
    attempts_in,
    build_record,
    node_checkout,
    node_lock,
    node_setup_stamp,
    node_slots,
    parse_point_dir,
    scratch_root,
)
from gitgrid.run.locks import remove_held, try_lock
from gitgrid.store import open_store
from gitgrid.sweep.catalog import list_sweeps

__all__ = ["Cleaned", "clean"]

_SETTLED = 60.0  # seconds: a file or folder younger than this may belong to a run starting now


@dataclass
class Cleaned:
    """What ``clean`` removed (or, ``dry_run``, would remove), and what it kept and why."""

    dry_run: bool
    removed: list[Path] = field(default_factory=list)
    kept: list[tuple[Path, str]] = field(default_factory=list)


def clean(
    repo: Repository | Path | str = ".",
    runs_root: Path | None = None,
    scratch: Path | None = None,
    dry_run: bool = False,
) -> Cleaned:
    """Remove this user's unused node checkouts in ``scratch`` (default ``$TMPDIR``, else ``/tmp``) and
    what crashed runs left under the runs root."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    found = Cleaned(dry_run)
    _scratch(scratch_root(scratch or Path(os.environ.get("TMPDIR") or "/tmp")), found)
    _runs_root(repo, Layout.of(repo, runs_root), found)
    return found


def _scratch(root: Path, found: Cleaned) -> None:
    if not root.is_dir() or root.is_symlink():
        return
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        for number in node_slots(folder):
            checkout = node_checkout(folder, number)
            handle = try_lock(node_lock(folder, number))
            if handle is None:
                found.kept.append((checkout, "in use by a task"))
                continue
            try:
                for place in (checkout, node_setup_stamp(checkout), build_record(checkout)):
                    if place.exists() or place.is_symlink():
                        _remove(place, found)
                if not found.dry_run:  # the lock file last, while held (see gitgrid.locks.try_lock)
                    remove_held(node_lock(folder, number))
            finally:
                handle.close()


def _runs_root(repo: Repository, layout: Layout, found: Cleaned) -> None:
    if not layout.runs_root.is_dir():
        return
    _, store = open_store(repo, layout.runs_root)
    try:
        for sweep in list_sweeps(repo):
            handed_out = {run_dir for run_dir, _ in store.scans.pending(sweep.name)}
            for probe in layout.probes(sweep.name):
                if _settled(probe):
                    _remove(probe, found)
            _empty_attempts(layout.sweep_runs(sweep.name), handed_out, found)
    finally:
        store.close()


def _empty_attempts(folder: Path, handed_out: set[str], found: Cleaned) -> None:
    """Attempt folders with nothing in them, that no ``gitgrid prepare`` handed out."""
    if not folder.is_dir():
        return
    for point in sorted(folder.iterdir()):
        if parse_point_dir(point.name) is None or point.is_symlink() or not point.is_dir():
            continue
        for attempt in attempts_in(point):
            if attempt.is_symlink() or any(attempt.iterdir()) or not _settled(attempt):
                continue
            if str(attempt) in handed_out:
                found.kept.append((attempt, "handed out by gitgrid prepare"))
            else:
                _remove(attempt, found)


def _settled(path: Path) -> bool:
    try:
        return time.time() - path.lstat().st_mtime > _SETTLED
    except OSError:
        return False


def _remove(path: Path, found: Cleaned) -> None:
    found.removed.append(path)
    if found.dry_run:
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
