"""Taking in runs made elsewhere: cluster jobs, ``gitgrid prepare`` folders, hand-made run directories.

Anything that writes the run-directory layout of :mod:`gitgrid.layout` under a runs root can be collected;
collecting is idempotent (an attempt already stored is not stored again). An attempt is taken only once
it is complete: its ``meta.json`` has a final status, or, for a folder made by ``gitgrid prepare``, its
``result.json`` exists and parses. Until then it is counted as pending and nothing of it is stored. Every
field of those files is checked (:mod:`gitgrid.run.intake`): a bad one makes a failed run saying why. Its
series (:mod:`gitgrid.run.series`) are stored with it.

Three ways in: :func:`collect_runs` (``gitgrid collect``) looks at every folder; :func:`refresh`, which
``status`` and ``results`` call first, looks only at folders changed since it last looked (by their
modification time) and at the attempts ``gitgrid prepare`` handed out; :func:`rebuild_store` makes a new
store from every run directory, for a store that was lost or damaged.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from gitgrid.errors import RunError, StoreError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout, attempts_in, parse_point_dir, run_dir_problem, sweep_runs
from gitgrid.run.contract import FINAL, Run, read_meta
from gitgrid.run.intake import read_attempt, read_small_json
from gitgrid.run.locks import Held, hold
from gitgrid.run.series import note_problem, read_series
from gitgrid.store import SeriesRows, Store, open_store, record_store
from gitgrid.sweep.catalog import find_sweep, list_points, list_sweeps
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = [
    "Collected",
    "catch_up",
    "collect_into",
    "collect_runs",
    "rebuild_store",
    "refresh",
    "submission_runs_root",
    "unfinished_runs",
]

_BATCH = 500  # runs stored per transaction
_SETTLE_NS = 2_000_000_000  # a folder changed this recently may change again within its clock tick


@dataclass
class Collected:
    """What a collect found: newly stored attempts, ones already known, incomplete ones, and problems;
    after a rebuild, where the old store was put."""

    stored: int = 0
    known: int = 0
    pending: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    moved: Path | None = None


def collect_runs(
    repo: Repository | Path | str = ".", sweep: str | None = None, runs_root: Path | None = None
) -> Collected:
    """Store every complete attempt found under ``runs_root`` (default: the repository's) for ``sweep``."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    layout, store = open_store(repo, runs_root, collecting=True)
    try:
        return collect_into(store, repo, chosen, layout.runs_root)
    finally:
        store.close()


def collect_into(store: Store, repo: Repository, sweep: Sweep, runs_root: Path) -> Collected:
    """:func:`collect_runs` with the store and sweep already at hand: every folder is looked at."""
    store.sweeps.sync(sweep, list_points(repo, sweep))
    found = Collected()
    with _taker(store, sweep.name, found) as take:
        _scan(store, sweep.name, runs_root, take, cheap=False)
    found.problems.sort()
    return found


def refresh(store: Store, repo: Repository, sweep: Sweep, runs_root: Path) -> Collected:
    """Bring the store up to date cheaply before answering a query: the sweep at its tip, the attempts
    handed out by ``gitgrid prepare``, and point folders changed since the last look."""
    store.sweeps.sync(sweep, list_points(repo, sweep))
    found = Collected()
    with _taker(store, sweep.name, found) as take:
        _take_pending(store, sweep.name, take)
        _scan(store, sweep.name, runs_root, take, cheap=True)
    return found


def _take_pending(store: Store, sweep: str, take: _Taker) -> None:
    for run_dir, index in store.scans.pending(sweep):
        point = store.sweeps.point(sweep, index)
        if point is not None and run_dir_problem(run_dir, sweep, index) is None:  # a path from the store
            take.attempt(Path(run_dir), point)
        else:
            store.scans.drop_pending(run_dir)


def catch_up(store: Store, sweep: Sweep, runs_root: Path) -> Collected:
    """What a runner collects before choosing what to run, so that no finished result runs again: the
    attempts ``gitgrid prepare`` handed out and, for a sweep the store has neither runs of nor has looked
    at (a store made afresh), every folder of the sweep under the runs root. Cheap otherwise."""
    found = Collected()
    with _taker(store, sweep.name, found) as take:
        _take_pending(store, sweep.name, take)
        if store.scans.mark(runs_root, sweep.name) is None and not store.runs.stored(sweep.name):
            _scan(store, sweep.name, runs_root, take, cheap=False)
    return found


def rebuild_store(repo: Repository | Path | str = ".", runs_root: Path | None = None) -> Collected:
    """A new store made from the run directories of every sweep (the old file is kept beside it)."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    layout = Layout.of(repo, runs_root)
    try:
        return _rebuild(repo, layout)
    except OSError as exc:  # .gitgrid cannot be written: read-only, full, not ours
        where = exc.filename or layout.home
        raise StoreError(
            f"cannot rebuild the results store: {where}: {exc.strerror or exc}; nothing was changed "
            f"(make {layout.home} writable, then run again)"
        ) from None


def _rebuild(repo: Repository, layout: Layout) -> Collected:
    layout.ensure()
    sweeps = list_sweeps(repo)
    found = Collected()
    with _holding(layout, sweeps):
        found.moved = _move_aside(layout.store)
        try:
            store = Store.open(layout.store)
        except BaseException:  # no new store: the old one goes back where it was
            _move_back(found.moved, layout.store)
            raise
        record_store(layout)
        try:
            for sweep in sweeps:
                for root in _roots(layout, sweep.name):
                    part = collect_into(store, repo, sweep, root)
                    found.stored, found.known = found.stored + part.stored, found.known + part.known
                    found.pending += part.pending
                    found.problems += part.problems
        finally:
            store.close()
    return found


def unfinished_runs(point_folder: Path) -> list[Run]:
    """Attempts in a point's folder whose ``meta.json`` is not final (a task may have died in them)."""
    found = []
    for attempt_folder in attempts_in(point_folder):
        meta = read_meta(attempt_folder)
        if meta is not None and meta.status not in FINAL:
            found.append(meta)
    return found


class _Taker:
    """Takes attempt folders in, storing finished runs in batches."""

    def __init__(self, store: Store, sweep: str, found: Collected) -> None:
        self.store, self.sweep, self.found = store, sweep, found
        self.batch: list[tuple[Run, SeriesRows]] = []
        self.waiting: list[tuple[str, str, int]] = []

    def point_folders(self, folders: list[tuple[Path, int, str, int]], cheap: bool) -> None:
        """Take in point folders ((folder, index, commit prefix, modification time) each), looked up in
        the store together; ``cheap``: skip a folder whose newest attempt is its point's latest stored
        run with nothing changed in the folder since that run started (a local runner's folder)."""
        known = self.store.scans.latest_runs(self.sweep, [index for _, index, _, _ in folders])
        for folder, index, prefix, changed in folders:
            commit, run_dir, started = known.get(index, ("", None, None))
            if not commit.startswith(prefix):
                self.found.problems.append(f"{folder}: not a point of sweep '{self.sweep}'")
            elif not (cheap and started is not None and started * 1e9 >= changed and
                      str(run_dir).startswith(f"{folder}{os.sep}")):  # fmt: skip
                self.point_folder(folder, index)

    def point_folder(self, folder: Path, index: int) -> None:
        point = self.store.sweeps.point(self.sweep, index)
        if point is None:
            return
        for attempt in attempts_in(folder):
            if attempt.is_symlink():
                self.found.problems.append(f"{attempt}: a symbolic link, not a run directory: skipped")
            else:
                self.attempt(attempt, point)

    def attempt(self, folder: Path, point: PointRecord) -> None:
        if self.store.runs.is_final(str(folder)):
            self.found.known += 1
            return
        intake = read_attempt(folder, point, self.sweep)
        if intake.problem is not None:
            self.found.problems.append(f"{folder}: {intake.problem}")
        if intake.run is None:
            self.found.pending.append(str(folder))
            self.waiting.append((str(folder), self.sweep, point.index))
        else:
            series = read_series(folder)
            self.batch.append((note_problem(intake.run, series), series.rows))
        if len(self.batch) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            stored = sum(self.store.runs.ingest_many(self.batch))
            self.found.stored += stored
            self.found.known += len(self.batch) - stored
            self.batch = []
        if self.waiting:
            self.store.scans.add_pending(self.waiting)
            self.waiting = []


@contextmanager
def _taker(store: Store, sweep: str, found: Collected) -> Iterator[_Taker]:
    take = _Taker(store, sweep, found)
    yield take
    take.flush()


def _scan(store: Store, sweep: str, root: Path, take: _Taker, cheap: bool) -> None:
    """Take in the point folders of ``root/sweep``; ``cheap``: only those changed since the last scan.
    A symlink on the way to the sweep's folder is refused (:func:`gitgrid.layout.sweep_runs`)."""
    folder = sweep_runs(root, sweep)
    try:
        info = folder.lstat()
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode):
        take.found.problems.append(f"{folder}: not a folder: not collected")
        return
    mark = store.scans.mark(root, sweep) if cheap else None
    if mark is not None and info.st_mtime_ns <= mark:
        return
    started, newest = time.time_ns(), info.st_mtime_ns
    batch: list[tuple[Path, int, str, int]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            parsed = parse_point_dir(entry.name)
            if parsed is None or not entry.is_dir(follow_symlinks=False):
                continue
            changed = entry.stat(follow_symlinks=False).st_mtime_ns
            newest = max(newest, changed)
            if mark is None or changed > mark:
                batch.append((Path(entry.path), *parsed, changed))
            if len(batch) == _BATCH:
                take.point_folders(batch, cheap)
                batch = []
    take.point_folders(batch, cheap)
    take.flush()
    store.scans.set_mark(root, sweep, min(newest, started - _SETTLE_NS))


@contextmanager
def _holding(layout: Layout, sweeps: list[Sweep]) -> Iterator[None]:
    """Hold every sweep's run lock: no runner may write the store while it is rebuilt."""
    with ExitStack() as stack:
        for sweep in sweeps:
            try:
                stack.enter_context(hold(layout.sweep_lock(sweep.name)))
            except Held as held:
                raise RunError(
                    f"sweep '{sweep.name}' is being run by gitgrid (pid {held.holder}): let it finish or "
                    "stop it, then rebuild the store"
                ) from None
        yield


def _move_aside(store: Path) -> Path | None:
    """Rename the old store (and its WAL) to ``<name>.damaged-<time>``; None when there is none."""
    if not store.exists():
        return None
    aside = store.with_name(f"{store.name}.damaged-{datetime.now().strftime('%Y%m%dT%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{store}{suffix}")
        if source.exists():
            source.replace(f"{aside}{suffix}")
    return aside


def _move_back(aside: Path | None, store: Path) -> None:
    if aside is None:
        return
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{aside}{suffix}").exists():
            Path(f"{aside}{suffix}").replace(f"{store}{suffix}")


def _roots(layout: Layout, sweep: str) -> list[Path]:
    """The runs roots a sweep's runs may be under: the repository's, and those its submissions used."""
    roots = [layout.runs_root]
    for record in layout.submission_records(sweep):
        root = submission_runs_root(record)
        if root is not None and root not in roots:
            roots.append(root)
    return roots


def submission_runs_root(record: Path) -> Path | None:
    """The runs root a submission's ``submission.json`` names, when it names an absolute one. The file
    lies under a runs root, so it is read as untrusted (never a FIFO, a link, a huge file)."""
    try:
        root = (read_small_json(record) or {}).get("runs_root")
    except (ValueError, AttributeError):
        return None
    return Path(root) if isinstance(root, str) and Path(root).is_absolute() else None
