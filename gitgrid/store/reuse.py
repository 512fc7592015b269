"""Reuse in the store: successful runs found by their run key, and reused runs recorded in bulk.

A run key (:func:`gitgrid.store.record.run_key`) says what a run computed: its point's files and its
recipe. The store indexes the keys of successful runs that ran (``runs_key``, with their sweep and
point), so looking a point up costs one index probe whatever the number of runs, from any sweep, made
here or pulled; reused runs are indexed apart (``runs_reused``, by sweep and the point they copy).
A reused run is a success of its own point that ran nothing: no run directory, its metrics and series
copied from its source, and the source named (the run that actually ran, when the source was itself
reused).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitgrid.store.database import Database
from gitgrid.store.points import add_metric_names
from gitgrid.store.runs import RUN_FIELDS

__all__ = ["SOURCES", "Reuse", "ReusedPoint", "Reusing", "Source"]

_CHUNK = 500  # keys per IN (...) list
SOURCES = (  # the runs that ran each key, from the index alone (its schema-5 shape: covering), less those
    # the sweep has reused already (as that key): one probe of its reused runs' index per run found
    "SELECT run_key, id, sweep, idx FROM runs k INDEXED BY runs_key WHERE status = 'success' "
    "AND reused_sweep IS NULL AND run_key IN ({}) AND sweep != ? AND NOT EXISTS (SELECT 1 FROM runs u "
    "INDEXED BY runs_reused WHERE u.sweep = ? AND u.status = 'success' AND u.reused_sweep = k.sweep "
    "AND u.reused_index = k.idx AND u.run_key = k.run_key) ORDER BY id DESC"
)
_INSERT_REUSED = (  # each reused run made from its source run (metrics as that row keeps them); it takes no
    # time: its duration is 0.0, whose text is '0.0' (schema.duration_text); its attempt is its point's next
    f"INSERT INTO runs (id, {RUN_FIELDS}, metric_names, metric_texts, duration_text) "
    "SELECT r.run_id, :sweep, r.idx, r.commit_id, "
    "IFNULL((SELECT MAX(x.attempt) FROM runs x WHERE x.sweep = :sweep AND x.idx = r.idx), 0) + 1, :rerun, "
    "'success', NULL, 'reused from ' || s.sweep || ' point ' || s.idx, :at, :at, 0.0, :host, NULL, NULL, "
    "NULL, :recipe, r.run_key, s.sweep, s.idx, NULL, NULL, s.metric_names, s.metric_texts, '0.0' "
    "FROM temp.reused r JOIN runs s ON s.id = r.source ORDER BY r.run_id"
)


@dataclass(frozen=True)
class Source:
    """A stored successful run a point can reuse: its id, and the sweep and point of the run that ran
    (a reused run names the run it copies)."""

    run_id: int
    sweep: str
    index: int


@dataclass(frozen=True)
class Reusing:
    """What the reused runs of one planning share: their sweep, the rerun they count in, where and when
    they were recorded, and their recipe. Each run is then one row (:data:`ReusedPoint`)."""

    sweep: str
    rerun: int
    host: str
    at: float
    recipe: str


ReusedPoint = tuple[int, str, str, int]  # a point's index, its commit, its run key, the source run's id


class Reuse:
    """Successful runs by their key."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def sources(self, keys: Iterable[str], sweep: str) -> dict[str, list[Source]]:
        """For each key, the successful runs that ran it (not reused ones), newest first, that ``sweep``
        may reuse: runs of other sweeps that ``sweep`` has not reused yet (for that key). Each is a
        measurement of its own: points of ``sweep`` that repeat one tree (an optimiser measuring its noise)
        each take another one, or run. One probe of an index per key (``runs_key``, which holds the run's
        sweep and point: the table is not read), whatever the number of runs, and one of the sweep's own
        reused runs (``runs_reused``, by the point they copy) per run found: the cost grows with the
        points planned, never with the runs the sweep has."""
        wanted, found = sorted(set(keys)), dict[str, list[Source]]()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = self._db.query(SOURCES.format(", ".join("?" * len(chunk))), (*chunk, sweep, sweep))
            for key, run_id, source, index in rows:
                found.setdefault(key, []).append(Source(run_id, source, index))
        return found

    def record(self, reusing: Reusing, points: Sequence[ReusedPoint]) -> None:
        """Store a reused run of each of ``points``: a success of its own next attempt that ran nothing,
        naming its source and copying the source's metrics and series, in one transaction of a few
        statements whatever their number. The rows are made by SQLite from the source runs (no object
        per run in Python), and each point's pointers are set, not recomputed: a reused run is its
        point's highest attempt, so its latest run and its latest success."""
        if not points:
            return
        sweep = reusing.sweep
        with self._db.transaction(bulk=True) as db:
            first = int(db.execute("SELECT IFNULL(MAX(id), 0) + 1 FROM runs").fetchone()[0])
            db.execute("DROP TABLE IF EXISTS temp.reused")
            db.execute(
                "CREATE TEMP TABLE reused (run_id INTEGER PRIMARY KEY, idx INTEGER NOT NULL, "
                "commit_id TEXT NOT NULL, run_key TEXT NOT NULL, source INTEGER NOT NULL)"
            )
            db.executemany(
                "INSERT INTO temp.reused VALUES (?, ?, ?, ?, ?)",
                ((run_id, *point) for run_id, point in enumerate(points, first)),
            )
            args = {"sweep": sweep, "rerun": reusing.rerun, "host": reusing.host, "at": reusing.at,
                    "recipe": reusing.recipe}  # fmt: skip
            db.execute(_INSERT_REUSED, args)
            db.execute("INSERT INTO metrics SELECT r.run_id, m.name, m.value, m.text FROM temp.reused r "
                       "JOIN metrics m ON m.run_id = r.source")  # fmt: skip
            db.execute("INSERT INTO series SELECT r.run_id, s.name, s.step, s.value FROM temp.reused r "
                       "JOIN series s ON s.run_id = r.source")  # fmt: skip
            listed = db.execute(
                "SELECT DISTINCT s.metric_names FROM temp.reused r JOIN runs s ON s.id = r.source"
            ).fetchall()
            names = dict.fromkeys(n for (text,) in listed if text for n in json.loads(text))
            add_metric_names(db, sweep, list(names))
            db.execute(
                "UPDATE points SET latest_run = r.run_id, success_run = r.run_id, state = 'success' "
                "FROM temp.reused r WHERE points.sweep = :sweep AND points.idx = r.idx",
                {"sweep": sweep},
            )
            db.execute(
                "DELETE FROM point_metrics WHERE sweep = :sweep AND idx IN (SELECT idx FROM temp.reused)",
                {"sweep": sweep},
            )
            db.execute(
                "INSERT INTO point_metrics SELECT :sweep, r.idx, m.name, m.value FROM temp.reused r "
                "JOIN metrics m ON m.run_id = r.source",
                {"sweep": sweep},
            )
            db.execute("DROP TABLE temp.reused")
