"""Sweeps and their points in the store: recorded once per tip, read back by name and index."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from gitgrid.store.database import Database
from gitgrid.store.points import sync
from gitgrid.store.record import SweepInfo
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["Sweeps"]

_FEW = 64  # points whose params are read one probe each; past this, in one pass over the sweep's points
_OWN_ROWS = ("runs", "jobs", "job_points", "sweep_metrics", "points", "point_metrics", "pending", "scans")


class Sweeps:
    """The sweeps a store knows, each at the tip last seen, with their points."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def sync(self, sweep: Sweep, points: Iterable[PointRecord]) -> int:
        """Record a sweep and its points unless the store has it at this tip already (``points`` is then
        never read: pass a lazy iterable). A replaced sweep (``create --force``) is replaced at once.
        Returns the number of the sweep's points in the store."""
        if not self.knows(sweep):
            with self._db.transaction() as db:
                sync(db, sweep, points)
        return int(self._db.value("SELECT COUNT(*) FROM points WHERE sweep = ?", (sweep.name,)))

    def knows(self, sweep: Sweep) -> bool:
        """Whether the store holds ``sweep`` at its tip."""
        return bool(self._db.value("SELECT tip FROM sweeps WHERE name = ?", (sweep.name,)) == sweep.tip)

    def has(self, name: str) -> bool:
        """Whether the store holds a sweep of this name (at any tip)."""
        return bool(self._db.query("SELECT 1 FROM sweeps WHERE name = ?", (name,)))

    def forget(self, name: str) -> None:
        """Delete every row of sweep ``name``: for an optimisation undone before it produced anything."""
        with self._db.transaction() as db:
            for table in _OWN_ROWS:  # a run's metrics and series go with it (ON DELETE CASCADE)
                db.execute(f"DELETE FROM {table} WHERE sweep = ?", (name,))
            db.execute("DELETE FROM sweeps WHERE name = ?", (name,))

    def info(self, name: str) -> SweepInfo:
        """What the store knows of the sweep ``name`` (which it must hold)."""
        row = self._db.query("SELECT tip, count, params, columns, kinds FROM sweeps WHERE name = ?", (name,))
        tip, count, params, columns, kinds = row[0]
        metrics = self.metric_names(name)
        return SweepInfo(
            name, tip, count, tuple(json.loads(params)), tuple(json.loads(columns)), json.loads(kinds),
            tuple(metrics),
        )  # fmt: skip

    def metric_names(self, name: str) -> list[str]:
        """The metrics the sweep's runs have reported, in the order first seen."""
        rows = self._db.query("SELECT name FROM sweep_metrics WHERE sweep = ? ORDER BY position", (name,))
        return [metric for (metric,) in rows]

    def points(self, name: str) -> dict[int, tuple[str, dict[str, Any]]]:
        """Each point of a sweep: (commit, params)."""
        rows = self._db.query("SELECT idx, commit_id, params FROM points WHERE sweep = ?", (name,))
        return {idx: (commit, json.loads(params)) for idx, commit, params in rows}

    def params(self, name: str, indexes: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The params of the points ``indexes`` of a sweep (read in one pass over its points when they are
        many, one probe each when they are few)."""
        wanted = set(indexes)
        if len(wanted) > _FEW:
            rows = self._db.stream("SELECT idx, params FROM points WHERE sweep = ?", (name,))
            return {idx: json.loads(params) for idx, params in rows if idx in wanted}
        found = {}
        for index in sorted(wanted):
            row = self._db.query("SELECT params FROM points WHERE sweep = ? AND idx = ?", (name, index))
            if row:
                found[index] = json.loads(row[0][0])
        return found

    def point(self, name: str, index: int) -> PointRecord | None:
        """One point of a sweep, if the store lists it."""
        rows = self._db.query(
            "SELECT commit_id, params, tree_id FROM points WHERE sweep = ? AND idx = ?", (name, index)
        )
        return PointRecord(index, rows[0][0], json.loads(rows[0][1]), rows[0][2] or "") if rows else None
