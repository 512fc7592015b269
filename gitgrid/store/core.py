"""The :class:`Store`: one connection to a repository's results store, shared by a runner's threads.

Writes are short ``BEGIN IMMEDIATE`` transactions; a writer that waits longer than the store's timeout
for another one fails with a :class:`~gitgrid.errors.StoreError` naming the file and the holder.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitgrid.store.guard import store_timeout, translated
from gitgrid.store.points import point_changed, store_metrics, sync
from gitgrid.store.record import FINAL, Run
from gitgrid.store.schema import connect
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["Job", "RunRow", "SeriesRows", "Store", "SweepInfo"]

SeriesRows = Iterable[tuple[str, int, float | None]]  # (name, step, value) of a run's series
_LATEST = (
    "id = (SELECT x.id FROM runs x WHERE x.sweep = r.sweep AND x.idx = r.idx{} "
    "ORDER BY x.attempt DESC, x.id DESC LIMIT 1)"
)
_RUN_COLUMNS = (
    "sweep, idx, commit_id, attempt, rerun, status, exit_code, reason, started, ended, duration, host, "
    "run_dir, pid, job"
)
_RUN_MARKS = ", ".join("?" * 15)


@dataclass(frozen=True)
class RunRow:
    """A run as stored, with its database id and metrics."""

    id: int
    run: Run


@dataclass(frozen=True)
class Job:
    """A submitted array job."""

    job_id: str
    scheduler: str
    sweep: str
    submission: str
    tasks: int
    chunk: int
    submitted: float
    cancelled: bool = False


@dataclass(frozen=True)
class SweepInfo:
    """What the store knows of a sweep: its tip, points, params (with their columns and the kind of
    their values: ``num``, ``text``, ``mixed`` or ``other``) and metric names in reported order."""

    name: str
    tip: str
    count: int
    params: tuple[str, ...]
    columns: tuple[str, ...]
    kinds: Mapping[str, str]
    metrics: tuple[str, ...]


class Store:
    """The results store of one repository. Safe to share between the threads of one runner."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> Store:
        """Open (creating on first use) the store at ``path``; refuse a damaged one or one from a newer
        gitgrid; migrate one of schema 1. ``readonly`` opens an existing store that is never written."""
        return cls(connect(path, store_timeout(), readonly), path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, translated(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (the results layer's aggregates and pages)."""
        with self._lock, translated(self.path):
            return self._db.execute(sql, args).fetchall()

    def stream(
        self, sql: str, args: Sequence[Any] | Mapping[str, Any] = (), size: int = 2000
    ) -> Iterator[Any]:
        """The rows of a read-only query, fetched ``size`` at a time: bounded memory. (Fetching ahead in
        a thread was measured slower: the two threads fight over the GIL.)"""
        with self._lock, translated(self.path):
            cursor = self._db.execute(sql, args)

        def fetch() -> list[Any]:
            with self._lock, translated(self.path):
                return cursor.fetchmany(size)

        return _prefetched(fetch)

    @contextmanager
    def waiting(self, seconds: float) -> Iterator[None]:
        """Writers inside wait at most ``seconds`` for another writer (e.g. a chore a query can skip)."""
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
            try:
                yield
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {int(store_timeout() * 1000)}")

    def connection(self) -> sqlite3.Connection:
        """The connection, for registering a function a query calls (``--where`` evaluated in Python)."""
        return self._db

    # sweeps and points ------------------------------------------------------------------------------
    def sync_sweep(self, sweep: Sweep, points: Iterable[PointRecord]) -> int:
        """Record a sweep and its points unless the store has it at this tip already (``points`` is then
        never read: pass a lazy iterable). A replaced sweep (``create --force``) is replaced at once.
        Returns the number of the sweep's points in the store."""
        if not self.knows(sweep):
            with self._transaction() as db:
                sync(db, sweep, points)
        return int(self.query("SELECT COUNT(*) FROM points WHERE sweep = ?", (sweep.name,))[0][0])

    def knows(self, sweep: Sweep) -> bool:
        """Whether the store holds ``sweep`` at its tip."""
        row = self.query("SELECT tip FROM sweeps WHERE name = ?", (sweep.name,))
        return bool(row) and row[0][0] == sweep.tip

    def forget_sweep(self, sweep: str) -> None:
        """Delete every row of ``sweep``: for an optimisation undone before it produced anything."""
        with self._transaction() as db:
            tables = (
                "runs",
                "jobs",
                "job_points",
                "sweep_metrics",
                "points",
                "point_metrics",
                "pending",
                "scans",
            )
            for table in tables:  # a run's metrics and series go with it (ON DELETE CASCADE)
                db.execute(f"DELETE FROM {table} WHERE sweep = ?", (sweep,))
            db.execute("DELETE FROM sweeps WHERE name = ?", (sweep,))

    def has_sweep(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM sweeps WHERE name = ?", (name,)))

    def sweep_info(self, name: str) -> SweepInfo:
        row = self.query("SELECT tip, count, params, columns, kinds FROM sweeps WHERE name = ?", (name,))
        tip, count, params, columns, kinds = row[0]
        metrics = self.query("SELECT name FROM sweep_metrics WHERE sweep = ? ORDER BY position", (name,))
        return SweepInfo(
            name, tip, count, tuple(json.loads(params)), tuple(json.loads(columns)), json.loads(kinds),
            tuple(m for (m,) in metrics),
        )  # fmt: skip

    # runs -------------------------------------------------------------------------------------------
    def add_run(self, run: Run) -> int:
        """Record a run that is about to start; returns its id."""
        with self._transaction() as db:
            cursor = db.execute(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({_RUN_MARKS})", _run_values(run))
            run_id = int(cursor.lastrowid or 0)
            point_changed(db, run.sweep, run.index, run_id)
            return run_id

    def finish_run(self, run_id: int, run: Run, series: SeriesRows = ()) -> None:
        """Record the end of a run, its metrics and its series, in one transaction."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, exit_code = ?, reason = ?, ended = ?, duration = ? WHERE id = ?",
                (run.status, run.exit_code, run.reason, run.ended, run.duration, run_id),
            )
            _store_series(db, run_id, series)
            store_metrics(db, run.sweep, run_id, run.metrics)
            point_changed(db, run.sweep, run.index, run_id)

    def ingest(self, run: Run, series: SeriesRows = ()) -> bool:
        """Record a finished run found in a run directory unless it is already known; True if recorded."""
        return self.ingest_many([(run, series)])[0]

    def ingest_many(self, runs: Sequence[tuple[Run, SeriesRows]]) -> list[bool]:
        """:meth:`ingest` for several runs in one transaction."""
        with self._transaction() as db:
            return [_ingest(db, run, series) for run, series in runs]

    def is_final(self, run_dir: str) -> bool:
        """Whether the run in ``run_dir`` is stored with a final status (collecting it again is a no-op)."""
        row = self.query("SELECT status FROM runs WHERE run_dir = ?", (run_dir,))
        return bool(row) and row[0][0] in FINAL

    def amend_run(self, run: Run) -> None:
        """Correct the final state of a stored run (found by its directory): the scheduler knew better."""
        with self._transaction() as db:
            row = db.execute("SELECT id FROM runs WHERE run_dir = ?", (run.run_dir,)).fetchone()
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, ended = ?, duration = ? WHERE run_dir = ?",
                (run.status, run.reason, run.ended, run.duration, run.run_dir),
            )
            if row is not None:
                point_changed(db, run.sweep, run.index, row[0])

    def running(self, sweep: str) -> list[tuple[int, Run]]:
        """Runs still marked running: (id, run) of each."""
        rows = self.query(
            f"SELECT id, {_RUN_COLUMNS} FROM runs WHERE sweep = ? AND status = 'running'", (sweep,)
        )
        return [(row[0], _run_from(row[1:])) for row in rows]

    def latest(self, sweep: str) -> dict[int, tuple[str, int]]:
        """For each point that has runs: (status, rerun) of its latest attempt."""
        rows = self.query(
            f"SELECT idx, status, rerun FROM runs r WHERE sweep = ? AND {_LATEST.format('')}", (sweep,)
        )
        return {idx: (status, rerun) for idx, status, rerun in rows}

    def in_rerun(self, sweep: str, rerun: int) -> dict[int, str]:
        """For each point: the status of its latest attempt within rerun ``rerun``."""
        latest = _LATEST.format(" AND x.rerun = r.rerun")
        rows = self.query(
            f"SELECT idx, status FROM runs r WHERE sweep = ? AND rerun = ? AND {latest}", (sweep, rerun)
        )
        return dict(rows)

    def attempts(self, sweep: str, indexes: Iterable[int] | None = None) -> dict[int, int]:
        """The highest attempt number stored for each point of a sweep (or of the points ``indexes``)."""
        every = "SELECT idx, MAX(attempt) FROM runs WHERE sweep = ? GROUP BY idx"
        if indexes is None:
            return dict(self.stream(every, (sweep,)))
        wanted = set(indexes)
        if len(wanted) > 1000:  # one pass over the sweep's runs rather than a query per point
            return {index: attempt for index, attempt in self.stream(every, (sweep,)) if index in wanted}
        found = {}
        for index in sorted(wanted):
            row = self.query("SELECT MAX(attempt) FROM runs WHERE sweep = ? AND idx = ?", (sweep, index))
            if row[0][0] is not None:
                found[index] = int(row[0][0])
        return found

    def max_rerun(self, sweep: str) -> int:
        return int(self.query("SELECT MAX(rerun) FROM runs WHERE sweep = ?", (sweep,))[0][0] or 0)

    def runs(
        self, sweep: str, statuses: Iterable[str] | None = None, latest_only: bool = True
    ) -> list[RunRow]:
        """Runs of a sweep (each point's latest attempt by default), metrics included, in index order."""
        query = f"SELECT id, {_RUN_COLUMNS} FROM runs r WHERE sweep = ?"
        args: list[Any] = [sweep]
        if latest_only:
            query += " AND " + _LATEST.format("")
        if statuses is not None:
            wanted = list(statuses)
            query += f" AND status IN ({', '.join('?' * len(wanted))})"
            args += wanted
        rows = self.query(query + " ORDER BY idx, attempt, id", args)
        metrics: dict[int, dict[str, float]] = {}
        for run_id, name, value in self.query(
            "SELECT m.run_id, m.name, m.value FROM metrics m JOIN runs r ON r.id = m.run_id "
            "WHERE r.sweep = ?",
            (sweep,),
        ):
            metrics.setdefault(run_id, {})[name] = value
        return [RunRow(row[0], _run_from(row[1:], metrics.get(row[0], {}))) for row in rows]

    def points(self, sweep: str) -> dict[int, tuple[str, dict[str, Any]]]:
        """Each point of a sweep: (commit, params)."""
        rows = self.query("SELECT idx, commit_id, params FROM points WHERE sweep = ?", (sweep,))
        return {idx: (commit, json.loads(params)) for idx, commit, params in rows}

    def point(self, sweep: str, index: int) -> PointRecord | None:
        row = self.query("SELECT commit_id, params FROM points WHERE sweep = ? AND idx = ?", (sweep, index))
        return PointRecord(index, row[0][0], json.loads(row[0][1])) if row else None

    # jobs -------------------------------------------------------------------------------------------
    def add_job(self, job: Job, points: Iterable[tuple[int, int]]) -> None:
        """Record a submitted array job and which task runs which point ((task, index) pairs)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.job_id,
                    job.scheduler,
                    job.sweep,
                    job.submission,
                    job.tasks,
                    job.chunk,
                    job.submitted,
                    0,
                ),
            )
            db.executemany(
                "INSERT INTO job_points VALUES (?, ?, ?, ?)",
                ((job.job_id, t, job.sweep, i) for t, i in points),
            )

    def jobs(self, sweep: str) -> list[Job]:
        rows = self.query("SELECT * FROM jobs WHERE sweep = ? ORDER BY submitted", (sweep,))
        return [
            Job(job_id, scheduler, name, submission, tasks, chunk, submitted, bool(cancelled))
            for job_id, scheduler, name, submission, tasks, chunk, submitted, cancelled in rows
        ]

    def job_points(self, sweep: str) -> dict[int, tuple[str, int, float]]:
        """For each submitted point: (job id, task, submission time) of its latest submission."""
        rows = self.query(
            "SELECT jp.idx, jp.job_id, jp.task, j.submitted FROM job_points jp "
            "JOIN jobs j ON j.job_id = jp.job_id AND j.sweep = jp.sweep "
            "WHERE jp.sweep = ? ORDER BY j.submitted",
            (sweep,),
        )
        return {idx: (job_id, task, submitted) for idx, job_id, task, submitted in rows}

    def mark_cancelled(self, sweep: str, job_ids: Iterable[str]) -> None:
        with self._transaction() as db:
            db.executemany(
                "UPDATE jobs SET cancelled = 1 WHERE sweep = ? AND job_id = ?", ((sweep, j) for j in job_ids)
            )

    # what collecting has seen -----------------------------------------------------------------------
    def scan_mark(self, root: Path, sweep: str) -> int | None:
        """The newest modification time (ns) seen when ``root``'s folder of ``sweep`` was last scanned."""
        row = self.query("SELECT mark FROM scans WHERE root = ? AND sweep = ?", (str(root), sweep))
        return int(row[0][0]) if row else None

    def set_scan_mark(self, root: Path, sweep: str, mark: int) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO scans VALUES (?, ?, ?)", (str(root), sweep, mark))

    def add_pending(self, attempts: Iterable[tuple[str, str, int]]) -> None:
        """Remember attempt folders made elsewhere ((run directory, sweep, point index): by ``gitgrid
        prepare``, or found unfinished) until their runs are collected."""
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO pending VALUES (?, ?, ?)", attempts)

    def drop_pending(self, run_dir: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM pending WHERE run_dir = ?", (run_dir,))

    def pending(self, sweep: str) -> list[tuple[str, int]]:
        """Attempt folders of ``sweep`` waiting to be collected: (run directory, point index)."""
        return [(d, i) for d, i in self.query("SELECT run_dir, idx FROM pending WHERE sweep = ?", (sweep,))]


def _prefetched(fetch: Callable[[], list[Any]]) -> Iterator[Any]:
    """Rows of the batches ``fetch`` returns, until an empty one."""
    while rows := fetch():
        yield from rows


def _ingest(db: sqlite3.Connection, run: Run, series: SeriesRows) -> bool:
    row = db.execute("SELECT id, status FROM runs WHERE run_dir = ?", (run.run_dir,)).fetchone()
    if row is not None and row[1] in FINAL:
        db.execute("DELETE FROM pending WHERE run_dir = ?", (run.run_dir,))
        return False
    if row is not None:  # a live run finishing right now: update it where it is, keeping its id
        run_id = int(row[0])
        names = _RUN_COLUMNS.split(", ")
        db.execute(
            f"UPDATE runs SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
            (*_run_values(run), run_id),
        )
    else:
        run_id = int(
            db.execute(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({_RUN_MARKS})", _run_values(run)).lastrowid
            or 0
        )
    store_metrics(db, run.sweep, run_id, run.metrics)
    _store_series(db, run_id, series)
    point_changed(db, run.sweep, run.index, run_id)
    if run.status in FINAL:
        db.execute("DELETE FROM pending WHERE run_dir = ?", (run.run_dir,))
    return True


def _store_series(db: sqlite3.Connection, run_id: int, rows: SeriesRows) -> None:
    db.executemany("INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?)", ((run_id, *row) for row in rows))


def _run_values(run: Run) -> tuple[Any, ...]:
    return (
        run.sweep, run.index, run.commit, run.attempt, run.rerun, run.status, run.exit_code, run.reason,
        run.started, run.ended, run.duration, run.host, run.run_dir, run.pid, run.job,
    )  # fmt: skip


def _run_from(row: tuple[Any, ...], metrics: Mapping[str, float] | None = None) -> Run:
    """A run from a row of ``_RUN_COLUMNS`` (the stored duration is derived, so it is left out)."""
    fields = dict(zip(_RUN_COLUMNS.split(", "), row, strict=True))
    del fields["duration"]
    fields["index"], fields["commit"] = fields.pop("idx"), fields.pop("commit_id")
    fields["run_dir"], fields["host"] = fields["run_dir"] or "", fields["host"] or ""
    return Run(**fields, metrics=dict(metrics or {}))
