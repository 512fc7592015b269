"""The results store: one SQLite file per repository holding sweeps, points, runs and metrics.

Written after each run in one short transaction, in WAL mode, so readers (``gitgrid results`` in another
terminal) never block the runner and a killed runner loses nothing that had finished. The schema carries
a version (``PRAGMA user_version``); a store written by a newer gitgrid is refused, never migrated
silently. Tables::

    sweeps  (name, base, tip, count, params, created)
    points  (sweep, idx, commit_id, params JSON, latest_run, success_run, one typed column per param
             name, and an "m.<metric>" column per metric with the success run's value): what
             ``gitgrid results`` shows, one row per point
    sweep_metrics (sweep, name): the metric names each sweep has reported
    runs    (id, sweep, idx, commit_id, attempt, rerun, status, exit_code, reason,
             started, ended, duration, host, run_dir, pid, job)
    jobs    (job_id, scheduler, sweep, submission, tasks, chunk, submitted, cancelled): arrays submitted
    job_points (job_id, task, sweep, idx): which array task runs which point
    metrics (run_id, name, value)
    series  (run_id, name, step, value): metrics over time (``$GITGRID_SERIES``), stored as runs end
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitgrid.errors import StoreError
from gitgrid.git.repository import Repository
from gitgrid.layout import Layout
from gitgrid.run.contract import FINAL, Run
from gitgrid.run.series import SERIES_TABLE, SeriesRows, insert_series
from gitgrid.spec.values import canonical_json
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["SCHEMA_VERSION", "Job", "RunRow", "Store", "open_store", "param_columns"]

SCHEMA_VERSION = 1
_RESERVED = {"sweep", "idx", "commit_id", "params", "latest_run", "success_run"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    name TEXT PRIMARY KEY, base TEXT NOT NULL, tip TEXT NOT NULL, count INTEGER NOT NULL,
    params TEXT NOT NULL, created TEXT
);
CREATE TABLE IF NOT EXISTS points (
    sweep TEXT NOT NULL, idx INTEGER NOT NULL, commit_id TEXT NOT NULL, params TEXT NOT NULL,
    latest_run INTEGER, success_run INTEGER,
    PRIMARY KEY (sweep, idx)
);
CREATE TABLE IF NOT EXISTS sweep_metrics (
    sweep TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (sweep, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, sweep TEXT NOT NULL, idx INTEGER NOT NULL, commit_id TEXT NOT NULL,
    attempt INTEGER NOT NULL, rerun INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
    exit_code INTEGER, reason TEXT, started REAL, ended REAL, duration REAL, host TEXT, run_dir TEXT,
    pid INTEGER, job TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT NOT NULL, scheduler TEXT NOT NULL, sweep TEXT NOT NULL, submission TEXT NOT NULL,
    tasks INTEGER NOT NULL, chunk INTEGER NOT NULL, submitted REAL NOT NULL, cancelled INTEGER DEFAULT 0,
    PRIMARY KEY (scheduler, job_id)
);
CREATE TABLE IF NOT EXISTS job_points (
    job_id TEXT NOT NULL, task INTEGER NOT NULL, sweep TEXT NOT NULL, idx INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_points_point ON job_points (sweep, idx);
CREATE INDEX IF NOT EXISTS runs_point ON runs (sweep, idx, attempt);
CREATE UNIQUE INDEX IF NOT EXISTS runs_dir ON runs (run_dir);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
"""
# The latest attempt of a point (highest attempt number; the last recorded among equals).
_LATEST = (
    "id = (SELECT x.id FROM runs x WHERE x.sweep = r.sweep AND x.idx = r.idx{} "
    "ORDER BY x.attempt DESC, x.id DESC LIMIT 1)"
)
_RUN_COLUMNS = (
    "sweep, idx, commit_id, attempt, rerun, status, exit_code, reason, started, ended, duration, host, "
    "run_dir, pid, job"
)
_RUN_MARKS = ", ".join("?" * 15)


def open_store(repo: Repository, runs_root: Path | None = None) -> tuple[Layout, Store]:
    """The repository's layout (its places created on first use) and its results store."""
    layout = Layout.of(repo, runs_root)
    layout.ensure()
    repo.exclude(layout.exclude_pattern)
    return layout, Store.open(layout.store)


@dataclass(frozen=True)
class RunRow:
    """A run as stored, with its database id and metrics."""

    id: int
    run: Run


class Store:
    """The results store of one repository. Safe to share between the threads of one runner."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._lock = threading.RLock()
        self._columns: set[str] | None = None  # of the points table, once read

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating on first use) the store at ``path``; refuse one from a newer gitgrid."""
        try:
            db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the results store: {exc}") from None
        if version > SCHEMA_VERSION:
            db.close()
            raise StoreError(
                f"{path}: written by a newer gitgrid (store schema {version}, this gitgrid knows "
                f"{SCHEMA_VERSION}); upgrade gitgrid to read it"
            )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        if version < SCHEMA_VERSION:
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute(SERIES_TABLE)  # on every open: schema-1 stores from before series gain it
        return cls(db, path)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # sweeps and points ------------------------------------------------------------------------------
    def sync_sweep(self, sweep: Sweep, points: Iterable[PointRecord]) -> None:
        """Record a sweep and its points (again only if its tip changed, e.g. after ``create --force``)."""
        row = self._db.execute("SELECT tip FROM sweeps WHERE name = ?", (sweep.name,)).fetchone()
        if row is not None and row[0] == sweep.tip:
            return
        points = list(points)
        commits = {p.index: p.commit for p in points}
        columns = self._param_columns(sweep.params)
        names = ", ".join(_quoted(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        with self._transaction() as db:
            kept = dict(db.execute("SELECT idx, commit_id FROM points WHERE sweep = ?", (sweep.name,)))
            if any(commits.get(i) != c for i, c in kept.items()):  # re-created (create --force), not grown
                archive = f"{sweep.name}@{row[0][:12]}"
                for table in ("runs", "jobs", "job_points", "sweep_metrics"):
                    db.execute(f"UPDATE {table} SET sweep = ? WHERE sweep = ?", (archive, sweep.name))
                db.execute("DELETE FROM points WHERE sweep = ?", (sweep.name,))
                kept = {}
            record = (sweep.name, sweep.base, sweep.tip, sweep.count, json.dumps(list(sweep.params)))
            db.execute("INSERT OR REPLACE INTO sweeps VALUES (?, ?, ?, ?, ?, ?)", (*record, sweep.created))
            db.executemany(
                f"INSERT INTO points (sweep, idx, commit_id, params, {names}) VALUES (?, ?, ?, ?, {marks})",
                (
                    (
                        sweep.name,
                        p.index,
                        p.commit,
                        canonical_json(p.params),
                        *(p.params.get(n) for n in sweep.params),
                    )
                    for p in points
                    if p.index not in kept  # points added to a grown sweep (gitgrid optimize)
                ),
            )

    def result_rows(
        self, sweep: str, params: Sequence[str], mode: str = "success"
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """Columns and rows of results, assembled in SQL (100,000 rows in a fraction of a second).

        ``mode``: ``success`` (each point's latest successful attempt), ``all`` (that, else its latest
        attempt, else a never-run row), ``attempts`` (every attempt, and never-run points).
        """
        metrics = [
            row[0] for row in self._db.execute("SELECT name FROM sweep_metrics WHERE sweep = ?", (sweep,))
        ]
        param_sql = ", ".join("p." + _quoted(column) for column in param_columns(params))
        if mode == "success":  # the success run's metrics are copied into the point's row: no lookups
            metric_sql, lookups = "".join(f", p.{_quoted(_metric_column(m))}" for m in metrics), []
        else:
            metric_sql = "".join(
                ", (SELECT value FROM metrics WHERE run_id = r.id AND name = ?)" for _ in metrics
            )
            lookups = metrics
        select = (
            f"SELECT p.idx, p.commit_id{', ' + param_sql if param_sql else ''}{metric_sql}, "
            "COALESCE(r.status, 'never run'), r.attempt, ROUND(r.duration, 3) FROM points p "
        )
        join = {
            "success": "JOIN runs r ON r.id = p.success_run",
            "all": "LEFT JOIN runs r ON r.id = COALESCE(p.success_run, p.latest_run)",
            "attempts": "LEFT JOIN runs r ON r.sweep = p.sweep AND r.idx = p.idx",
        }[mode]
        order = "p.idx, r.attempt, r.id" if mode == "attempts" else "p.idx"  # the key's order: no sort
        query = f"{select}{join} WHERE p.sweep = ? ORDER BY {order}"
        rows = self._db.execute(query, (*lookups, sweep)).fetchall()
        columns = ("index", "commit", *params, *metrics, "status", "attempt", "duration")
        return columns, rows

    def _add_metric_columns(self, metrics: Iterable[str]) -> None:
        self._add_columns([_metric_column(name) for name in metrics], "REAL")

    def _param_columns(self, params: Sequence[str]) -> list[str]:
        columns = param_columns(params)
        with self._lock:
            self._add_columns(columns, "")
        return columns

    def _add_columns(self, columns: Iterable[str], kind: str) -> None:
        """Add the columns ``points`` lacks. SQLite names ignore case, and so does this comparison; another
        process may add the same column at the same time, which is fine."""
        missing = [c for c in columns if self._columns is None or c.casefold() not in self._columns]
        if not missing:
            return
        self._columns = {row[1].casefold() for row in self._db.execute("PRAGMA table_info(points)")}
        for column in missing:
            if column.casefold() not in self._columns:
                try:
                    self._db.execute(f"ALTER TABLE points ADD COLUMN {_quoted(column)} {kind}".rstrip())
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):
                        raise
                self._columns.add(column.casefold())

    def has_sweep(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM sweeps WHERE name = ?", (name,)).fetchone() is not None

    # runs -------------------------------------------------------------------------------------------
    def add_run(self, run: Run) -> int:
        """Record a run that is about to start; returns its id."""
        with self._transaction() as db:
            cursor = db.execute(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({_RUN_MARKS})", _run_values(run))
            run_id = int(cursor.lastrowid or 0)
            _point_to(db, run, run_id)
            return run_id

    def finish_run(self, run_id: int, run: Run, series: SeriesRows = ()) -> None:
        """Record the end of a run, its metrics and its series, in one transaction."""
        with self._transaction() as db:
            insert_series(db, run_id, series)
            db.execute(
                "UPDATE runs SET status = ?, exit_code = ?, reason = ?, ended = ?, duration = ? WHERE id = ?",
                (run.status, run.exit_code, run.reason, run.ended, run.duration, run_id),
            )
            _store_metrics(db, run, run_id)
            self._add_metric_columns(run.metrics)
            _point_to(db, run, run_id)

    def ingest(self, run: Run, series: SeriesRows = ()) -> bool:
        """Record a finished run found in a run directory unless it is already known; True if recorded."""
        with self._transaction() as db:
            row = db.execute("SELECT id, status FROM runs WHERE run_dir = ?", (run.run_dir,)).fetchone()
            if row is not None and row[1] in FINAL:
                return False
            if row is not None:  # a live run finishing right now: update it where it is, keeping its id
                run_id = int(row[0])
                names = _RUN_COLUMNS.split(", ")
                db.execute(
                    f"UPDATE runs SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
                    (*_run_values(run), run_id),
                )
            else:
                cursor = db.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({_RUN_MARKS})", _run_values(run)
                )
                run_id = int(cursor.lastrowid or 0)
            _store_metrics(db, run, run_id)
            insert_series(db, run_id, series)
            self._add_metric_columns(run.metrics)
            _point_to(db, run, run_id)
            return True

    def amend_run(self, run: Run) -> None:
        """Correct the final state of a stored run (found by its directory): the scheduler knew better."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, ended = ?, duration = ? WHERE run_dir = ?",
                (run.status, run.reason, run.ended, run.duration, run.run_dir),
            )

    def running(self, sweep: str) -> list[tuple[int, Run]]:
        """Runs still marked running: (id, run) of each."""
        rows = self._db.execute(
            f"SELECT id, {_RUN_COLUMNS} FROM runs WHERE sweep = ? AND status = 'running'", (sweep,)
        ).fetchall()
        return [(row[0], _run_from(row[1:])) for row in rows]

    def latest(self, sweep: str) -> dict[int, tuple[str, int]]:
        """For each point that has runs: (status, rerun) of its latest attempt."""
        rows = self._db.execute(
            f"SELECT idx, status, rerun FROM runs r WHERE sweep = ? AND {_LATEST.format('')}", (sweep,)
        )
        return {idx: (status, rerun) for idx, status, rerun in rows}

    def in_rerun(self, sweep: str, rerun: int) -> dict[int, str]:
        """For each point: the status of its latest attempt within rerun ``rerun``."""
        latest = _LATEST.format(" AND x.rerun = r.rerun")
        rows = self._db.execute(
            f"SELECT idx, status FROM runs r WHERE sweep = ? AND rerun = ? AND {latest}", (sweep, rerun)
        )
        return dict(rows.fetchall())

    def attempts(self, sweep: str) -> dict[int, int]:
        """The highest attempt number stored for each point of a sweep."""
        rows = self._db.execute("SELECT idx, MAX(attempt) FROM runs WHERE sweep = ? GROUP BY idx", (sweep,))
        return dict(rows.fetchall())

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
        rows = self._db.execute("SELECT * FROM jobs WHERE sweep = ? ORDER BY submitted", (sweep,)).fetchall()
        return [
            Job(job_id, scheduler, name, submission, tasks, chunk, submitted, bool(cancelled))
            for job_id, scheduler, name, submission, tasks, chunk, submitted, cancelled in rows
        ]

    def job_points(self, sweep: str) -> dict[int, tuple[str, int, float]]:
        """For each submitted point: (job id, task, submission time) of its latest submission."""
        rows = self._db.execute(
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

    def max_rerun(self, sweep: str) -> int:
        row = self._db.execute("SELECT MAX(rerun) FROM runs WHERE sweep = ?", (sweep,)).fetchone()
        return int(row[0] or 0)

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
        rows = self._db.execute(query + " ORDER BY idx, attempt, id", args).fetchall()
        metrics = self._metrics(sweep)
        return [RunRow(row[0], _run_from(row[1:], metrics.get(row[0], {}))) for row in rows]

    def _metrics(self, sweep: str) -> dict[int, dict[str, float]]:
        out: dict[int, dict[str, float]] = {}
        rows = self._db.execute(
            "SELECT m.run_id, m.name, m.value FROM metrics m JOIN runs r ON r.id = m.run_id "
            "WHERE r.sweep = ?",
            (sweep,),
        )
        for run_id, name, value in rows:
            out.setdefault(run_id, {})[name] = value
        return out

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query: the results layer's aggregates and pages (``gitgrid.results``)."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def forget_sweep(self, sweep: str) -> None:
        """Delete every row of ``sweep``: for an optimisation undone before it produced anything."""
        with self._transaction() as db:
            for table in ("runs", "jobs", "job_points", "sweep_metrics", "points"):
                db.execute(f"DELETE FROM {table} WHERE sweep = ?", (sweep,))
            db.execute("DELETE FROM sweeps WHERE name = ?", (sweep,))

    def points(self, sweep: str) -> dict[int, tuple[str, dict[str, Any]]]:
        """Each point of a sweep: (commit, params)."""
        rows = self._db.execute("SELECT idx, commit_id, params FROM points WHERE sweep = ?", (sweep,))
        return {idx: (commit, json.loads(params)) for idx, commit, params in rows}


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


def _store_metrics(db: sqlite3.Connection, run: Run, run_id: int) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?)", ((run_id, k, v) for k, v in run.metrics.items())
    )
    db.executemany("INSERT OR IGNORE INTO sweep_metrics VALUES (?, ?)", ((run.sweep, k) for k in run.metrics))


def _point_to(db: sqlite3.Connection, run: Run, run_id: int) -> None:
    """Keep the point's ``latest_run``, and ``success_run`` with a copy of its metrics, on its highest
    attempt, so that results are read from one row per point without searching runs or metrics."""
    newer = "({0} IS NULL OR {0} = ? OR (SELECT attempt FROM runs WHERE id = points.{0}) <= ?)"
    db.execute(
        f"UPDATE points SET latest_run = ? WHERE sweep = ? AND idx = ? AND {newer.format('latest_run')}",
        (run_id, run.sweep, run.index, run_id, run.attempt),
    )
    if run.status != "success":
        return
    names = [row[0] for row in db.execute("SELECT name FROM sweep_metrics WHERE sweep = ?", (run.sweep,))]
    copies = "".join(f", {_quoted(_metric_column(name))} = ?" for name in names)
    db.execute(
        f"UPDATE points SET success_run = ?{copies} "
        f"WHERE sweep = ? AND idx = ? AND {newer.format('success_run')}",
        (run_id, *(run.metrics.get(name) for name in names), run.sweep, run.index, run_id, run.attempt),
    )


def _metric_column(name: str) -> str:
    """The points-table column holding a metric of the point's success run (``m.<name>``)."""
    return f"m.{name}"


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


def _quoted(column: str) -> str:
    """A column name as an SQL identifier."""
    return '"' + column.replace('"', '""') + '"'


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
