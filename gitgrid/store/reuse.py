"""Reuse in the store: successful runs found by their run key, and reused runs recorded in bulk.

A run key (:func:`gitgrid.store.record.run_key`) says what a run computed: its point's files and its
recipe. The store indexes the keys of successful runs (``runs_key``), so looking a point up costs one
index probe whatever the number of runs, from any sweep, made here or pulled. A reused run is a success
of its own point that ran nothing: no run directory, its metrics and series copied from its source, and
the source named (the run that actually ran, when the source was itself reused).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitgrid.store.database import Database
from gitgrid.store.points import add_metric_names, points_changed
from gitgrid.store.record import Run
from gitgrid.store.runs import INSERT_RUN, run_values

__all__ = ["Reuse", "Source"]

_CHUNK = 500  # keys per IN (...) list


@dataclass(frozen=True)
class Source:
    """A stored successful run a point can reuse: its id, and the sweep and point of the run that ran."""

    run_id: int
    sweep: str
    index: int


class Reuse:
    """Successful runs by their key."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def sources(self, keys: Iterable[str]) -> dict[str, Source]:
        """For each key a stored successful run has: that run (one that ran rather than reused, and of
        those the latest)."""
        wanted, found = sorted(set(keys)), {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = self._db.query(
                "SELECT run_key, id, IFNULL(reused_sweep, sweep), IFNULL(reused_index, idx), "
                "reused_sweep IS NULL AS ran FROM runs INDEXED BY runs_key "
                f"WHERE status = 'success' AND run_key IN ({', '.join('?' * len(chunk))}) "
                "ORDER BY run_key, ran, id",
                chunk,
            )
            for key, run_id, sweep, index, _ in rows:
                found[key] = Source(int(run_id), str(sweep), int(index))  # the last row of a key wins
        return found

    def record(self, sweep: str, reused: Sequence[tuple[Run, int]]) -> None:
        """Store runs of ``sweep`` that reuse (run, id of the source run), copying each source's metrics
        and series, in one transaction."""
        if not reused:
            return
        with self._db.transaction() as db:
            names: dict[str, None] = {}
            for run, source in reused:
                run_id = int(db.execute(INSERT_RUN, run_values(run)).lastrowid or 0)
                db.execute(
                    "UPDATE runs SET (metric_names, metric_texts, duration_text) = (SELECT metric_names, "
                    "metric_texts, gitgrid_duration_text(0.0) FROM runs WHERE id = ?) WHERE id = ?",
                    (source, run_id),
                )
                db.execute(
                    "INSERT INTO metrics SELECT ?, name, value, text FROM metrics WHERE run_id = ?",
                    (run_id, source),
                )
                db.execute("INSERT INTO series SELECT ?, name, step, value FROM series WHERE run_id = ?",
                           (run_id, source))  # fmt: skip
                listed = db.execute("SELECT metric_names FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
                names.update(dict.fromkeys(json.loads(listed) if listed else ()))
            add_metric_names(db, sweep, list(names))
            points_changed(db, sweep, sorted({run.index for run, _ in reused}))
