"""Array jobs in the store: what was submitted, which task runs which point, what was cancelled."""

from __future__ import annotations

from collections.abc import Iterable

from gitgrid.store.database import Database
from gitgrid.store.record import Job

__all__ = ["Jobs"]


class Jobs:
    """The array jobs submitted for each sweep."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, job: Job, points: Iterable[tuple[int, int]]) -> None:
        """Record a submitted array job and which task runs which point ((task, index) pairs)."""
        values = (job.job_id, job.scheduler, job.sweep, job.submission, job.tasks, job.chunk, job.submitted)
        with self._db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, 0)", values)
            db.executemany(
                "INSERT INTO job_points VALUES (?, ?, ?, ?)",
                ((job.job_id, task, job.sweep, index) for task, index in points),
            )

    def submitted(self, sweep: str) -> list[Job]:
        """The sweep's jobs, oldest first."""
        rows = self._db.query("SELECT * FROM jobs WHERE sweep = ? ORDER BY submitted", (sweep,))
        return [
            Job(job_id, scheduler, name, submission, tasks, chunk, submitted, bool(cancelled))
            for job_id, scheduler, name, submission, tasks, chunk, submitted, cancelled in rows
        ]

    def tasks(self, sweep: str) -> dict[int, tuple[str, int, float]]:
        """For each submitted point: (job id, task, submission time) of its latest submission."""
        rows = self._db.query(
            "SELECT jp.idx, jp.job_id, jp.task, j.submitted FROM job_points jp "
            "JOIN jobs j ON j.job_id = jp.job_id AND j.sweep = jp.sweep "
            "WHERE jp.sweep = ? ORDER BY j.submitted",
            (sweep,),
        )
        return {idx: (job_id, task, submitted) for idx, job_id, task, submitted in rows}

    def mark_cancelled(self, sweep: str, job_ids: Iterable[str]) -> None:
        with self._db.transaction() as db:
            db.executemany(
                "UPDATE jobs SET cancelled = 1 WHERE sweep = ? AND job_id = ?",
                ((sweep, job_id) for job_id in job_ids),
            )
