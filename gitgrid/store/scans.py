"""What collecting has seen: when each runs root's folder of a sweep was last scanned, the attempt
folders made elsewhere that wait to be collected, and what the store holds of the point folders a
scan finds (so an unchanged folder is not read again)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from gitgrid.store.database import Database

__all__ = ["Scans"]


class Scans:
    """Collecting's memory of run directories."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def mark(self, root: Path, sweep: str) -> int | None:
        """The newest modification time (ns) seen when ``root``'s folder of ``sweep`` was last scanned."""
        mark = self._db.value("SELECT mark FROM scans WHERE root = ? AND sweep = ?", (str(root), sweep))
        return None if mark is None else int(mark)

    def set_mark(self, root: Path, sweep: str, mark: int) -> None:
        with self._db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO scans VALUES (?, ?, ?)", (str(root), sweep, mark))

    def add_pending(self, attempts: Iterable[tuple[str, str, int]]) -> None:
        """Remember attempt folders made elsewhere ((run directory, sweep, point index): by ``gitgrid
        prepare``, or found unfinished) until their runs are collected."""
        with self._db.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO pending VALUES (?, ?, ?)", attempts)

    def drop_pending(self, run_dir: str) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM pending WHERE run_dir = ?", (run_dir,))

    def pending(self, sweep: str) -> list[tuple[str, int]]:
        """Attempt folders of ``sweep`` waiting to be collected: (run directory, point index)."""
        rows = self._db.query("SELECT run_dir, idx FROM pending WHERE sweep = ?", (sweep,))
        return [(run_dir, index) for run_dir, index in rows]

    def latest_runs(
        self, sweep: str, indexes: Sequence[int]
    ) -> dict[int, tuple[str, str | None, float | None]]:
        """For each of the points ``indexes`` the store lists: its commit, and the run directory and
        start time of its latest run (None when it has none)."""
        marks = ", ".join("?" * len(indexes))
        rows = self._db.query(
            "SELECT p.idx, p.commit_id, r.run_dir, r.started FROM points p "
            f"LEFT JOIN runs r ON r.id = p.latest_run WHERE p.sweep = ? AND p.idx IN ({marks})",
            (sweep, *indexes),
        )
        return {index: (commit, run_dir, started) for index, commit, run_dir, started in rows}
