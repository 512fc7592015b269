"""A sweep's points in the store when its tip moves: a sweep that grew keeps its points and runs (gitgrid
optimize appends points), a replaced one keeps its old runs apart; forgetting a sweep leaves nothing."""

from __future__ import annotations

from pathlib import Path

from gitgrid.run.contract import Run
from gitgrid.store import Store
from gitgrid.sweep.record import PointRecord, Sweep
from tests.helpers import stored_rows


def sweep(tip: str, count: int) -> Sweep:
    return Sweep("s", "b" * 40, "master", tip, count, ("x",), "2026-01-01")


def points(count: int, prefix: str = "") -> list[PointRecord]:
    return [PointRecord(i, f"{prefix or '0'}{i:039x}", {"x": i / 2}) for i in range(count)]


def success(index: int, loss: float, commit: str) -> Run:
    run_dir = f"/runs/{index}/{commit[:6]}/attempt-1"
    return Run("s", index, commit, 1, "success", run_dir, started=1.0, ended=2.0, metrics={"loss": loss})


def table(store: Store) -> list[tuple[object, ...]]:
    return stored_rows(store.path, "SELECT idx, commit_id, state FROM points WHERE sweep = 's' ORDER BY idx")


def test_a_sweep_that_grew_keeps_its_points_and_runs(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 2), points(2))
    store.runs.ingest(success(0, 3.0, points(2)[0].commit))
    store.sweeps.sync(sweep("2" * 40, 4), points(4))
    assert [r[2] for r in table(store)] == ["success", None, None, None]
    assert stored_rows(store.path, "SELECT idx, value FROM point_metrics WHERE sweep = 's'") == [(0, 3.0)]
    assert stored_rows(store.path, "SELECT COUNT(*) FROM runs WHERE sweep = 's'") == [(1,)]


def test_a_replaced_sweep_keeps_its_old_runs_apart(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 2), points(2))
    store.runs.ingest(success(0, 3.0, points(2)[0].commit))
    store.sweeps.sync(sweep("2" * 40, 2), points(2, prefix="f"))
    assert [str(r[1])[:1] + str(r[1])[-1:] for r in table(store)] == ["f0", "f1"] and [
        r[2] for r in table(store)
    ] == [None] * 2
    assert stored_rows(store.path, "SELECT sweep FROM runs") == [(f"s@{'1' * 12}",)]
    assert stored_rows(store.path, "SELECT COUNT(*) FROM point_metrics") == [(0,)]


def test_a_forgotten_sweep_leaves_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 2), points(2))
    store.runs.ingest(success(0, 3.0, points(2)[0].commit))
    store.sweeps.forget("s")
    for name in ("sweeps", "points", "runs", "metrics", "point_metrics", "sweep_metrics"):
        assert stored_rows(store.path, f"SELECT COUNT(*) FROM {name}") == [(0,)], name
