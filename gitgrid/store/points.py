"""A sweep's points in the store, and each point's pointers to its latest and latest successful run.

Every function here runs inside the caller's write transaction. A point row carries ``latest_run``,
``success_run`` and ``state`` (the latest run's status) so that results and ``status`` read one row per
point; ``point_metrics`` holds the success run's metrics as rows (indexed by value, for ``--sort
METRIC --best N``). Both are recomputed from ``runs`` whenever a run of the point changes, never patched.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from gitgrid.errors import StoreError
from gitgrid.spec.values import canonical_json, canonical_json_encoder
from gitgrid.store.record import Run
from gitgrid.store.schema import metric_names, number_text
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = [
    "add_metric_names",
    "csv_cells",
    "metric_rows",
    "param_columns",
    "point_changed",
    "point_ended",
    "point_started",
    "points_changed",
    "quoted",
    "runs_added",
    "store_metrics",
    "sync",
    "tsv_cells",
]

_RESERVED = {
    "sweep",
    "idx",
    "commit_id",
    "params",
    "csv",
    "tsv",
    "latest_run",
    "success_run",
    "state",
    "tree_id",
}
_INT64 = range(-(2**63), 2**63)
# A point's latest run: its highest attempt; two runs of one attempt (the same point run on two machines,
# pulled together) are ordered by when they started, so every clone calls the same one the latest.
_LATEST = (
    "SELECT id, status FROM runs WHERE sweep = ? AND idx = ?{} ORDER BY attempt DESC, started DESC, id DESC "
    "LIMIT 1"
)
_FEW = 64  # points changed at once: past this, their pointers are recomputed a few statements for all


def sync(db: sqlite3.Connection, sweep: Sweep, points: Iterable[PointRecord]) -> None:
    """Make the store's points of ``sweep`` those of its tip. A sweep that grew (``gitgrid optimize``
    appends points) keeps its points and runs and gains the new points; the runs of a replaced sweep
    (``create --force``) are kept apart under ``<name>@<old tip>``, never mixed into the new sweep's rows."""
    row = db.execute("SELECT tip FROM sweeps WHERE name = ?", (sweep.name,)).fetchone()
    if row is not None and row[0] == sweep.tip:
        return  # synced meanwhile by another process
    columns = param_columns(sweep.params)
    _add_columns(db, columns, sweep.name)
    kinds: dict[str, set[str]] = {name: set() for name in sweep.params}
    fixed = ["sweep", "idx", "commit_id", "tree_id", "params", "csv", "tsv"]
    names = ", ".join([*fixed, *(quoted(c) for c in columns)])
    rows = _point_rows(sweep, points, kinds)
    fresh = not db.execute("SELECT 1 FROM points WHERE sweep = ? LIMIT 1", (sweep.name,)).fetchone()
    width = len(fixed) + len(columns)
    if fresh:
        db.executemany(f"INSERT INTO points ({names}) VALUES ({', '.join('?' * width)})", rows)
    else:
        _replace_or_grow(db, sweep, row[0] if row else "", names, rows, width)
    db.execute(
        "INSERT OR REPLACE INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sweep.name, sweep.base, sweep.tip, sweep.count, json.dumps(list(sweep.params)),
            json.dumps(columns), json.dumps({n: _kind(k) for n, k in kinds.items()}), sweep.created,
        ),
    )  # fmt: skip
    if fresh and db.execute("SELECT 1 FROM runs WHERE sweep = ? LIMIT 1", (sweep.name,)).fetchone():
        _recompute(db, sweep.name)  # runs without points: a store migrated from schema 1


def _replace_or_grow(
    db: sqlite3.Connection,
    sweep: Sweep,
    old_tip: str,
    names: str,
    rows: Iterable[tuple[Any, ...]],
    width: int,
) -> None:
    """The tip moved: the new points go to a temporary table first (streamed, not held in memory), and
    the sweep grew if every point the store has is among them with its commit, else it was replaced."""
    db.execute("DROP TABLE IF EXISTS temp.new_points")
    db.execute(f"CREATE TEMP TABLE new_points AS SELECT {names} FROM points WHERE 0")
    db.executemany(f"INSERT INTO temp.new_points VALUES ({', '.join('?' * width)})", rows)
    db.execute("CREATE INDEX temp.new_points_idx ON new_points (idx, commit_id)")
    replaced = db.execute(
        "SELECT 1 FROM points p WHERE p.sweep = ? AND NOT EXISTS (SELECT 1 FROM temp.new_points n "
        "WHERE n.idx = p.idx AND n.commit_id = p.commit_id) LIMIT 1",
        (sweep.name,),
    ).fetchone()
    if replaced:
        archive = f"{sweep.name}@{old_tip[:12]}"
        for table in ("runs", "jobs", "job_points", "sweep_metrics"):
            db.execute(f"UPDATE {table} SET sweep = ? WHERE sweep = ?", (archive, sweep.name))
        for table in ("pending", "scans", "points", "point_metrics"):  # the old points and their folders
            db.execute(f"DELETE FROM {table} WHERE sweep = ?", (sweep.name,))
    db.execute(
        f"INSERT INTO points ({names}) SELECT {names} FROM temp.new_points n WHERE NOT EXISTS "
        "(SELECT 1 FROM points p WHERE p.sweep = n.sweep AND p.idx = n.idx)"
    )
    db.execute("DROP TABLE temp.new_points")


def _point_rows(
    sweep: Sweep, points: Iterable[PointRecord], kinds: dict[str, set[str]]
) -> Iterator[tuple[Any, ...]]:
    """Each point's row: its params as canonical JSON and as CSV and TSV cells, and a column each. The
    common point (every param there, every value a number) takes a fast path giving the same texts: the
    store's first look at a 100,000-point sweep (``status``, ``pull``, ``run``) spent half its time
    here, in ``json.dumps`` and a ``csv.writer`` per point."""
    encode, names = canonical_json_encoder(sweep.params), frozenset(sweep.params)
    for point in points:
        values = []
        for name in sweep.params:
            value = point.params.get(name)
            if isinstance(value, bool):
                value = int(value)  # as SQLite keeps it anyway
            if isinstance(value, str):
                kinds[name].add("text")
            elif isinstance(value, int) and value not in _INT64:
                kinds[name].add("other")  # beyond SQLite's integers: kept as text, compared in Python
                value = str(value)
            else:
                kinds[name].add("num")
            values.append(value)
        whole = point.params.keys() == names
        text = (
            encode([point.params[name] for name in sweep.params]) if whole else canonical_json(point.params)
        )
        if all(type(value) is int or type(value) is float for value in values):
            cells = [str(value) for value in values]  # what csv.writer writes of a number, and repr
            yield (sweep.name, point.index, point.commit, point.tree or None, text, ",".join(cells),
                   "\t".join(cells), *values)  # fmt: skip
        else:
            texts = text, csv_cells(values), tsv_cells(values)
            yield (sweep.name, point.index, point.commit, point.tree or None, *texts, *values)


def csv_cells(values: Sequence[Any]) -> str:
    """Values as cells of a CSV line, as ``csv.writer`` writes them (kept per point, so that ``results
    -f csv`` is assembled by SQLite without formatting a number in Python)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([*values, 0])
    return buffer.getvalue()[: -len(",0\n")]


def tsv_cells(values: Sequence[Any]) -> str:
    """Values as cells of a TSV line: floats by ``repr``, null empty, tabs and newlines as spaces."""
    texts = ("" if v is None else repr(v) if isinstance(v, float) else str(v) for v in values)
    return "\t".join(t.replace("\t", " ").replace("\n", " ") for t in texts)


def _kind(kinds: set[str]) -> str:
    if "other" in kinds:
        return "other"
    if kinds == {"num", "text"}:
        return "mixed"
    return "text" if kinds == {"text"} else "num"


def _add_columns(db: sqlite3.Connection, columns: Sequence[str], sweep: str) -> None:
    """Add the param columns ``points`` lacks (SQLite names ignore case, and so does this comparison)."""
    present = {row[1].casefold() for row in db.execute("PRAGMA table_info(points)")}
    for column in columns:
        if column.casefold() in present:
            continue
        try:
            db.execute(f"ALTER TABLE points ADD COLUMN {quoted(column)}")
        except sqlite3.OperationalError as exc:
            if "too many columns" not in str(exc):
                raise
            raise StoreError(
                f"sweep '{sweep}': the results store keeps a column per param name of every sweep and "
                f"SQLite allows 2000; param '{column}' does not fit"
            ) from None
        present.add(column.casefold())


def _recompute(db: sqlite3.Connection, sweep: str) -> None:
    """Every point's pointers, state and success metrics from ``runs``, and the sweep's metric names."""
    latest = (
        "(SELECT id FROM runs r WHERE r.sweep = points.sweep AND r.idx = points.idx{} "
        "ORDER BY r.attempt DESC, r.started DESC, r.id DESC LIMIT 1)"
    )
    success = latest.format(" AND r.status = 'success'")
    db.execute(
        f"UPDATE points SET latest_run = {latest.format('')}, success_run = {success} WHERE sweep = ?",
        (sweep,),
    )
    db.execute(
        "UPDATE points SET state = (SELECT status FROM runs WHERE id = points.latest_run) WHERE sweep = ?",
        (sweep,),
    )
    db.execute(
        "INSERT INTO point_metrics SELECT p.sweep, p.idx, m.name, m.value FROM points p "
        "JOIN metrics m ON m.run_id = p.success_run WHERE p.sweep = ?",
        (sweep,),
    )
    names = db.execute(
        "SELECT m.name FROM runs r JOIN metrics m ON m.run_id = r.id WHERE r.sweep = ? "
        "GROUP BY m.name ORDER BY MIN(r.id), m.name",
        (sweep,),
    )
    add_metric_names(db, sweep, [name for (name,) in names])


def points_changed(db: sqlite3.Connection, sweep: str, indexes: Sequence[int]) -> None:
    """:func:`point_changed` for many points of a sweep at once (runs pulled or reused in bulk): point
    by point for a few; for many, one pass over their runs (ranked by window functions) and a few
    statements, over a temporary table of the points."""
    if len(indexes) <= _FEW:
        for index in indexes:
            point_changed(db, sweep, index, 0)
        return
    db.execute("DROP TABLE IF EXISTS temp.changed")
    db.execute("CREATE TEMP TABLE changed (idx INTEGER PRIMARY KEY)")
    db.executemany("INSERT OR IGNORE INTO temp.changed VALUES (?)", ((index,) for index in indexes))
    args = {"sweep": sweep}
    db.execute(_POINTERS, args)
    chosen = "sweep = :sweep AND idx IN (SELECT idx FROM temp.changed)"
    db.execute(f"DELETE FROM point_metrics WHERE {chosen}", args)
    db.execute(
        "INSERT INTO point_metrics SELECT p.sweep, p.idx, m.name, m.value FROM points p "
        "JOIN metrics m ON m.run_id = p.success_run WHERE p.sweep = :sweep AND p.idx IN "
        "(SELECT idx FROM temp.changed)",
        args,
    )
    db.execute("DROP TABLE temp.changed")


def runs_added(db: sqlite3.Connection, sweep: str, added: Sequence[tuple[int, int, str]]) -> None:
    """The points' pointers after runs were added in bulk (each run's point index, id and status): a point
    whose only run is the one added (a fresh clone's pull: every point) points at it at once, by one
    join; any other point is recomputed (:func:`points_changed`), which orders its runs."""
    once = Counter(index for index, _, _ in added)
    db.execute("DROP TABLE IF EXISTS temp.added")
    db.execute("CREATE TEMP TABLE added (idx INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, status TEXT)")
    db.executemany("INSERT INTO temp.added VALUES (?, ?, ?)", (a for a in added if once[a[0]] == 1))
    args = {"sweep": sweep}
    db.execute(
        "DELETE FROM temp.added WHERE EXISTS (SELECT 1 FROM runs r WHERE r.sweep = :sweep "
        "AND r.idx = added.idx AND r.id != added.run_id)",
        args,
    )  # points that had runs before
    alone = {int(index) for (index,) in db.execute("SELECT idx FROM temp.added")}
    db.execute(
        "UPDATE points SET latest_run = a.run_id, state = a.status, success_run = CASE WHEN "
        "a.status = 'success' THEN a.run_id END FROM temp.added a WHERE points.sweep = :sweep "
        "AND points.idx = a.idx",
        args,
    )
    db.execute("DELETE FROM point_metrics WHERE sweep = :sweep AND idx IN (SELECT idx FROM temp.added)", args)
    db.execute(
        "INSERT INTO point_metrics SELECT p.sweep, p.idx, m.name, m.value FROM temp.added a JOIN points p "
        "ON p.sweep = :sweep AND p.idx = a.idx JOIN metrics m ON m.run_id = p.success_run",
        args,
    )
    db.execute("DROP TABLE temp.added")
    points_changed(db, sweep, sorted({index for index, _, _ in added} - alone))


# Each changed point's latest run, its status, and its latest successful run, in one pass over their runs
# (the order of _LATEST): three times faster than a correlated query per point and per pointer.
_ORDER = "ORDER BY attempt DESC, started DESC, id DESC"
_POINTERS = f"""
UPDATE points SET latest_run = x.latest, success_run = x.success, state = x.state FROM (
    SELECT idx, MAX(CASE WHEN n = 1 THEN id END) AS latest, MAX(CASE WHEN n = 1 THEN status END) AS state,
           MAX(CASE WHEN s = 1 AND status = 'success' THEN id END) AS success
    FROM (SELECT id, idx, status, ROW_NUMBER() OVER (PARTITION BY idx {_ORDER}) AS n,
                 ROW_NUMBER() OVER (PARTITION BY idx, status = 'success' {_ORDER}) AS s
          FROM runs WHERE sweep = :sweep AND idx IN (SELECT idx FROM temp.changed))
    GROUP BY idx
) AS x WHERE points.sweep = :sweep AND points.idx = x.idx
"""


def store_metrics(db: sqlite3.Connection, sweep: str, run_id: int, metrics: Mapping[str, float]) -> None:
    """A run's metrics as rows (NaN is kept as null), and the sweep's metric names in reported order."""
    names, texts = metric_rows(db, sweep, run_id, metrics)
    db.execute(  # all of them in one row: CSV and TSV read that when the run has the sweep's metrics
        "UPDATE runs SET metric_names = ?, metric_texts = ? WHERE id = ?", (names, texts, run_id)
    )


def metric_rows(
    db: sqlite3.Connection, sweep: str, run_id: int, metrics: Mapping[str, float]
) -> tuple[str, str]:
    """Store a run's metrics as rows and add new names to the sweep's; the run's metric names and texts
    as one line each (for ``runs.metric_names`` and ``runs.metric_texts``), for the caller to write."""
    db.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
    values = [float(v) for v in metrics.values()]  # an int past 2**63 is a float to SQLite too
    texts = [number_text(None if math.isnan(v) else v) for v in values]
    if metrics:
        rows = ((run_id, k, v, t) for k, v, t in zip(metrics, values, texts, strict=True))
        db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)", rows)
        add_metric_names(db, sweep, list(metrics))
    return metric_names(metrics), ",".join(texts)


def add_metric_names(db: sqlite3.Connection, sweep: str, names: Sequence[str]) -> None:
    """Names the sweep has not seen go after those it has, in the order given (one statement: a name
    already known is ignored, a new one takes the next position)."""
    db.executemany(
        "INSERT OR IGNORE INTO sweep_metrics SELECT ?, ?, IFNULL(MAX(position), -1) + 1 FROM sweep_metrics "
        "WHERE sweep = ?",
        ((sweep, name, sweep) for name in names),
    )


def point_started(db: sqlite3.Connection, run_id: int, run: Run) -> None:
    """A run just stored as running is its point's latest (the runner claimed a new attempt): the point
    points at it and takes its state, in one statement. Unless an attempt numbered higher is stored (no
    runner makes one, but a hand-made run directory could), which stays the latest."""
    db.execute(
        "UPDATE points SET latest_run = :id, state = :status WHERE sweep = :sweep AND idx = :idx "
        "AND IFNULL((SELECT attempt FROM runs WHERE id = points.latest_run), -1) <= :attempt",
        {"id": run_id, "status": run.status, "sweep": run.sweep, "idx": run.index, "attempt": run.attempt},
    )


def point_ended(db: sqlite3.Connection, run_id: int, run: Run) -> None:
    """The point after its run ``run_id`` ended: when that run is still its latest (the common case),
    its state and success pointer change in one statement; otherwise everything is recomputed."""
    args = {"id": run_id, "status": run.status, "sweep": run.sweep, "idx": run.index}
    changed = db.execute(
        "UPDATE points SET state = :status, success_run = CASE WHEN :status = 'success' THEN :id "
        "ELSE success_run END WHERE sweep = :sweep AND idx = :idx AND latest_run = :id "
        "AND (:status = 'success' OR success_run IS NOT :id)",
        args,
    ).rowcount
    if not changed:
        point_changed(db, run.sweep, run.index, run_id)
    elif run.status == "success":
        _success_metrics(db, run.sweep, run.index, run_id)


def point_changed(db: sqlite3.Connection, sweep: str, index: int, run_id: int) -> None:
    """Recompute one point's pointers, state and success metrics after run ``run_id`` of it changed."""
    db.execute(  # the text results print, made once here rather than for every row of every query
        "UPDATE runs SET duration_text = gitgrid_duration_text(ROUND(duration, 3)) WHERE id = ?", (run_id,)
    )
    row = db.execute("SELECT success_run FROM points WHERE sweep = ? AND idx = ?", (sweep, index)).fetchone()
    if row is None:
        return  # a run of a point the store does not list (its sweep was never synced here)
    latest = db.execute(_LATEST.format(""), (sweep, index)).fetchone()
    success = db.execute(_LATEST.format(" AND status = 'success'"), (sweep, index)).fetchone()
    success_id = success[0] if success else None
    db.execute(
        "UPDATE points SET latest_run = ?, success_run = ?, state = ? WHERE sweep = ? AND idx = ?",
        (latest[0] if latest else None, success_id, latest[1] if latest else None, sweep, index),
    )
    if success_id != row[0] or success_id == run_id:
        _success_metrics(db, sweep, index, success_id)


def _success_metrics(db: sqlite3.Connection, sweep: str, index: int, success_id: int | None) -> None:
    """The point's metrics are those of its latest successful run ``success_id`` (none without one)."""
    db.execute("DELETE FROM point_metrics WHERE sweep = ? AND idx = ?", (sweep, index))
    db.execute(
        "INSERT INTO point_metrics SELECT ?, ?, name, value FROM metrics WHERE run_id = ?",
        (sweep, index, success_id),
    )


def param_columns(params: Sequence[str]) -> list[str]:
    """The points-table column of each param: its name, unless it clashes (SQLite ignores case) with a
    fixed column or an earlier param of the sweep; then a suffix keeps it apart."""
    taken = {c.casefold() for c in _RESERVED}
    columns = []
    for position, name in enumerate(params):
        column = name if name.casefold() not in taken else f"{name}__{position}"
        taken.add(column.casefold())
        columns.append(column)
    return columns


def quoted(column: str) -> str:
    """A column name as an SQL identifier."""
    return '"' + column.replace('"', '""') + '"'
