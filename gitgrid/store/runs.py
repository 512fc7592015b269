"""Runs in the store: every attempt at every point, written as it starts and ends or as it is collected,
and read back by the runner (what is running, which attempt comes next) and by reconciling.

Each write is one transaction that also brings the point's pointers up to date, so a reader never sees
a run without its point's state. A runner's writes are the hot path (one per point): a run that starts
is one insert and one update, a run that ends a handful of statements, and :meth:`Runs.write` puts the
ends of some runs and the start of another in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitgrid.store.database import Database
from gitgrid.store.points import metric_rows, point_changed, point_ended, point_started, store_metrics
from gitgrid.store.record import FINAL, Run, RunRow, SeriesRows

__all__ = ["INSERT_RUN", "RUN_FIELDS", "Ended", "Runs", "run_from", "run_values"]

RUN_FIELDS = (
    "sweep, idx, commit_id, attempt, rerun, status, exit_code, reason, started, ended, duration, host, "
    "run_dir, pid, job, recipe, run_key, reused_sweep, reused_index, reads, analysis"
)
_MARKS = ", ".join("?" * 21)
INSERT_RUN = f"INSERT INTO runs ({RUN_FIELDS}) VALUES ({_MARKS})"
_LATEST = (
    "id = (SELECT x.id FROM runs x WHERE x.sweep = r.sweep AND x.idx = r.idx "
    "ORDER BY x.attempt DESC, x.started DESC, x.id DESC LIMIT 1)"
)
_MANY = 1000  # more points than this: one pass over the sweep's runs rather than a query per point
_END = (
    "UPDATE runs SET status = ?, exit_code = ?, reason = ?, ended = ?, duration = ?, "
    "duration_text = gitgrid_duration_text(ROUND(?, 3)), metric_names = ?, metric_texts = ? WHERE id = ?"
)

Ended = tuple[int, Run, SeriesRows]  # a stored run's id, its final record and its series


class Runs:
    """Every attempt at every point."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, run: Run) -> int:
        """Record a run that is about to start; returns its id."""
        return self.write((), run) or 0

    def finish(self, run_id: int, run: Run, series: SeriesRows = ()) -> None:
        """Record the end of a run, its metrics and its series, in one transaction."""
        self.write([(run_id, run, series)])

    def write(self, ends: Sequence[Ended] = (), start: Run | None = None) -> int | None:
        """One transaction: the ends of stored runs (each with its metrics and series), then the run
        ``start`` that is about to start; returns the new run's id (None without one)."""
        with self._db.transaction() as db:
            for run_id, run, series in ends:
                _finish(db, run_id, run, series)
            if start is None:
                return None
            run_id = int(db.execute(INSERT_RUN, run_values(start)).lastrowid or 0)
            if start.status == "running":
                point_started(db, run_id, start)
            else:
                point_changed(db, start.sweep, start.index, run_id)
            return run_id

    def ingest(self, run: Run, series: SeriesRows = ()) -> bool:
        """Record a finished run found in a run directory unless it is already known; True if recorded."""
        return self.ingest_many([(run, series)])[0]

    def ingest_many(self, runs: Sequence[tuple[Run, SeriesRows]]) -> list[bool]:
        """:meth:`ingest` for several runs in one transaction."""
        with self._db.transaction() as db:
            return [_ingest(db, run, series) for run, series in runs]

    def amend(self, run: Run) -> None:
        """Correct the final state of a stored run (found by its directory): the scheduler knew better."""
        with self._db.transaction() as db:
            row = db.execute("SELECT id FROM runs WHERE run_dir = ?", (run.run_dir,)).fetchone()
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, ended = ?, duration = ? WHERE run_dir = ?",
                (run.status, run.reason, run.ended, run.duration, run.run_dir),
            )
            if row is not None:
                point_changed(db, run.sweep, run.index, row[0])

    def is_final(self, run_dir: str) -> bool:
        """Whether the run in ``run_dir`` is stored with a final status (collecting it again is a no-op)."""
        return self._db.value("SELECT status FROM runs WHERE run_dir = ?", (run_dir,)) in FINAL

    def stored(self, sweep: str) -> bool:
        """Whether the store holds any run of ``sweep``."""
        return bool(self._db.query("SELECT 1 FROM runs WHERE sweep = ? LIMIT 1", (sweep,)))

    def running(self, sweep: str) -> list[tuple[int, Run]]:
        """Runs still marked running: (id, run) of each."""
        rows = self._db.query(
            f"SELECT id, {RUN_FIELDS} FROM runs WHERE sweep = ? AND status = 'running'", (sweep,)
        )
        return [(row[0], run_from(row[1:])) for row in rows]

    def attempts(self, sweep: str, indexes: Iterable[int] | None = None) -> dict[int, int]:
        """The highest attempt number stored for each point of a sweep (or of the points ``indexes``)."""
        every = "SELECT idx, MAX(attempt) FROM runs WHERE sweep = ? GROUP BY idx"
        if indexes is None:
            return dict(self._db.stream(every, (sweep,)))
        wanted = set(indexes)
        if len(wanted) > _MANY:
            return {index: attempt for index, attempt in self._db.stream(every, (sweep,)) if index in wanted}
        found = {}
        for index in sorted(wanted):
            attempt = self._db.value(
                "SELECT MAX(attempt) FROM runs WHERE sweep = ? AND idx = ?", (sweep, index)
            )
            if attempt is not None:
                found[index] = int(attempt)
        return found

    def max_rerun(self, sweep: str) -> int:
        """The highest rerun of the sweep's runs (0 before any ``--rerun``)."""
        return int(self._db.value("SELECT MAX(rerun) FROM runs WHERE sweep = ?", (sweep,)) or 0)

    def records(
        self, sweep: str, statuses: Iterable[str] | None = None, latest_only: bool = True
    ) -> list[RunRow]:
        """Runs of a sweep (each point's latest attempt by default), metrics included, in index order."""
        query = f"SELECT id, {RUN_FIELDS} FROM runs r WHERE sweep = ?"
        args: list[Any] = [sweep]
        if latest_only:
            query += f" AND {_LATEST}"
        if statuses is not None:
            wanted = list(statuses)
            query += f" AND status IN ({', '.join('?' * len(wanted))})"
            args += wanted
        rows = self._db.query(query + " ORDER BY idx, attempt, id", args)
        metrics: dict[int, dict[str, float]] = {}
        for run_id, name, value in self._db.query(
            "SELECT m.run_id, m.name, m.value FROM metrics m JOIN runs r ON r.id = m.run_id "
            "WHERE r.sweep = ?",
            (sweep,),
        ):
            metrics.setdefault(run_id, {})[name] = value
        return [RunRow(row[0], run_from(row[1:], metrics.get(row[0], {}))) for row in rows]


def _finish(db: sqlite3.Connection, run_id: int, run: Run, series: SeriesRows) -> None:
    names, texts = metric_rows(db, run.sweep, run_id, run.metrics)
    values = (run.status, run.exit_code, run.reason, run.ended, run.duration, run.duration, names, texts)
    db.execute(_END, (*values, run_id))
    _store_series(db, run_id, series)
    point_ended(db, run_id, run)


def _ingest(db: sqlite3.Connection, run: Run, series: SeriesRows) -> bool:
    row = db.execute("SELECT id, status FROM runs WHERE run_dir = ?", (run.run_dir,)).fetchone()
    if row is not None and row[1] in FINAL:
        db.execute("DELETE FROM pending WHERE run_dir = ?", (run.run_dir,))
        return False
    if row is not None:  # a live run finishing right now: update it where it is, keeping its id
        run_id = int(row[0])
        names = RUN_FIELDS.split(", ")
        db.execute(
            f"UPDATE runs SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?", (*run_values(run), run_id)
        )
    else:
        run_id = int(db.execute(INSERT_RUN, run_values(run)).lastrowid or 0)
    store_metrics(db, run.sweep, run_id, run.metrics)
    _store_series(db, run_id, series)
    point_changed(db, run.sweep, run.index, run_id)
    if run.status in FINAL:
        db.execute("DELETE FROM pending WHERE run_dir = ?", (run.run_dir,))
    return True


def _store_series(db: sqlite3.Connection, run_id: int, rows: SeriesRows) -> None:
    if isinstance(rows, tuple | list) and not rows:
        return
    db.executemany("INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?)", ((run_id, *row) for row in rows))


def run_values(run: Run) -> tuple[Any, ...]:
    source = run.reused or (None, None)
    return (
        run.sweep, run.index, run.commit, run.attempt, run.rerun, run.status, run.exit_code, run.reason,
        run.started, run.ended, run.duration, run.host, run.run_dir or None, run.pid, run.job,
        run.recipe, run.key, *source, run.reads,
        run.analysis,
    )  # fmt: skip


def run_from(row: Sequence[Any], metrics: Mapping[str, float] | None = None) -> Run:
    """A run from a row of :data:`RUN_FIELDS` (the stored duration is derived, so it is left out)."""
    fields = dict(zip(RUN_FIELDS.split(", "), row, strict=True))
    del fields["duration"]
    fields["index"], fields["commit"] = fields.pop("idx"), fields.pop("commit_id")
    fields["run_dir"], fields["host"] = fields["run_dir"] or "", fields["host"] or ""
    fields["key"] = fields.pop("run_key")
    sweep, index = fields.pop("reused_sweep"), fields.pop("reused_index")
    fields["reused"] = (sweep, index) if sweep is not None else None
    return Run(**fields, metrics=dict(metrics or {}))
