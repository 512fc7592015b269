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
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gitgrid.store.database import Database
from gitgrid.store.points import add_metric_names
from gitgrid.store.runs import RUN_FIELDS

__all__ = ["SOURCES", "Reuse", "Reusing", "Source", "Taken", "Wanted", "one_each"]

_CHUNK = 500  # keys per IN (...) list
SOURCES = (  # the runs that ran each key, from the index alone (its schema-5 shape: covering), less those
    # the sweep has reused already (as that key): one probe of its reused runs' index per run found
    "SELECT run_key, id, sweep, idx FROM runs k INDEXED BY runs_key WHERE status = 'success' "
    "AND reused_sweep IS NULL AND run_key IN ({}) AND sweep != ? AND NOT EXISTS (SELECT 1 FROM runs u "
    "INDEXED BY runs_reused WHERE u.sweep = ? AND u.status = 'success' AND u.reused_sweep = k.sweep "
    "AND u.reused_index = k.idx AND u.run_key = k.run_key) ORDER BY id DESC"
)
_TAKE = (  # each planned point whose key is its own among the planned points takes the newest run of its
    # key the sweep may reuse (what SOURCES gives first), found by one probe of the key index per point
    "SELECT w.idx, w.key, MAX(k.id) FROM temp.wanted w "
    "JOIN runs k INDEXED BY runs_key ON k.run_key = w.key WHERE k.status = 'success' "
    "AND k.reused_sweep IS NULL AND k.sweep != :sweep AND NOT EXISTS (SELECT 1 FROM runs u "
    "INDEXED BY runs_reused WHERE u.sweep = :sweep AND u.status = 'success' AND u.reused_sweep = k.sweep "
    "AND u.reused_index = k.idx AND u.run_key = k.run_key){} GROUP BY w.idx"
)
_OWN_KEY = " AND w.key NOT IN (SELECT key FROM temp.shared)"  # points that share a key are chosen in Python
_INSERT_REUSED = (  # each reused run made from its source run (metrics as that row keeps them); it takes no
    # time: its duration is 0.0, whose text is '0.0' (schema.duration_text); its attempt is its point's next
    f"INSERT INTO runs (id, {RUN_FIELDS}, metric_names, metric_texts, duration_text) "
    "SELECT :base + r.n, :sweep, r.idx, p.commit_id, "
    "IFNULL((SELECT MAX(x.attempt) FROM runs x WHERE x.sweep = :sweep AND x.idx = r.idx), 0) + 1, :rerun, "
    "'success', NULL, 'reused from ' || s.sweep || ' point ' || s.idx, :at, :at, 0.0, :host, NULL, NULL, "
    "NULL, :recipe, r.key, s.sweep, s.idx, NULL, NULL, s.metric_names, s.metric_texts, '0.0' "
    "FROM temp.taken r JOIN points p ON p.sweep = :sweep AND p.idx = r.idx JOIN runs s ON s.id = r.source "
    "ORDER BY r.n"
)
_TEMP = (  # what one planning's choice works in: its planned points' keys, the keys two of them share, the
    # choices made in Python for those, and every choice in index order (n: the reused run's id, less base)
    "CREATE TEMP TABLE wanted (idx INTEGER PRIMARY KEY, key TEXT NOT NULL)",
    "CREATE TEMP TABLE shared (key TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TEMP TABLE picked (idx INTEGER PRIMARY KEY, key TEXT NOT NULL, source INTEGER NOT NULL)",
    "CREATE TEMP TABLE taken (n INTEGER PRIMARY KEY, idx INTEGER NOT NULL, key TEXT NOT NULL, "
    "source INTEGER NOT NULL)",
)
Wanted = tuple[int, str]  # a planned point: its index and its run key


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
    they were recorded, and their recipe. Each run is then one row, made by SQLite."""

    sweep: str
    rerun: int
    host: str
    at: float
    recipe: str


@dataclass(frozen=True)
class Taken:
    """What a planning reuses: the points (by index), and how many from each sweep (that ran them)."""

    indexes: frozenset[int]
    counts: Mapping[str, int]


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
        with self._db.scratch() as db:
            return _sources_in(db, keys, sweep)

    def take(self, reusing: Reusing, wanted: Sequence[Wanted], record: bool = True) -> Taken:
        """The run each of the ``wanted`` points (index order) reuses, if any: a run of its key that ran,
        in another sweep, that the sweep has not reused yet (:meth:`sources`), newest first; never one run
        for two points (:func:`one_each`). With ``record``, each is stored as a reused run (:meth:`_record`)
        in the same transaction as the choice; without, nothing is written (``--dry-run``).

        The choice is made by SQLite, in one join of the planned keys (a temporary table) with the key
        index, for the points whose key no other planned point has (all of them, but for an optimiser's
        repeats); those that share a key are chosen in Python as before. Python sees neither the sources
        nor the chosen runs: a sweep reused whole spent a second building and matching 100,000 records."""
        if not wanted:
            return Taken(frozenset(), {})
        with self._db.transaction(bulk=True) if record else self._db.scratch() as db:
            for table in ("wanted", "shared", "picked", "taken"):
                db.execute(f"DROP TABLE IF EXISTS temp.{table}")
            for statement in _TEMP:
                db.execute(statement)
            db.executemany("INSERT INTO temp.wanted VALUES (?, ?)", wanted)
            repeated = _repeated(wanted)
            args = {"sweep": reusing.sweep}
            select = _TAKE.format("")
            if repeated:
                db.executemany("INSERT INTO temp.shared VALUES (?)", ((key,) for key in repeated))
                points = [(index, key) for index, key in wanted if key in repeated]
                found = _sources_in(db, repeated, reusing.sweep)
                chosen = one_each(points, found)
                db.executemany(
                    "INSERT INTO temp.picked VALUES (?, ?, ?)",
                    ((index, key, found[key][n].run_id) for index, key, n in chosen),
                )
                both = f"{_TAKE.format(_OWN_KEY)} UNION ALL SELECT idx, key, source FROM temp.picked"
                select = f"SELECT * FROM ({both}) ORDER BY 1"
            else:
                select += " ORDER BY w.idx"
            db.execute(f"INSERT INTO temp.taken (idx, key, source) {select}", args)
            indexes = frozenset(i for (i,) in db.execute("SELECT idx FROM temp.taken"))
            counts = dict(db.execute(
                "SELECT s.sweep, COUNT(*) FROM temp.taken r JOIN runs s ON s.id = r.source GROUP BY s.sweep"
            ).fetchall())  # fmt: skip
            if record and indexes:
                _record(db, reusing)
            for table in ("wanted", "shared", "picked", "taken"):
                db.execute(f"DROP TABLE temp.{table}")
        return Taken(indexes, counts)


def _sources_in(db: sqlite3.Connection, keys: Iterable[str], sweep: str) -> dict[str, list[Source]]:
    """:meth:`Reuse.sources`, on the connection of the caller's transaction: one query per 500 keys."""
    wanted, found = sorted(set(keys)), dict[str, list[Source]]()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = db.execute(SOURCES.format(", ".join("?" * len(chunk))), (*chunk, sweep, sweep))
        for key, run_id, source, index in rows:
            found.setdefault(key, []).append(Source(run_id, source, index))
    return found


def _repeated(wanted: Sequence[Wanted]) -> set[str]:
    """The keys more than one of ``wanted`` has (none, but for an optimiser's repeated measurements)."""
    keys = [key for _, key in wanted]
    if len(set(keys)) == len(keys):
        return set()
    return {key for key, count in Counter(keys).items() if count > 1}


def one_each(points: Sequence[Wanted], sources: Mapping[str, Sequence[Source]]) -> list[tuple[int, str, int]]:
    """The run each point reuses, as (index, key, position in its key's sources): the i-th point of a key
    (in the order given: index order) takes the i-th source, newest first, and never one run for two
    points. Points of one sweep with one tree repeat a measurement on purpose (an optimiser measuring its
    noise or checking its answer, replicates): each takes a run of its own, or runs, so that the repeats
    never copy one value and hide the noise they are there to measure."""
    taken: dict[str, int] = {}
    chosen: list[tuple[int, str, int]] = []
    for index, key in points:
        used = taken.get(key, 0)
        if used < len(sources.get(key, ())):
            chosen.append((index, key, used))
            taken[key] = used + 1
    return chosen


def _record(db: sqlite3.Connection, reusing: Reusing) -> None:
    """Store a reused run of each point of ``temp.taken``: a success of its own next attempt that ran
    nothing, naming its source and copying the source's metrics and series, in a few statements whatever
    their number. The rows are made by SQLite from the source runs (no object per run in Python), and each
    point's pointers are set, not recomputed: a reused run is its point's highest attempt, so its latest
    run and its latest success."""
    sweep = reusing.sweep
    base = int(db.execute("SELECT IFNULL(MAX(id), 0) FROM runs").fetchone()[0])
    args = {"sweep": sweep, "rerun": reusing.rerun, "host": reusing.host, "at": reusing.at,
            "recipe": reusing.recipe, "base": base}  # fmt: skip
    db.execute(_INSERT_REUSED, args)
    db.execute("INSERT INTO metrics SELECT :base + r.n, m.name, m.value, m.text FROM temp.taken r "
               "JOIN metrics m ON m.run_id = r.source", {"base": base})  # fmt: skip
    db.execute("INSERT INTO series SELECT :base + r.n, s.name, s.step, s.value FROM temp.taken r "
               "JOIN series s ON s.run_id = r.source", {"base": base})  # fmt: skip
    listed = db.execute(
        "SELECT DISTINCT s.metric_names FROM temp.taken r JOIN runs s ON s.id = r.source"
    ).fetchall()
    names = dict.fromkeys(n for (text,) in listed if text for n in json.loads(text))
    add_metric_names(db, sweep, list(names))
    db.execute(
        "UPDATE points SET latest_run = :base + r.n, success_run = :base + r.n, state = 'success' "
        "FROM temp.taken r WHERE points.sweep = :sweep AND points.idx = r.idx",
        {"sweep": sweep, "base": base},
    )
    db.execute(
        "DELETE FROM point_metrics WHERE sweep = :sweep AND idx IN (SELECT idx FROM temp.taken)",
        {"sweep": sweep},
    )
    db.execute(
        "INSERT INTO point_metrics SELECT :sweep, r.idx, m.name, m.value FROM temp.taken r "
        "JOIN metrics m ON m.run_id = r.source",
        {"sweep": sweep},
    )
