"""Runs a killed runner left ``running`` in the store: stopped, and recorded as they ended.

A runner killed (``kill -9``, a node lost) leaves rows ``running`` whose process groups may still run.
The next runner of that sweep stops what is left of them and records each as its final ``meta.json``
says when it has one (the run ended; only the store missed it), else ``interrupted``. A run directory
is a path read back from the store: it is followed only when it is that point's (#17).
"""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path

from gitgrid.layout import run_dir_problem
from gitgrid.run.contract import FINAL, read_meta, write_meta
from gitgrid.run.intake import read_attempt
from gitgrid.run.processes import runs_in, stop_group
from gitgrid.run.series import note_problem, read_series
from gitgrid.store import Store
from gitgrid.sweep.record import PointRecord

__all__ = ["close_orphans"]


def close_orphans(store: Store, sweep: str) -> None:
    """Stop and record every run of ``sweep`` the store still has ``running``."""
    for run_id, run in store.runs.running(sweep):
        usable = run_dir_problem(run.run_dir, run.sweep, run.index) is None  # a path from the store
        if usable and run.pid is not None and runs_in(run.pid, Path(run.run_dir)):
            stop_group(run.pid, signal.SIGKILL)
        point = store.sweeps.point(run.sweep, run.index) or PointRecord(run.index, run.commit)
        finished = read_attempt(Path(run.run_dir), point, run.sweep).run if usable else None
        if finished is not None and finished.status in FINAL:  # it ended; only the store missed it
            series = read_series(Path(run.run_dir))
            store.runs.finish(run_id, note_problem(finished, series), series.rows)
            continue
        ended = run.ending("interrupted", reason="the runner was stopped before this run ended")
        store.runs.finish(run_id, ended)
        if not usable:
            continue
        meta = read_meta(Path(run.run_dir))
        if meta is None and Path(run.run_dir).is_dir():
            write_meta(ended)
        elif meta is not None and meta.status == "running":
            write_meta(replace(meta, status="interrupted", ended=ended.ended, reason=ended.reason))
