"""What the report's views read from the store: aggregates, pages of points, changes, series, one point.

Every query is answered by SQLite a page or an aggregate at a time, never by loading a whole table, so the
dashboard stays fast with 10^5-10^6 points in the store (issue 10): counts are ``GROUP BY``s, points come
in pages by index, an update asks only for points whose runs changed since a cursor (the highest run id
seen, and the runs seen running), and series come per run from the ``series`` table's key.

A point's row is the one ``gitgrid results --all`` shows: its latest successful attempt, else its latest
attempt. Opening the store here never writes it (``PRAGMA query_only``): the dashboard is read-only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitgrid.layout import META, STDERR, STDOUT, run_dir_problem
from gitgrid.run.contract import read_run_file, tail
from gitgrid.run.series import SAMPLE_BYTES, sample_series
from gitgrid.run.store import Store, param_columns
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


def _tables(store: Store) -> set[str]:
    return {row[0] for row in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")}


def overview(store: Store | None, sweep: Sweep, maximize: bool = False, durations: bool = True) -> Overview:
    """Counts by state of each point's latest attempt, metric names, best values, time spent, and (unless
    ``durations`` is False: three sorted lookups) the min, median and max duration."""
    if store is None or not store.has_sweep(sweep.name):
        return Overview({"never run": sweep.count}, (), {}, 0.0)
    rows = store.query(
        "SELECT r.status, COUNT(*) FROM points p JOIN runs r ON r.id = p.latest_run "
        "WHERE p.sweep = ? GROUP BY r.status",
        (sweep.name,),
    )
    counts = {status: int(n) for status, n in rows}
    counts["never run"] = sweep.count - sum(counts.values())
    metrics = tuple(metric_names(store, sweep.name))
    best = {m: _best(store, sweep.name, m, maximize) for m in metrics}
    spent = store.query("SELECT TOTAL(duration) FROM runs WHERE sweep = ?", (sweep.name,))[0][0]
    spread = _durations(store, sweep.name) if durations else {}
    return Overview(counts, metrics, best, float(spent), spread)


def metric_names(store: Store | None, sweep: str) -> list[str]:
    """The metrics a sweep's runs have reported, in the order first seen."""
    if store is None:
        return []
    rows = store.query("SELECT name FROM sweep_metrics WHERE sweep = ? ORDER BY position", (sweep,))
    return [r[0] for r in rows]


def _best(store: Store, sweep: str, metric: str, maximize: bool) -> float | None:
    aggregate = "MAX" if maximize else "MIN"
    row = store.query(
        f"SELECT {aggregate}(value) FROM point_metrics WHERE sweep = ? AND name = ?", (sweep, metric)
    )
    return None if row[0][0] is None else float(row[0][0])


def _durations(store: Store, sweep: str) -> dict[str, float | None]:
    """Min, median and max duration of the points' shown runs, by SQL's ORDER BY and OFFSET."""
    shown = "SELECT r.duration FROM points p JOIN runs r ON r.id = COALESCE(p.success_run, p.latest_run) "
    where = "WHERE p.sweep = ? AND r.duration IS NOT NULL"
    n = store.query(f"SELECT COUNT(*) FROM ({shown}{where})", (sweep,))[0][0]
    if not n:
        return {"min": None, "median": None, "max": None}
    ordered = f"{shown}{where} ORDER BY r.duration LIMIT 1 OFFSET ?"
    pick = [store.query(ordered, (sweep, k))[0][0] for k in (0, n // 2, n - 1)]
    return dict(zip(("min", "median", "max"), pick, strict=True))


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
    where: str = "",
    args: Sequence[Any] = (),
) -> PointPage:
    """Up to ``limit`` points with an index above ``after``, in index order (a keyset page)."""
    if store is None or not store.has_sweep(sweep.name):
        return _never_run_page(sweep, after, limit)
    params = ", ".join(f"p.{_quoted(c)}" for c in param_columns(sweep.params))
    metric = ", (SELECT value FROM point_metrics m WHERE m.sweep = p.sweep AND m.idx = p.idx AND m.name = ?)"
    query = (
        f"SELECT p.idx, p.commit_id, r.status, r.attempt, r.duration, r.id, {params}{metric * len(metrics)} "
        "FROM points p LEFT JOIN runs r ON r.id = COALESCE(p.success_run, p.latest_run) "
        f"WHERE p.sweep = ? AND p.idx > ? {where} ORDER BY p.idx LIMIT ?"
    )
    rows = store.query(query, (*metrics, sweep.name, after, *args, limit))
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
    if store is None or not store.has_sweep(sweep.name):
        return _never_run_page(sweep, -1, 0), after_run, []
    cursor = int(store.query("SELECT COALESCE(MAX(id), 0) FROM runs")[0][0])
    if cursor == after_run:  # no run started since: only the watched ones can have ended (looked up by id)
        running = _still_running(store, watched)
        if set(running) == set(watched):
            return _as_page([], sweep, metrics, full=False), cursor, running  # nothing happened
    else:
        cursor, running = run_cursor(store, sweep.name)
    marks = ", ".join("?" * len(watched))
    changed = (
        f"AND (p.latest_run > ? OR p.success_run > ?{f' OR p.latest_run IN ({marks})' if watched else ''})"
    )
    page = point_page(store, sweep, metrics, -1, 1 << 30, changed, (after_run, after_run, *watched))
    return page, cursor, running


def _still_running(store: Store, runs: Sequence[int]) -> list[int]:
    if not runs:
        return []
    marks = ", ".join("?" * len(runs))
    rows = store.query(f"SELECT id FROM runs WHERE status = 'running' AND id IN ({marks})", tuple(runs))
    return [int(r[0]) for r in rows]


def run_cursor(store: Store | None, sweep: str) -> tuple[int, list[int]]:
    """Where a live page starts watching: the highest run id now, and the sweep's runs running now."""
    if store is None:
        return 0, []
    cursor = int(store.query("SELECT COALESCE(MAX(id), 0) FROM runs")[0][0])
    running = store.query("SELECT id FROM runs WHERE sweep = ? AND status = 'running'", (sweep,))
    return cursor, [int(r[0]) for r in running]


def shown_runs(store: Store | None, sweep: str) -> list[int]:
    """The run each point of the sweep is shown with (its latest success, else its latest attempt)."""
    if store is None:
        return []
    rows = store.query(
        "SELECT COALESCE(success_run, latest_run) FROM points WHERE sweep = ? ORDER BY idx", (sweep,)
    )
    return [int(r[0]) for r in rows if r[0] is not None]


def series_names(store: Store | None, sweep: str, sample: int = 1000) -> list[str]:
    """Names of the series the sweep's runs reported (read from its latest ``sample`` runs)."""
    if store is None or "series" not in _tables(store):
        return []
    rows = store.query(
        "SELECT DISTINCT name FROM series WHERE run_id IN "
        "(SELECT id FROM runs WHERE sweep = ? ORDER BY id DESC LIMIT ?) ORDER BY name",
        (sweep, sample),
    )
    return [r[0] for r in rows]


def series_of(
    store: Store | None, runs: Sequence[int], name: str, points: int = 200
) -> dict[int, tuple[list[int], list[float | None]]]:
    """The series ``name`` of each run, thinned to at most ``points`` steps (first and last kept)."""
    out: dict[int, tuple[list[int], list[float | None]]] = {}
    if store is None or "series" not in _tables(store):
        return out
    for start in range(0, len(runs), 500):
        chunk = list(runs[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        rows = store.query(
            f"SELECT run_id, step, value FROM series WHERE name = ? AND run_id IN ({marks}) "
            "ORDER BY run_id, step",
            (name, *chunk),
        )
        for run_id, steps, values in _by_run(rows):
            out[run_id] = _thin(steps, values, points)
    return out


def _by_run(rows: list[tuple[Any, ...]]) -> Iterator[tuple[int, list[int], list[float | None]]]:
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
    store: Store | None, runs: Sequence[int], name: str, points: int = 200, limit: int = 50,
    budget: int = 8 * SAMPLE_BYTES,
) -> dict[int, tuple[list[int], list[float | None]]]:  # fmt: skip
    """The series ``name`` of those of ``runs`` still running (at most ``limit`` of them), read from
    their files as they grow, at most ``budget`` bytes in all: each file is sampled at about ``points``
    places (:func:`~gitgrid.run.series.sample_series`), so a file of any size costs the same. Only run
    directories of their points are read."""
    if store is None or not runs:
        return {}
    out = {}
    marks = ", ".join("?" * len(runs))
    rows = store.query(
        f"SELECT id, run_dir, sweep, idx FROM runs WHERE status = 'running' AND id IN ({marks}) "
        "ORDER BY id LIMIT ?",
        (*runs, limit),
    )
    for run_id, run_dir, sweep, index in rows:
        if run_dir is None or run_dir_problem(run_dir, sweep, index) is not None:
            continue
        share = max(64 * 1024, min(SAMPLE_BYTES, budget // len(rows)))
        found = [(step, value) for _, step, value in sample_series(Path(run_dir), name, points, share)]
        out[int(run_id)] = _thin([s for s, _ in found], [v for _, v in found], points)
    return out


def point_runs(store: Store | None, sweep: str, index: int) -> list[dict[str, Any]]:
    """Every attempt at one point, oldest first, as the point view lists them."""
    if store is None:
        return []
    rows = store.query(
        "SELECT id, attempt, rerun, status, exit_code, reason, started, ended, duration, host, run_dir, job "
        "FROM runs WHERE sweep = ? AND idx = ? ORDER BY attempt, id",
        (sweep, index),
    )
    names = ("id", "attempt", "rerun", "status", "exit_code", "reason", "started", "ended", "duration")
    return [dict(zip((*names, "host", "run_dir", "job"), row, strict=True)) for row in rows]


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


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
