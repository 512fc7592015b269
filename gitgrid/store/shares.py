"""The store's side of results that travel with git (``gitgrid push`` and ``pull``): which finished runs
are not in the local results notes yet, and runs pulled from notes, stored in bulk.

A run is *shared* once its record is in the local results notes; ``share_marks`` keeps the notes commit
the flags refer to (``exported``), so that flags left by notes that are gone (a deleted ref) can be reset.
``notes_read`` holds the note blobs whose every record is in the store (or was judged unusable), so a pull
reads only notes it has not read before. Pulled runs have no run directory; they are marked shared (they
are in the notes already); a record seen again is known by its run's identity (commit, attempt, host,
start: :attr:`gitgrid.store.record.Run.identity`), found through the index of each point's attempts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from math import isnan

from gitgrid.store.database import Database
from gitgrid.store.points import add_metric_names, runs_added
from gitgrid.store.record import FINAL, Identity, Run
from gitgrid.store.runs import RUN_FIELDS, run_from, run_values
from gitgrid.store.schema import metric_names

__all__ = ["SeriesOf", "Shares"]

_CHUNK = 500  # values per IN (...) list
_KEY = RUN_FIELDS.split(", ").index("run_key")
_INSERT_PULLED = (  # the duration's text made by SQLite as it is for every run (points.point_changed)
    f"INSERT INTO runs (id, {RUN_FIELDS}, metric_names, metric_texts, shared, duration_text) "
    f"VALUES ({', '.join('?' * (len(RUN_FIELDS.split(', ')) + 3))}, 1, "
    "gitgrid_duration_text(ROUND(?, 3)))"
)
_FINAL = ", ".join(f"'{status}'" for status in sorted(FINAL))
SeriesOf = tuple[str, int, Identity, list[tuple[str, int, float | None]]]  # sweep, index, run, its rows


class Shares:
    """Runs as the results notes see them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # pushing ----------------------------------------------------------------------------------------
    def unshared(self, sweep: str) -> Iterator[tuple[int, Run]]:
        """Finished runs of ``sweep`` not in the local results notes yet, with their metrics, in point
        order: (id, run) of each."""
        rows = self._db.stream(
            f"SELECT id, {RUN_FIELDS}, metric_names, metric_texts FROM runs INDEXED BY runs_unshared "
            f"WHERE sweep = ? AND shared = 0 AND status IN ({_FINAL}) ORDER BY idx, attempt, id",
            (sweep,),
        )
        for row in rows:
            yield row[0], run_from(row[1:-2], _metrics(row[-2], row[-1]))

    def unshared_sweeps(self) -> list[str]:
        """Sweeps (at their current tip) with finished runs not in the local results notes yet."""
        rows = self._db.query(
            f"SELECT DISTINCT r.sweep FROM runs r INDEXED BY runs_unshared JOIN sweeps s ON s.name = r.sweep "
            f"WHERE r.shared = 0 AND r.status IN ({_FINAL}) ORDER BY r.sweep"
        )
        return [sweep for (sweep,) in rows]

    def mark_shared(self, ids: Sequence[int], commit: str | None, read: Iterable[str] = ()) -> None:
        """Runs ``ids`` are in the notes of ``commit``, as is everything shared before; so is every record
        of the note blobs ``read``."""
        with self._db.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO notes_read VALUES (?)", ((blob,) for blob in read))
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                db.execute(f"UPDATE runs SET shared = 1 WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
            if commit is not None:
                db.execute("INSERT OR REPLACE INTO share_marks VALUES ('exported', ?)", (commit,))

    def exported(self) -> str | None:
        """The notes commit the shared flags refer to (None before the first push)."""
        value = self._db.value("SELECT value FROM share_marks WHERE name = 'exported'")
        return None if value is None else str(value)

    def unshare_all(self) -> None:
        """Forget what was shared: the notes it went into are gone, so every run goes in again."""
        with self._db.transaction() as db:
            db.execute("UPDATE runs SET shared = 0 WHERE shared = 1")
            db.execute("DELETE FROM share_marks WHERE name = 'exported'")
            db.execute("DELETE FROM notes_read")

    def commits(self, sweep: str, every: int = 1) -> dict[int, str]:
        """The commit of each point of ``sweep`` whose index is a multiple of ``every``."""
        rows = self._db.stream(
            "SELECT idx, commit_id FROM points WHERE sweep = ? AND idx % ? = 0", (sweep, every)
        )
        return {int(index): str(commit) for index, commit in rows}

    def points(self, sweep: str) -> dict[int, tuple[str, str | None]]:
        """Each point of ``sweep``: its commit and its commit's tree (None when the store has not kept
        it), by index. Pulled records are checked against the commits and keyed by the trees: what the
        store read from git once, never read again."""
        rows = self._db.stream("SELECT idx, commit_id, tree_id FROM points WHERE sweep = ?", (sweep,))
        return {int(index): (str(commit), tree or None) for index, commit, tree in rows}

    def series(self, sweep: str) -> Iterator[SeriesOf]:
        """The series of every finished run of ``sweep`` that has any: (sweep, index, the run's identity,
        its (name, step, value) rows), in point order."""
        rows = self._db.stream(
            "SELECT r.id, r.idx, r.commit_id, r.attempt, IFNULL(r.host, ''), r.started, s.name, s.step, "
            "s.value FROM runs r JOIN series s ON s.run_id = r.id "
            f"WHERE r.sweep = ? AND r.status IN ({_FINAL}) ORDER BY r.idx, r.id, s.name, s.step",
            (sweep,),
        )
        current: SeriesOf | None = None
        last = -1
        for run_id, index, commit, attempt, host, started, name, step, value in rows:
            if current is None or run_id != last:
                if current is not None:
                    yield current
                identity = (commit, attempt, host, None if started is None else float(started))
                current, last = (sweep, index, identity, []), run_id
            current[3].append((name, step, value))
        if current is not None:
            yield current

    def add_series(self, found: Sequence[SeriesOf]) -> int:
        """Store pulled series for the runs the store holds (by their identity) and has no series of;
        how many runs gained theirs."""
        stored = 0
        with self._db.transaction() as db:
            for sweep, index, identity, rows in found:
                candidates = db.execute(
                    "SELECT id, commit_id, attempt, IFNULL(host, ''), started FROM runs "
                    "INDEXED BY runs_point WHERE sweep = ? AND idx = ?",
                    (sweep, index),
                ).fetchall()
                ids = [
                    c[0]
                    for c in candidates
                    if (c[1], c[2], c[3], None if c[4] is None else float(c[4])) == identity
                ]
                if (
                    not ids
                    or db.execute("SELECT 1 FROM series WHERE run_id = ? LIMIT 1", (ids[0],)).fetchone()
                ):
                    continue
                db.executemany(
                    "INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?)", ((ids[0], *r) for r in rows)
                )
                stored += 1
        return stored

    # pulling ----------------------------------------------------------------------------------------
    def notes_read(self) -> set[str]:
        """Note blobs whose records are all in the store already."""
        return {str(blob) for (blob,) in self._db.stream("SELECT blob FROM notes_read")}

    def known(self, runs: Iterable[Run]) -> set[Identity]:
        """The identities, among those of ``runs``, of runs the store holds."""
        wanted: dict[str, set[int]] = {}
        for run in runs:
            wanted.setdefault(run.sweep, set()).add(run.index)
        found: set[Identity] = set()
        for sweep, indexes in wanted.items():
            ordered = sorted(indexes)
            for start in range(0, len(ordered), _CHUNK):
                chunk = ordered[start : start + _CHUNK]
                rows = self._db.query(
                    "SELECT commit_id, attempt, IFNULL(host, ''), started FROM runs INDEXED BY runs_point "
                    f"WHERE sweep = ? AND idx IN ({', '.join('?' * len(chunk))})",
                    (sweep, *chunk),
                )
                found.update((c, a, h, None if s is None else float(s)) for c, a, h, s in rows)
        return found

    def add_pulled(self, runs: Sequence[tuple[Run, str | None]], read: Iterable[str]) -> None:
        """Store pulled runs, each with its run key (checked by the caller, none known yet), and remember
        the note blobs ``read``, in one transaction; each point's pointers are then set once
        (:func:`~gitgrid.store.points.runs_added`)."""
        with self._db.transaction(bulk=True) as db:
            first = int(db.execute("SELECT IFNULL(MAX(id), 0) + 1 FROM runs").fetchone()[0])
            rows: list[tuple[object, ...]] = []
            metrics: list[tuple[int, str, float, str]] = []
            touched: dict[str, list[tuple[int, int, str]]] = {}
            names: dict[str, dict[str, None]] = {}
            listed: dict[tuple[str, tuple[str, ...]], str] = {}  # each sweep's lists of names, as text once
            for run_id, (run, key) in enumerate(runs, first):
                values = [float(v) for v in run.metrics.values()]
                texts = ["nan" if isnan(v) else repr(v) for v in values]  # number_text, inline
                metrics += zip(itertools.repeat(run_id), run.metrics, values, texts)
                row = run_values(run)
                if (names_text := listed.get((run.sweep, tuple(run.metrics)))) is None:
                    names_text = listed[run.sweep, tuple(run.metrics)] = metric_names(run.metrics)
                    names.setdefault(run.sweep, {}).update(dict.fromkeys(run.metrics))
                rows.append(
                    (run_id, *row[:_KEY], key, *row[_KEY + 1 :], names_text, ",".join(texts), run.duration)
                )
                touched.setdefault(run.sweep, []).append((run.index, run_id, run.status))
            db.executemany(_INSERT_PULLED, rows)
            db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)", metrics)
            for sweep, added in touched.items():
                add_metric_names(db, sweep, list(names[sweep]))
                runs_added(db, sweep, added)
            db.executemany("INSERT OR IGNORE INTO notes_read VALUES (?)", ((blob,) for blob in read))


def _metrics(names: str | None, texts: str | None) -> dict[str, float]:
    """A run's metrics from the one row the store keeps them in as well (``metric_names`` and
    ``metric_texts``: a JSON list and the values' texts, comma-separated)."""
    if not names or texts is None:
        return {}
    listed: list[str] = json.loads(names)
    return dict(zip(listed, (float(t) for t in texts.split(",")), strict=True)) if listed else {}
