"""What the report's views ask of the store: aggregates, pages of points, changed points, series, one
point's attempts (shaped into pages and JSON by :mod:`gitgrid.query.views`).

Every query reads a page or an aggregate at a time, never a whole table, so the dashboard stays fast
with 10^5-10^6 points: counts are ``GROUP BY``s, points come in pages by index (a keyset), changes are
asked by run id, and series per run through the ``series`` table's key. A point's row is the one
``gitgrid results --all`` shows: its latest successful attempt, else its latest attempt.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from gitgrid.store.database import Database
from gitgrid.store.points import param_columns, quoted
from gitgrid.sweep.record import Sweep

__all__ = ["Changed", "Views"]

_CHUNK = 500  # run ids per IN (...) list
_SHOWN = "COALESCE(p.success_run, p.latest_run)"
_ATTEMPT_FIELDS = (
    "id", "attempt", "rerun", "status", "exit_code", "reason", "started", "ended", "duration", "host",
    "run_dir", "job",
)  # fmt: skip

Changed = tuple[int, Sequence[int]]  # points whose runs changed since (run id cursor, runs seen running)


class Views:
    """The report's and dashboard's questions, each one query or a few."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def states(self, sweep: str) -> dict[str, int]:
        """How many points have a latest attempt of each status (never-run points are not counted)."""
        rows = self._db.query(
            "SELECT r.status, COUNT(*) FROM points p JOIN runs r ON r.id = p.latest_run "
            "WHERE p.sweep = ? GROUP BY r.status",
            (sweep,),
        )
        return {status: int(count) for status, count in rows}

    def extreme(self, sweep: str, metric: str, maximize: bool) -> float | None:
        """The smallest (or largest) value of ``metric`` among the points' latest successful runs."""
        aggregate = "MAX" if maximize else "MIN"
        value = self._db.value(
            f"SELECT {aggregate}(value) FROM point_metrics WHERE sweep = ? AND name = ?", (sweep, metric)
        )
        return None if value is None else float(value)

    def time_spent(self, sweep: str) -> float:
        """Seconds of every run's duration, summed."""
        return float(self._db.value("SELECT TOTAL(duration) FROM runs WHERE sweep = ?", (sweep,)))

    def durations(self, sweep: str) -> dict[str, float | None]:
        """Min, median and max duration of the points' shown runs, by SQL's ORDER BY and OFFSET."""
        shown = f"SELECT r.duration FROM points p JOIN runs r ON r.id = {_SHOWN} "
        where = "WHERE p.sweep = ? AND r.duration IS NOT NULL"
        n = self._db.value(f"SELECT COUNT(*) FROM ({shown}{where})", (sweep,))
        if not n:
            return {"min": None, "median": None, "max": None}
        ordered = f"{shown}{where} ORDER BY r.duration LIMIT 1 OFFSET ?"
        pick = [self._db.value(ordered, (sweep, k)) for k in (0, n // 2, n - 1)]
        return dict(zip(("min", "median", "max"), pick, strict=True))

    def point_rows(
        self,
        sweep: Sweep,
        metrics: Sequence[str],
        after: int = -1,
        limit: int = 20000,
        changed: Changed | None = None,
        staged: Mapping[str, tuple[str, str]] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Up to ``limit`` points with an index above ``after``, in index order (a keyset page): index,
        commit, status, attempt, duration and id of the shown run, the params, then ``metrics``
        (``staged`` maps a stage's metric, ``STAGE.METRIC``, to its records and its own name).
        ``changed``: only points whose shown or latest run is newer than the cursor or was running."""
        params = "".join(f", p.{quoted(c)}" for c in param_columns(sweep.params))
        metric = ", (SELECT value FROM point_metrics m WHERE m.sweep = ? AND m.idx = p.idx AND m.name = ?)"
        sources = [(staged or {}).get(name, (sweep.name, name)) for name in metrics]
        args: list[Any] = [*(part for source in sources for part in source), sweep.name, after]
        where = ""
        if changed is not None:
            cursor, watched = changed
            marks = ", ".join("?" * len(watched))
            running = f" OR p.latest_run IN ({marks})" if watched else ""
            where = f"AND (p.latest_run > ? OR p.success_run > ?{running})"
            args += [cursor, cursor, *watched]
        query = (
            f"SELECT p.idx, p.commit_id, r.status, r.attempt, r.duration, r.id{params}"
            f"{metric * len(metrics)} FROM points p LEFT JOIN runs r ON r.id = {_SHOWN} "
            f"WHERE p.sweep = ? AND p.idx > ? {where} ORDER BY p.idx LIMIT ?"
        )
        return self._db.query(query, (*args, limit))

    def last_run(self) -> int:
        """The highest run id in the store (0 when empty): where a live page's cursor stands."""
        return int(self._db.value("SELECT COALESCE(MAX(id), 0) FROM runs"))

    def running(self, sweep: str) -> list[int]:
        """The ids of the sweep's runs marked running."""
        rows = self._db.query("SELECT id FROM runs WHERE sweep = ? AND status = 'running'", (sweep,))
        return [int(run_id) for (run_id,) in rows]

    def still_running(self, runs: Sequence[int]) -> list[tuple[int, str]]:
        """Those of ``runs`` still marked running, with their run directories."""
        found = []
        for chunk in _chunks(runs):
            marks = ", ".join("?" * len(chunk))
            found += self._db.query(
                f"SELECT id, run_dir FROM runs WHERE status = 'running' AND id IN ({marks})", chunk
            )
        return [(int(run_id), run_dir) for run_id, run_dir in found]

    def running_dirs(self, runs: Sequence[int], limit: int) -> list[tuple[int, str, str, int]]:
        """Up to ``limit`` of ``runs`` still marked running, with where they are: run directory, sweep
        and point index (a path from the store is used only once checked against them, #17)."""
        found: list[tuple[int, str, str, int]] = []
        for chunk in _chunks(runs):
            marks = ", ".join("?" * len(chunk))
            found += self._db.query(
                f"SELECT id, run_dir, sweep, idx FROM runs WHERE status = 'running' AND id IN ({marks}) "
                "ORDER BY id LIMIT ?",
                (*chunk, limit - len(found)),
            )
            if len(found) >= limit:
                break
        return found

    def shown_runs(self, sweep: str) -> list[int]:
        """The run each point of the sweep is shown with (its latest success, else its latest attempt)."""
        rows = self._db.query(
            "SELECT COALESCE(success_run, latest_run) FROM points WHERE sweep = ? ORDER BY idx", (sweep,)
        )
        return [int(run_id) for (run_id,) in rows if run_id is not None]

    def series_names(self, sweep: str, sample: int = 1000) -> list[str]:
        """Names of the series the sweep's runs reported (read from its latest ``sample`` runs)."""
        rows = self._db.query(
            "SELECT DISTINCT name FROM series WHERE run_id IN "
            "(SELECT id FROM runs WHERE sweep = ? ORDER BY id DESC LIMIT ?) ORDER BY name",
            (sweep, sample),
        )
        return [name for (name,) in rows]

    def series(self, runs: Sequence[int], name: str) -> Iterator[tuple[int, int, float | None]]:
        """(run id, step, value) of the series ``name`` of each of ``runs``, by run and step."""
        for chunk in _chunks(runs):
            marks = ", ".join("?" * len(chunk))
            yield from self._db.query(
                f"SELECT run_id, step, value FROM series WHERE name = ? AND run_id IN ({marks}) "
                "ORDER BY run_id, step",
                (name, *chunk),
            )

    def stage_runs(self, stage: str, runs: Sequence[int]) -> dict[int, int]:
        """For each of ``runs``, the run its point is shown with in the records of stage ``stage`` of the
        run's sweep (its latest successful run of the stage, else its latest): a stage's series drawn as
        its point's."""
        found: dict[int, int] = {}
        for chunk in _chunks(runs):
            marks = ", ".join("?" * len(chunk))
            found.update(
                self._db.query(
                    "SELECT r.id, COALESCE(q.success_run, q.latest_run) FROM runs r JOIN points q "
                    f"ON q.sweep = r.sweep || ':' || ? AND q.idx = r.idx WHERE r.id IN ({marks}) "
                    "AND COALESCE(q.success_run, q.latest_run) IS NOT NULL",
                    (stage, *chunk),
                )
            )
        return found

    def attempts(self, sweep: str, index: int) -> list[dict[str, Any]]:
        """Every attempt at one point, oldest first, as the point view lists them."""
        names = _ATTEMPT_FIELDS
        rows = self._db.query(
            f"SELECT {', '.join(names)} FROM runs WHERE sweep = ? AND idx = ? ORDER BY attempt, started, id",
            (sweep, index),
        )
        return [dict(zip(names, row, strict=True)) for row in rows]


def _chunks(runs: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(runs), _CHUNK):
        yield list(runs[start : start + _CHUNK])
