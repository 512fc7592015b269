"""Reuse in the store: successful runs found by their run key, and reused runs recorded in bulk.

A run key (:func:`gitgrid.store.record.run_key`) says what a run computed: its point's files and its
recipe. The store indexes the keys of successful runs (``runs_key``), so looking a point up costs one
index probe whatever the number of runs, from any sweep, made here or pulled. A reused run is a success
of its own point that ran nothing: no run directory, its metrics and series copied from its source, and
the source named (the run that actually ran, when the source was itself reused).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitgrid.store.database import Database
from gitgrid.store.points import add_metric_names, points_changed
from gitgrid.store.record import Run
from gitgrid.store.runs import RUN_FIELDS, run_values

__all__ = ["Reuse", "Source"]

_CHUNK = 500  # keys per IN (...) list
_INSERT_REUSED = (
    f"INSERT INTO runs (id, {RUN_FIELDS}, metric_names, metric_texts, duration_text) "
    f"VALUES ({', '.join('?' * (len(RUN_FIELDS.split(', ')) + 3))}, '0.0')"
)  # a reused run takes no time: its duration is 0.0, whose text is '0.0' (schema.duration_text)


@dataclass(frozen=True)
class Source:
    """A stored successful run a point can reuse: its id, and the sweep and point of the run that ran
    (a reused run names the run it copies)."""

    run_id: int
    sweep: str
    index: int


class Reuse:
    """Successful runs by their key."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def sources(self, keys: Iterable[str], sweep: str) -> dict[str, list[Source]]:
        """For each key, the successful runs that ran it (not reused ones), newest first, that ``sweep``
        may reuse: runs of other sweeps that ``sweep`` has not reused yet. Each is a measurement of its
        own: points of ``sweep`` that repeat one tree (an optimiser measuring its noise) each take another
        one, or run. One probe of an index per key (``runs_key``), whatever the number of runs."""
        wanted, found = sorted(set(keys)), dict[str, list[Source]]()
        used: set[tuple[str, int]] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            used.update(self._db.query(
                f"SELECT reused_sweep, reused_index FROM runs INDEXED BY runs_key WHERE status = 'success' "
                f"AND run_key IN ({marks}) AND sweep = ? AND reused_sweep IS NOT NULL",
                [*chunk, sweep],
            ))  # fmt: skip
            for key, run_id, source, index in self._db.query(
                f"SELECT run_key, id, sweep, idx FROM runs INDEXED BY runs_key WHERE status = 'success' "
                f"AND run_key IN ({marks}) AND sweep != ? AND reused_sweep IS NULL ORDER BY id DESC",
                [*chunk, sweep],
            ):  # fmt: skip
                if (source, index) not in used:
                    found.setdefault(str(key), []).append(Source(int(run_id), str(source), int(index)))
        return found

    def record(self, sweep: str, reused: Sequence[tuple[Run, int]]) -> None:
        """Store runs of ``sweep`` that reuse (run, id of the source run), copying each source's metrics
        and series, in one transaction of a few statements whatever their number."""
        if not reused:
            return
        with self._db.transaction() as db:
            first = int(db.execute("SELECT IFNULL(MAX(id), 0) + 1 FROM runs").fetchone()[0])
            sources = _metric_rows(db, sorted({source for _, source in reused}))
            rows = [
                (run_id, *run_values(run), *sources[source])
                for run_id, (run, source) in enumerate(reused, first)
            ]
            db.executemany(_INSERT_REUSED, rows)
            db.execute("DROP TABLE IF EXISTS temp.reused")
            db.execute("CREATE TEMP TABLE reused (run_id INTEGER PRIMARY KEY, source INTEGER NOT NULL)")
            db.executemany(
                "INSERT INTO temp.reused VALUES (?, ?)",
                ((row[0], s) for row, (_, s) in zip(rows, reused, strict=True)),
            )
            db.execute("INSERT INTO metrics SELECT r.run_id, m.name, m.value, m.text FROM temp.reused r "
                       "JOIN metrics m ON m.run_id = r.source")  # fmt: skip
            db.execute("INSERT INTO series SELECT r.run_id, s.name, s.step, s.value FROM temp.reused r "
                       "JOIN series s ON s.run_id = r.source")  # fmt: skip
            db.execute("DROP TABLE temp.reused")
            names = dict.fromkeys(n for listed, _ in sources.values() if listed for n in json.loads(listed))
            add_metric_names(db, sweep, list(names))
            points_changed(db, sweep, sorted({run.index for run, _ in reused}))


def _metric_rows(db: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
    """Each source run's metric names and texts, as the store keeps them in its row."""
    found = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = db.execute(
            f"SELECT id, metric_names, metric_texts FROM runs WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        found.update({int(run_id): (names, texts) for run_id, names, texts in rows})
    return found
