"""The store's tables, opening a store file safely, and the migrations (schema 1 to 2, 2 to 3, 3 to 4,
4 to 5).

A store is created whole (schema written to a temporary file, then linked into place), so a store file
that is empty, too short, not SQLite, or lacks a table was damaged after gitgrid wrote it: opening it is
an error that says how to rebuild it, never a silent fresh start (which would rerun every point).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from gitgrid.errors import StoreError
from gitgrid.store.guard import damaged, translated

__all__ = ["SCHEMA_VERSION", "TABLES", "connect", "duration_text", "metric_names", "number_text"]

SCHEMA_VERSION = 5
_MAGIC = b"SQLite format 3\x00"
TABLES = frozenset(
    {"sweeps", "points", "sweep_metrics", "point_metrics", "runs", "metrics", "series", "jobs", "job_points"}
    | {"scans", "pending", "share_marks", "notes_read", "stages"}
)
# Schema 2. `points` gains one typed column per param name (added as sweeps need them); metrics are rows,
# never columns, so a result may have any number of them.
_TABLES = """
CREATE TABLE sweeps (
    name TEXT PRIMARY KEY, base TEXT NOT NULL, tip TEXT NOT NULL, count INTEGER NOT NULL,
    params TEXT NOT NULL, columns TEXT NOT NULL, kinds TEXT NOT NULL, created TEXT
);
CREATE TABLE points (
    sweep TEXT NOT NULL, idx INTEGER NOT NULL, commit_id TEXT NOT NULL, params TEXT NOT NULL,
    csv TEXT NOT NULL, tsv TEXT NOT NULL, latest_run INTEGER, success_run INTEGER, state TEXT,
    PRIMARY KEY (sweep, idx)
);
CREATE INDEX points_state ON points (sweep, state);
CREATE TABLE sweep_metrics (
    sweep TEXT NOT NULL, name TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (sweep, name)
) WITHOUT ROWID;
CREATE TABLE point_metrics (
    sweep TEXT NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (sweep, idx, name)
) WITHOUT ROWID;
CREATE INDEX point_metrics_value ON point_metrics (sweep, name, value);
CREATE TABLE scans (
    root TEXT NOT NULL, sweep TEXT NOT NULL, mark INTEGER NOT NULL, PRIMARY KEY (root, sweep)
) WITHOUT ROWID;
CREATE TABLE pending (
    run_dir TEXT PRIMARY KEY, sweep TEXT NOT NULL, idx INTEGER NOT NULL
) WITHOUT ROWID;
"""
_KEPT = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, sweep TEXT NOT NULL, idx INTEGER NOT NULL, commit_id TEXT NOT NULL,
    attempt INTEGER NOT NULL, rerun INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
    exit_code INTEGER, reason TEXT, started REAL, ended REAL, duration REAL, host TEXT, run_dir TEXT,
    pid INTEGER, job TEXT, duration_text TEXT, metric_names TEXT, metric_texts TEXT
);
CREATE INDEX IF NOT EXISTS runs_point ON runs (sweep, idx, attempt);
CREATE UNIQUE INDEX IF NOT EXISTS runs_dir ON runs (run_dir);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, name TEXT NOT NULL, value REAL,
    text TEXT, PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, name TEXT NOT NULL,
    step INTEGER NOT NULL, value REAL, PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT NOT NULL, scheduler TEXT NOT NULL, sweep TEXT NOT NULL, submission TEXT NOT NULL,
    tasks INTEGER NOT NULL, chunk INTEGER NOT NULL, submitted REAL NOT NULL, cancelled INTEGER DEFAULT 0,
    PRIMARY KEY (scheduler, job_id)
);
CREATE TABLE IF NOT EXISTS job_points (
    job_id TEXT NOT NULL, task INTEGER NOT NULL, sweep TEXT NOT NULL, idx INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_points_point ON job_points (sweep, idx);
CREATE INDEX IF NOT EXISTS runs_rerun ON runs (sweep, rerun);
CREATE INDEX IF NOT EXISTS runs_open ON runs (sweep) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS runs_noted ON runs (sweep, idx) WHERE status = 'success' AND reason IS NOT NULL;
"""
# Schema 1 kept a copy of each metric as a column of `points` ("m.<name>"), which bounded the number
# of metrics by SQLite's column limit. Its runs, metrics and jobs carry over (each metric gains its text
# as Python writes it; schema 1 kept NaN as null too); its points and sweeps are derived data (from git
# and the runs), rebuilt when each sweep is next used.
_FROM_1 = """
DROP TABLE points; DROP TABLE sweeps; DROP TABLE sweep_metrics;
ALTER TABLE metrics ADD COLUMN text TEXT; UPDATE metrics SET text = gitgrid_number_text(value);
ALTER TABLE runs ADD COLUMN duration_text TEXT;
UPDATE runs SET duration_text = gitgrid_duration_text(ROUND(duration, 3));
ALTER TABLE runs ADD COLUMN metric_names TEXT; ALTER TABLE runs ADD COLUMN metric_texts TEXT;
"""


# Schema 3 (issue 19: results travel with git, nothing is computed twice). Each run gains its recipe and
# run key (reuse looks keys up among successful runs), the run it reuses (if it does), and whether it
# is in the local results notes yet (`shared`); each point its commit's tree id (for its runs' keys,
# read with its commit). `share_marks` keeps the notes commit the shared flags refer to, `notes_read`
# the note blobs whose records are all in the store. A run's `run_dir` is null when it has none
# (pulled, reused): its index leaves those out.
_COLUMNS_3 = """
ALTER TABLE runs ADD COLUMN recipe TEXT;
ALTER TABLE runs ADD COLUMN run_key TEXT; ALTER TABLE runs ADD COLUMN reused_sweep TEXT;
ALTER TABLE runs ADD COLUMN reused_index INTEGER; ALTER TABLE points ADD COLUMN tree_id TEXT;
ALTER TABLE runs ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
"""
_TABLES_3 = """
DROP INDEX runs_dir; CREATE UNIQUE INDEX runs_dir ON runs (run_dir) WHERE run_dir IS NOT NULL;
CREATE INDEX runs_key ON runs (run_key) WHERE status = 'success';
CREATE INDEX runs_unshared ON runs (sweep) WHERE shared = 0;
CREATE TABLE share_marks (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE notes_read (blob TEXT PRIMARY KEY) WITHOUT ROWID;
"""
# Schema 4 (issue 22, stages): the analyses of a sweep ("stages", `gitgrid analyze`) and, for each run of a
# stage's records, the simulation run it read and the analysis (code and command) it ran; null for the
# runs of simulations, which is what every run of schema 3 is.
_STAGES = """
ALTER TABLE runs ADD COLUMN reads TEXT; ALTER TABLE runs ADD COLUMN analysis TEXT;
CREATE TABLE stages (
    sweep TEXT NOT NULL, stage TEXT NOT NULL, every INTEGER NOT NULL, command TEXT NOT NULL,
    code_ref TEXT, uses TEXT NOT NULL, analysis TEXT NOT NULL, code TEXT NOT NULL, dirty INTEGER NOT NULL,
    position INTEGER NOT NULL, PRIMARY KEY (sweep, stage)
) WITHOUT ROWID;
"""
# Schema 5 (issue 19, a fully reused sweep in the time of `status`): the run-key index holds only the runs
# that ran (a reused run is never a source: `Reuse.sources` skipped it), and holds each one's sweep and
# point, so a key lookup reads the index alone (its status and reused_sweep, constant, are columns too:
# SQLite 3.40 counts an index as covering only when it holds every column the query names). A reused
# run is written into a small index of its own sweep's reused runs instead, by the point it copies
# (appended in order when a sweep reuses another's points in turn), which is all a sweep asks of them:
# whether it has used a source already (one probe per source found). Writing 100,000 reused runs no
# longer inserts 100,000 random keys into the index of every key the store holds (docs/performance.md).
_REUSE_5 = """
DROP INDEX IF EXISTS runs_key; DROP INDEX IF EXISTS runs_reused;
CREATE INDEX runs_key ON runs (run_key, sweep, idx, status, reused_sweep)
    WHERE status = 'success' AND reused_sweep IS NULL;
CREATE INDEX runs_reused ON runs (sweep, reused_sweep, reused_index)
    WHERE status = 'success' AND reused_sweep IS NOT NULL;
"""


def number_text(value: float | None) -> str:
    """A metric as CSV, TSV and JSON write it: Python's ``repr`` of the float; null is NaN."""
    return "nan" if value is None else repr(float(value))


def duration_text(value: float | None) -> str | None:
    """A run's duration (rounded to the millisecond by SQLite) as Python writes it."""
    return None if value is None else repr(float(value))


def connect(path: Path, timeout: float, readonly: bool = False) -> sqlite3.Connection:
    """Open the store at ``path``, creating it whole on first use and migrating a schema-1 store.

    ``readonly`` (the report and the dashboard) never writes: no creation, no migration, and SQLite is
    told to refuse writes (``PRAGMA query_only``); the same checks for damage and newer schemas apply.
    """
    if not path.exists() and not readonly:
        _create(path)
    _check_file(path)
    with translated(path):
        db = sqlite3.connect(_address(path, readonly), timeout=timeout, check_same_thread=False,
                             isolation_level=None, uri=True)  # fmt: skip
        db.create_function("gitgrid_number_text", 1, number_text, deterministic=True)
        db.create_function("gitgrid_duration_text", 1, duration_text, deterministic=True)
        try:
            if readonly:
                db.execute("PRAGMA query_only=ON")
            _prepare(db, path, readonly)
        except BaseException:
            db.close()
            raise
    return db


def _address(path: Path, readonly: bool) -> str:
    """The store's SQLite URI. Read-only where nothing can be written (an archived or snapshot repository,
    a read-only mount): SQLite cannot open a WAL database there unless told it never changes
    (``immutable``); what an unfinished writer left in the WAL is then not seen."""
    uri = path.absolute().as_uri()
    if readonly and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        return f"{uri}?immutable=1"
    return uri


def _prepare(db: sqlite3.Connection, path: Path, readonly: bool) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by a newer gitgrid (store schema {version}, this gitgrid knows "
            f"{SCHEMA_VERSION}); upgrade gitgrid to read it"
        )
    if version == 0:
        raise damaged(path, "it holds no gitgrid tables")
    if readonly and version < SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by an older gitgrid (store schema {version}); any command that writes "
            "(e.g. 'gitgrid status') upgrades it, then read it here"
        )
    if not readonly:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    if version < SCHEMA_VERSION:
        _migrate(db)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if missing := sorted(TABLES - tables):
        raise damaged(path, f"table {missing[0]} is missing")


def _create(path: Path) -> None:
    """Write a new store beside ``path`` and link it into place (unless another process just did)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    temporary.unlink(missing_ok=True)
    try:
        with translated(path):
            db = sqlite3.connect(temporary, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                script = f"{_TABLES} {_KEPT} {_COLUMNS_3} {_TABLES_3} {_STAGES} {_REUSE_5}"
                db.executescript(f"BEGIN; {script} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            finally:
                db.close()
        with suppress(FileExistsError):  # created meanwhile by another gitgrid: use that one
            os.link(temporary, path)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the results store: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _check_file(path: Path) -> None:
    try:
        with path.open("rb") as file:
            head = file.read(100)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the results store: {exc.strerror}") from None
    if not head:
        raise damaged(path, "it is empty (0 bytes)")
    if not head.startswith(_MAGIC) or len(head) < 100:
        raise damaged(path, "it is not an SQLite database")


def _metric_lines(db: sqlite3.Connection) -> None:
    """Each run's metric names and texts in one row (see ``points.store_metrics``), for schema-1 runs."""
    rows = db.execute("SELECT run_id, name, text FROM metrics ORDER BY run_id, name").fetchall()
    runs: dict[int, list[tuple[str, str]]] = {}
    for run_id, name, text in rows:
        runs.setdefault(run_id, []).append((name, text))
    db.executemany(
        "UPDATE runs SET metric_names = ?, metric_texts = ? WHERE id = ?",
        ((metric_names(n for n, _ in m), ",".join(t for _, t in m), run_id) for run_id, m in runs.items()),
    )


def metric_names(names: Iterable[str]) -> str:
    """A list of metric names as one text that no other list shares (JSON)."""
    return json.dumps(list(names), ensure_ascii=False)


def _migrate(db: sqlite3.Connection) -> None:
    """Each step from the store's schema to this one (1 to 2, 2 to 3, 3 to 4, 4 to 5), in one transaction
    (another process may be doing the same: the first one wins). Schema 2's runs stay unshared, with no
    recipe or key: they are never reused, and go into the results notes at the next ``gitgrid push``."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == 1:
            _script(db, f"{_FROM_1} {_TABLES} {_KEPT}")
            _metric_lines(db)
        if version in (1, 2):
            _script(db, f"{_COLUMNS_3} {_TABLES_3}")
        if version in (1, 2, 3):
            _script(db, _STAGES)  # 3 to 4: stages (issue 22)
        if version in (1, 2, 3, 4):
            _script(db, _REUSE_5)  # 4 to 5: the run-key index without reused runs, and covering
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _script(db: sqlite3.Connection, script: str) -> None:
    """Statements one by one inside the caller's transaction (``executescript`` would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
