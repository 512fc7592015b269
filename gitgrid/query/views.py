"""What the report's views read from the store: aggregates, pages of points, changes, series, one point.

Every question is answered by the store (:class:`gitgrid.store.views.Views`) a page or an aggregate at a
time, never by loading a whole table, so the dashboard stays fast with 10^5-10^6 points in the store
(issue 10): counts are aggregates, points come in pages by index, an update asks only for points whose
runs changed since a cursor (the highest run id seen, and the runs seen running), and series come per
run.

A point's row is the one ``gitgrid results --all`` shows: its latest successful attempt, else its latest
attempt. Opening the store here never writes it (``PRAGMA query_only``): the dashboard is read-only.

The metrics and series of the sweep's stages (``gitgrid analyze``) join its own as ``STAGE.NAME``: a
point's are those of its run of the stage (its latest success, else its latest), found by index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitgrid.layout import META, STDERR, STDOUT, run_dir_problem
from gitgrid.run.contract import read_run_file, tail
from gitgrid.run.series import sample_series
from gitgrid.store import Store
from gitgrid.store.views import Changed
from gitgrid.sweep.record import Sweep

__all__ = [
    "Overview",
    "PointPage",
    "changed_points",
    "live_series",
    "metric_names",
    "open_readonly",
    "overview",
    "point_page",
    "point_runs",
    "run_cursor",
    "run_files",
    "series_names",
    "series_of",
    "shown_runs",
]

POINT_COLUMNS = ("index", "commit", "status", "attempt", "duration", "run")


def open_readonly(path: Path) -> Store | None:
    """The store at ``path`` for reading only, or None when there is none yet (nothing has run)."""
    if not path.exists():
        return None
    return Store.open(path, readonly=True)


@dataclass(frozen=True)
class Overview:
    """One sweep as the home and summary views show it: aggregates only."""

    counts: dict[str, int]
    metrics: tuple[str, ...]
    best: dict[str, float | None]  # each metric's best value among successful points
    spent: float  # seconds of every run's duration, summed
    durations: dict[str, float | None] = field(default_factory=dict)  # min, median, max


def overview(store: Store | None, sweep: Sweep, maximize: bool = False, durations: bool = True) -> Overview:
    """Counts by state of each point's latest attempt, metric names, best values, time spent, and (unless
    ``durations`` is False: three sorted lookups) the min, median and max duration."""
    if store is None or not store.sweeps.has(sweep.name):
        return Overview({"never run": sweep.count}, (), {}, 0.0)
    views = store.views
    counts = views.states(sweep.name)
    counts["never run"] = sweep.count - sum(counts.values())
    metrics = tuple(metric_names(store, sweep.name))
    staged = _staged(store, sweep.name)
    best = {m: views.extreme(*staged.get(m, (sweep.name, m)), maximize) for m in metrics}
    spread = views.durations(sweep.name) if durations else {}
    return Overview(counts, metrics, best, views.time_spent(sweep.name), spread)


def metric_names(store: Store | None, sweep: str) -> list[str]:
    """The metrics a sweep's runs have reported, in the order first seen, then its stages'
    (``STAGE.METRIC``)."""
    if store is None:
        return []
    own = store.sweeps.metric_names(sweep)
    return own + [name for name in _staged(store, sweep) if name not in own]


def _staged(store: Store, sweep: str) -> dict[str, tuple[str, str]]:
    """The metrics of the sweep's per-point stages: ``STAGE.METRIC`` to (the stage's records, METRIC)."""
    return {
        f"{stage}.{metric}": (records, metric)
        for stage, records, metric in store.stages.metric_columns(sweep)
    }


@dataclass(frozen=True)
class PointPage:
    """Points as columns (``index``, ``commit``, ``status``, ``attempt``, ``duration``, ``run``, then
    ``params`` and ``metrics`` by name), and where the next page starts."""

    columns: dict[str, list[Any]]
    params: dict[str, list[Any]]
    metrics: dict[str, list[Any]]
    after: int | None  # pass back to get the next page; None at the end


def point_page(
    store: Store | None,
    sweep: Sweep,
    metrics: Sequence[str],
    after: int = -1,
    limit: int = 20000,
    changed: Changed | None = None,
) -> PointPage:
    """Up to ``limit`` points with an index above ``after``, in index order (a keyset page);
    ``changed``: only those whose runs changed since a cursor (:func:`changed_points`)."""
    if store is None or not store.sweeps.has(sweep.name):
        return _never_run_page(sweep, after, limit)
    rows = store.views.point_rows(sweep, metrics, after, limit, changed, _staged(store, sweep.name))
    return _as_page(rows, sweep, metrics, full=len(rows) == limit)


def _as_page(rows: list[tuple[Any, ...]], sweep: Sweep, metrics: Sequence[str], full: bool) -> PointPage:
    columns: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else []
    width = len(POINT_COLUMNS) + len(sweep.params) + len(metrics)
    columns = columns or [[] for _ in range(width)]
    base = dict(zip(POINT_COLUMNS, columns, strict=False))
    base["status"] = [s or "never run" for s in base["status"]]
    at = len(POINT_COLUMNS)
    params = dict(zip(sweep.params, columns[at : at + len(sweep.params)], strict=True))
    values = dict(zip(metrics, columns[at + len(sweep.params) :], strict=True))
    return PointPage(base, params, values, rows[-1][0] if full and rows else None)


def _never_run_page(sweep: Sweep, after: int, limit: int) -> PointPage:
    """Before anything ran there is no store: the points are the sweep's, read by the caller from git."""
    return PointPage({c: [] for c in POINT_COLUMNS}, {p: [] for p in sweep.params}, {}, None)


def changed_points(
    store: Store | None, sweep: Sweep, metrics: Sequence[str], after_run: int, watched: Sequence[int]
) -> tuple[PointPage, int, list[int]]:
    """Points whose shown or latest run is newer than ``after_run`` or was among the ``watched`` (seen
    running), the new cursor, and the runs running now: what a live page needs to catch up."""
    if store is None or not store.sweeps.has(sweep.name):
        return _never_run_page(sweep, -1, 0), after_run, []
    cursor = store.views.last_run()
    if cursor == after_run:  # no run started since: only the watched ones can have ended (looked up by id)
        running = [run_id for run_id, _ in store.views.still_running(watched)]
        if set(running) == set(watched):
            return _as_page([], sweep, metrics, full=False), cursor, running  # nothing happened
    else:
        cursor, running = run_cursor(store, sweep.name)
    page = point_page(store, sweep, metrics, -1, 1 << 30, (after_run, watched))
    return page, cursor, running


def run_cursor(store: Store | None, sweep: str) -> tuple[int, list[int]]:
    """Where a live page starts watching: the highest run id now, and the sweep's runs running now."""
    if store is None:
        return 0, []
    return store.views.last_run(), store.views.running(sweep)


def shown_runs(store: Store | None, sweep: str) -> list[int]:
    """The run each point of the sweep is shown with (its latest success, else its latest attempt)."""
    return [] if store is None else store.views.shown_runs(sweep)


def series_names(store: Store | None, sweep: str, sample: int = 1000) -> list[str]:
    """Names of the series the sweep's runs reported (read from its latest ``sample`` runs), then its
    per-point stages' (``STAGE.SERIES``)."""
    if store is None:
        return []
    own = store.views.series_names(sweep, sample)
    for stage in store.stages.of(sweep):
        if not stage.every:
            named = (f"{stage.stage}.{name}" for name in store.views.series_names(stage.records, sample))
            own += [name for name in named if name not in own]
    return own


def series_of(
    store: Store | None, runs: Sequence[int], name: str, points: int = 200
) -> dict[int, tuple[list[int], list[float | None]]]:
    """The series ``name`` of each run, thinned to at most ``points`` steps (first and last kept). A
    name ``STAGE.SERIES`` the runs lack is looked for in their points' runs of stage ``STAGE``, and given
    under the runs' ids (the point's series)."""
    out: dict[int, tuple[list[int], list[float | None]]] = {}
    if store is None:
        return out
    for run_id, steps, values in _by_run(store.views.series(runs, name)):
        out[run_id] = _thin(steps, values, points)
    stage, dot, own = name.partition(".")
    missing = [run for run in runs if run not in out]
    if dot and own and missing:
        staged = store.views.stage_runs(stage, missing)
        point_of = {stage_run: run for run, stage_run in staged.items()}
        for run_id, steps, values in _by_run(store.views.series(list(point_of), own)):
            out[point_of[run_id]] = _thin(steps, values, points)
    return out


def _by_run(
    rows: Iterable[tuple[int, int, float | None]],
) -> Iterator[tuple[int, list[int], list[float | None]]]:
    current: int | None = None
    steps: list[int] = []
    values: list[float | None] = []
    for run_id, step, value in rows:
        if run_id != current:
            if current is not None:
                yield current, steps, values
            current, steps, values = run_id, [], []
        steps.append(step)
        values.append(value)
    if current is not None:
        yield current, steps, values


def _thin(steps: list[int], values: list[float | None], points: int) -> tuple[list[int], list[float | None]]:
    if len(steps) <= points:
        return steps, values
    stride = -(-len(steps) // points)
    keep = [*range(0, len(steps) - 1, stride), len(steps) - 1]
    return [steps[k] for k in keep], [values[k] for k in keep]


def live_series(
    store: Store | None, runs: Sequence[int], name: str, points: int = 200, limit: int = 50
) -> dict[int, tuple[list[int], list[float | None]]]:
    """The series ``name`` of those of ``runs`` still running (at most ``limit`` of them), read from
    their files as they grow: each file is sampled at about ``points`` places
    (:func:`~gitgrid.run.series.sample_series`), so a file of any size costs the same. Only run
    directories of their points are read."""
    if store is None or not runs:
        return {}
    out = {}
    for run_id, run_dir, sweep, index in store.views.running_dirs(runs, limit):
        if run_dir is None or run_dir_problem(run_dir, sweep, index) is not None:
            continue
        found = [(step, value) for _, step, value in sample_series(Path(run_dir), name, points)]
        out[int(run_id)] = _thin([s for s, _ in found], [v for _, v in found], points)
    return out


def point_runs(store: Store | None, sweep: str, index: int) -> list[dict[str, Any]]:
    """Every attempt at one point, oldest first, as the point view lists them."""
    return [] if store is None else store.views.attempts(sweep, index)


def run_files(
    run_dir: str, sweep: str, index: int, lines: int = 20, meta_limit: int = 65536
) -> dict[str, Any]:
    """The end of a run's stdout and stderr, and its ``meta.json`` (as text: it may be anything), read
    only from a run directory of that point (:func:`~gitgrid.layout.run_dir_problem`) by the one reader
    of run files; empty when the store's path cannot be used."""
    if run_dir_problem(run_dir, sweep, index) is not None:
        return {"stdout": [], "stderr": [], "meta": ""}
    folder = Path(run_dir)
    try:
        meta = read_run_file(folder / META, meta_limit, cut=True)[:meta_limit].decode(errors="replace")
    except (OSError, ValueError):
        meta = ""
    with suppress(ValueError, RecursionError):  # not JSON: shown as it is
        meta = json.dumps(json.loads(meta), indent=2)
    return {"stdout": tail(folder / STDOUT, lines), "stderr": tail(folder / STDERR, lines), "meta": meta}
