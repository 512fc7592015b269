"""Taking in runs made elsewhere: cluster jobs, ``gitgrid prepare`` folders, hand-made run directories.

Anything that writes the run-directory layout of :mod:`gitgrid.layout` under a runs root can be collected;
collecting is idempotent (an attempt already stored is not stored again). An attempt is taken only once
it is complete: its ``meta.json`` has a final status, or, for a folder made by ``gitgrid prepare``, its
``result.json`` exists and parses. Until then it is counted as pending and nothing of it is stored. Its
series (:mod:`gitgrid.run.series`) are stored with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import RESULT, attempt_number, attempts_in, parse_point_dir, sweep_runs
from gitgrid.run.contract import FINAL, Run, read_meta, read_result
from gitgrid.run.series import Series, note_problem, read_series
from gitgrid.run.store import Store, open_store
from gitgrid.sweep.catalog import find_sweep, list_points
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["Collected", "collect_into", "collect_runs", "unfinished_runs"]


@dataclass
class Collected:
    """What a collect found: newly stored attempts, ones already known, incomplete ones, and problems."""

    stored: int = 0
    known: int = 0
    pending: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def collect_runs(
    repo: Repository | Path | str = ".", sweep: str | None = None, runs_root: Path | None = None
) -> Collected:
    """Store every complete attempt found under ``runs_root`` (default: the repository's) for ``sweep``."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    layout, store = open_store(repo, runs_root)
    try:
        return collect_into(store, repo, chosen, layout.runs_root)
    finally:
        store.close()


def collect_into(store: Store, repo: Repository, sweep: Sweep, runs_root: Path) -> Collected:
    """:func:`collect_runs` with the store and sweep already at hand."""
    points = {p.index: p for p in list_points(repo, sweep)}
    store.sync_sweep(sweep, points.values())
    found = Collected()
    folder = sweep_runs(runs_root, sweep.name)
    for point_folder in sorted(folder.iterdir()) if folder.is_dir() else []:
        parsed = parse_point_dir(point_folder.name)
        if parsed is None:
            continue
        index, commit = parsed
        point = points.get(index)
        if point is None or not point.commit.startswith(commit):
            found.problems.append(f"{point_folder}: not a point of sweep '{sweep.name}'")
            continue
        for attempt_folder in attempts_in(point_folder):
            _take(store, _complete_run(attempt_folder, point, sweep.name), attempt_folder, found)
    return found


def _take(store: Store, run: Run | None, folder: Path, found: Collected) -> None:
    if run is None:
        found.pending.append(str(folder))
        return
    known = store.query("SELECT status FROM runs WHERE run_dir = ?", (run.run_dir,))
    series = read_series(folder) if not known or known[0][0] not in FINAL else Series()
    if store.ingest(note_problem(run, series), series.rows):
        found.stored += 1
    else:
        found.known += 1


def _complete_run(folder: Path, point: PointRecord, sweep: str) -> Run | None:
    """The finished run recorded in ``folder``, or None while it is incomplete.

    Where the run is (sweep, point, commit, attempt) comes from the folder, whatever the file says.
    """
    attempt = attempt_number(folder.name) or 0
    blank = Run(sweep, point.index, point.commit, attempt, "unknown", str(folder), params=point.params)
    meta = read_meta(folder, **{k: v for k, v in asdict(blank).items() if k != "duration"}) or blank
    meta = replace(
        meta, sweep=sweep, index=point.index, commit=point.commit, attempt=attempt, run_dir=str(folder)
    )
    params = list(point.params)
    if meta.status in FINAL:
        if meta.status == "success" and not meta.metrics and (folder / RESULT).exists():
            metrics, problem = read_result(folder, params)
            return (
                replace(meta, metrics=metrics) if problem is None else meta.ending("failed", reason=problem)
            )
        return meta
    if meta.status == "prepared" and (folder / RESULT).exists():
        metrics, problem = read_result(folder, params)
        if problem is None:
            return replace(meta, status="success", metrics=metrics, ended=(folder / RESULT).stat().st_mtime)
    return None


def unfinished_runs(point_folder: Path) -> list[Run]:
    """Attempts in a point's folder whose ``meta.json`` is not final (a task may have died in them)."""
    found = []
    for attempt_folder in attempts_in(point_folder):
        meta = read_meta(attempt_folder)
        if meta is not None and meta.status not in FINAL:
            found.append(meta)
    return found
