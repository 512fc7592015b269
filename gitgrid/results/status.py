"""A sweep's state: its points counted by the state of their latest attempt, and its failed points.

For a submitted sweep the store is first reconciled with the scheduler
(:func:`gitgrid.cluster.reconcile.reconcile`), so queued and running points are counted as such and dead
tasks never pass for successes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitgrid.cluster.reconcile import reconcile
from gitgrid.git.repository import Repository
from gitgrid.layout import STDERR, Layout
from gitgrid.results.query import open_results
from gitgrid.run.contract import tail
from gitgrid.run.store import Store
from gitgrid.sweep.catalog import find_sweep
from gitgrid.sweep.record import Sweep

__all__ = ["Status", "sweep_status"]


@dataclass(frozen=True)
class Status:
    """A sweep's points by the state of their latest attempt, and its failed points."""

    sweep: Sweep
    counts: dict[str, int]
    failures: list[tuple[int, str, str | None, list[str]]]  # index, status, reason, stderr tail
    notes: list[tuple[int, str]] = field(default_factory=list)  # succeeded points' problems (series)


def sweep_status(repo: Repository | Path | str = ".", sweep: str | None = None, lines: int = 5) -> Status:
    """Counts by state, and each failed, timed-out or cancelled point with the end of its stderr."""
    repo, store = open_results(repo)
    try:
        chosen = find_sweep(repo, sweep)
        states = _states(repo, store, chosen)
        failed = (
            store.runs(chosen.name, ["failed", "timeout", "cancelled"])
            if store.has_sweep(chosen.name)
            else []
        )
        notes = _notes(store, chosen.name)
    finally:
        store.close()
    counts: dict[str, int] = {}
    for state, _ in states.values():
        counts[state] = counts.get(state, 0) + 1
    counts["never run"] = chosen.count - len(states)
    failures = [
        (row.run.index, row.run.status, row.run.reason, tail(Path(row.run.run_dir) / STDERR, lines))
        for row in failed
        if states.get(row.run.index, ("", ""))[0] == row.run.status
    ]
    return Status(chosen, counts, failures, notes)


def _notes(store: Store, sweep: str, limit: int = 100) -> list[tuple[int, str]]:
    """Points whose latest run succeeded with a problem noted (a bad line in its series)."""
    rows = store.query(
        "SELECT r.idx, r.reason FROM points p JOIN runs r ON r.id = p.latest_run "
        "WHERE p.sweep = ? AND r.status = 'success' AND r.reason IS NOT NULL ORDER BY r.idx LIMIT ?",
        (sweep, limit),
    )
    return [(int(index), str(reason)) for index, reason in rows]


def _states(repo: Repository, store: Store, sweep: Sweep) -> dict[int, tuple[str, str]]:
    if not store.has_sweep(sweep.name):
        return {}
    if store.jobs(sweep.name):
        return reconcile(repo, sweep, store, Layout.of(repo))
    return {idx: (status, "") for idx, (status, _) in store.latest(sweep.name).items()}
