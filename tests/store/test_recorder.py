"""A runner's writes: one store transaction per point (a start goes at once, an end with the next write),
and the points' pointers the lean write path keeps are those a full recomputation gives."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitgrid.run.contract import Run
from gitgrid.store import Recorder, Store
from gitgrid.sweep.record import PointRecord, Sweep
from tests.helpers import stored_rows

SWEEP = Sweep("s", "b" * 40, "master", "c" * 40, 4, ("x",), "2026-01-01")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(SWEEP, [PointRecord(i, f"{i:040x}", {"x": i}) for i in range(4)])
    yield store
    store.close()


def start(index: int, attempt: int = 1) -> Run:
    return Run(
        "s", index, f"{index:040x}", attempt, "running", f"/runs/{index}/attempt-{attempt}", started=1.0
    )


def points(store: Store) -> list[tuple[object, ...]]:
    sql = "SELECT idx, latest_run, success_run, state FROM points ORDER BY idx"
    return stored_rows(store.path, sql) + stored_rows(
        store.path, "SELECT sweep, idx, name, value FROM point_metrics ORDER BY idx, name"
    )


class Commits:
    """Whether another connection committed since the last look (SQLite's ``PRAGMA data_version``)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.last = self.version()

    def version(self) -> int:
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def happened(self) -> bool:
        now = self.version()
        changed, self.last = now != self.last, now
        return changed


def test_one_write_per_point(store: Store) -> None:
    recorder, commits = Recorder(store.runs), Commits(store.path)
    for index in range(4):
        run_id = recorder.started(start(index))
        assert commits.happened(), "a start is stored at once, before meta.json says running"
        recorder.ended(run_id, start(index).ending("success", exit_code=0, metrics={"loss": index / 2}))
        assert not commits.happened(), "an end waits for the next write"
    states = stored_rows(store.path, "SELECT state FROM points ORDER BY idx")
    assert states == [("success",)] * 3 + [("running",)], "each end went with the next start"
    recorder.flush()
    assert commits.happened()
    assert stored_rows(store.path, "SELECT state, COUNT(*) FROM points GROUP BY state") == [("success", 4)]
    recorder.flush()
    assert not commits.happened(), "nothing waiting: no write"


def test_ends_a_refused_write_held_are_written_next_time(store: Store) -> None:
    recorder = Recorder(store.runs)
    run_id = recorder.started(start(0))
    recorder.ended(run_id, start(0).ending("failed", exit_code=1, reason="exit status 1"))
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the store
    with store.waiting(0.1), pytest.raises(Exception, match="locked"):
        recorder.flush()
    holder.execute("ROLLBACK")
    recorder.flush()
    assert stored_rows(store.path, "SELECT status FROM runs") == [("failed",)]


def test_the_lean_path_keeps_the_pointers_a_recomputation_gives(store: Store, tmp_path: Path) -> None:
    """The same attempts written by the runner's path (start, then end) and collected (one ingest each,
    which recomputes a point from its runs) leave the same points and point metrics."""
    other = Store.open(tmp_path / "other.db")
    other.sweeps.sync(SWEEP, [PointRecord(i, f"{i:040x}", {"x": i}) for i in range(4)])
    recorder = Recorder(store.runs)
    outcomes = [(0, "success", 1.0), (0, "failed", None), (1, "failed", None), (1, "success", 2.0)]
    outcomes += [(0, "success", 0.5), (2, "timeout", None), (1, "interrupted", None)]
    attempts: dict[int, int] = {}
    for index, status, loss in outcomes:
        attempts[index] = attempts.get(index, 0) + 1
        run = start(index, attempts[index])
        ended = run.ending(status, metrics={} if loss is None else {"loss": loss})
        recorder.ended(recorder.started(run), ended)
        other.runs.ingest(ended)
    recorder.flush()
    assert points(store) == points(other)
    assert stored_rows(store.path, "SELECT idx, state FROM points") == [
        (0, "success"), (1, "interrupted"), (2, "timeout"), (3, None),
    ]  # fmt: skip
    other.close()


def test_a_start_older_than_the_latest_attempt_leaves_the_latest(store: Store) -> None:
    """A hand-made run directory numbered past the runner's attempts stays the point's latest."""
    store.runs.ingest(start(0, 5).ending("success", metrics={"loss": 1.0}))
    recorder = Recorder(store.runs)
    run_id = recorder.started(start(0, 3))
    recorder.ended(run_id, start(0, 3).ending("failed"))
    recorder.flush()
    assert stored_rows(store.path, "SELECT state FROM points WHERE idx = 0") == [("success",)]
