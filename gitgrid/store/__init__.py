"""The results store: one SQLite file per repository holding sweeps, points, runs, metrics and series.

Written in short transactions (a local runner's one per point: :mod:`gitgrid.store.recorder`), in WAL
mode, so readers (``gitgrid results`` in another terminal) never wait for the runner, and a killed runner
loses nothing that had finished. The schema
carries a version (``PRAGMA user_version``): a store of schema 1 is migrated when first opened, one
written by a newer gitgrid is refused, and a damaged one is an error that says how to rebuild it from the
run directories (``gitgrid collect --rebuild``). Tables (schema 3)::

    sweeps  (name, base, tip, count, params, columns, kinds, created): each sweep at the tip last seen
    points  (sweep, idx, commit_id, params JSON, latest_run, success_run, state, and one typed column
             per param name): one row per point, pointing at its latest and latest successful run
    runs    (id, sweep, idx, commit_id, attempt, rerun, status, exit_code, reason, started, ended,
             duration, host, run_dir, pid, job, reads, analysis): every attempt (a stage's runs are the
             runs of its records, the sweep ``SWEEP:STAGE``, and say what they read and ran)
    metrics (run_id, name, value): each run's metrics, one row each (NaN kept as null)
    point_metrics (sweep, idx, name, value): the metrics of each point's latest successful run, indexed
             by value
    sweep_metrics (sweep, name, position): each sweep's metric names in the order first reported
    series  (run_id, name, step, value): metrics over time
    jobs, job_points: array jobs submitted and which task runs which point
    scans, pending: what collecting has already looked at, and attempt folders it waits for
    stages  (sweep, stage, every, command, code_ref, uses, analysis, code, dirty, position): the
             analyses of each sweep as ``gitgrid analyze`` last ran them

This package is a layer of its own, below ``run`` and above ``sweep``: it holds every SQL statement
gitgrid runs and the schema, and nothing outside it imports ``sqlite3`` (both checked by ``make lint``
and ``tests/test_architecture.py``). Callers use the named methods of the :class:`Store`'s parts:

    store.sweeps    sync, knows, has, forget, info, metric_names, points, point
    store.runs      add, finish, write, ingest, ingest_many, amend, is_final, stored, running,
                    attempts, max_rerun, records
    store.jobs      add, submitted, tasks, mark_cancelled
    store.scans     mark, set_mark, add_pending, drop_pending, pending, latest_runs
    store.progress  counts, failures, notes, best, rerun_share, plan
    store.results   rows
    store.views     states, extreme, time_spent, durations, point_rows, last_run, running,
                    still_running, shown_runs, series_names, series, attempts
    store.stages    record, of, plan, counts, metric_columns, latest_every, manifest

The modules: ``record`` (the values kept: :class:`Run`, :class:`Job`, ...), ``schema`` (tables,
opening, migrating), ``guard`` (errors as one line), ``database`` (the one connection), ``points``
(sweeps' points and per-point pointers, inside a write), ``where`` (``--where`` as SQL), one module per
part (``sweeps``, ``runs``, ``jobs``, ``scans``, ``progress``, ``rows``, ``views``, ``stages``),
``core`` (the :class:`Store` that holds them) and ``recorder`` (a runner's one write per point).
"""

from __future__ import annotations

from pathlib import Path

from gitgrid.errors import StoreError
from gitgrid.git.repository import Repository
from gitgrid.layout import Layout, parse_point_dir
from gitgrid.store.core import Store
from gitgrid.store.guard import REBUILD
from gitgrid.store.progress import Failure, Plan
from gitgrid.store.record import FINAL, Job, Read, Run, RunRow, SeriesRows, StageRecord, SweepInfo
from gitgrid.store.recorder import Recorder
from gitgrid.store.rows import NAN, RUN_COLUMNS, ResultQuery, ResultRows
from gitgrid.store.schema import SCHEMA_VERSION
from gitgrid.store.stages import EVERY, STALE_CODE, STALE_SIMULATION
from gitgrid.store.trust import doubt_warning, record_store, store_doubt

__all__ = [
    "EVERY",
    "FINAL",
    "NAN",
    "REBUILD",
    "RUN_COLUMNS",
    "SCHEMA_VERSION",
    "STALE_CODE",
    "STALE_SIMULATION",
    "Failure",
    "Job",
    "Plan",
    "Read",
    "Recorder",
    "ResultQuery",
    "ResultRows",
    "Run",
    "RunRow",
    "SeriesRows",
    "StageRecord",
    "Store",
    "SweepInfo",
    "doubt_warning",
    "open_store",
    "record_store",
    "runs_without_store",
    "store_doubt",
]


def open_store(
    repo: Repository, runs_root: Path | None = None, *, collecting: bool = False
) -> tuple[Layout, Store]:
    """The repository's layout (its places created on first use) and its results store.

    A store that is missing while run directories exist is not started afresh (every point would run
    again): that is an error saying how to rebuild it from them, unless the caller is ``collecting``
    those run directories into it.
    """
    layout = Layout.of(repo, runs_root)
    layout.ensure()
    repo.exclude(layout.exclude_pattern)
    if not collecting and not layout.store.exists() and (found := runs_without_store(layout)):
        raise StoreError(
            f"{layout.store}: the results store is missing but {found} holds run directories; rebuild it "
            f"from them with '{REBUILD}' (or move them away to start afresh)"
        )
    created = not layout.store.exists()
    store = Store.open(layout.store)
    if created:
        record_store(layout)  # the file gitgrid made: a store that is another file was copied in
    return layout, store


def runs_without_store(layout: Layout) -> Path | None:
    """A sweep folder under the runs root that holds a point's run directories, if any."""
    try:
        sweeps = [p for p in layout.runs_root.iterdir() if p.is_dir() and not p.is_symlink()]
        for folder in sweeps:
            with_points = (parse_point_dir(e.name) is not None for e in folder.iterdir())
            if any(with_points):
                return folder
    except OSError:
        return None
    return None
