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


def test_the_texts_of_a_point_row_are_those_of_json_dumps_and_csv_writer(tmp_path: Path) -> None:
    """The first look takes a fast path for numbers and whole params: it must give the texts the slow
    path gives, for every kind of value (and a point missing a param takes the slow path)."""
    from gitgrid.spec.values import Value, canonical_json
    from gitgrid.store.points import csv_cells, tsv_cells

    names = ("b", "a", "c")
    rows: list[tuple[Value, Value, Value]] = [
        (-0.0, 1e-05, 2**62), (1e16, -(2**63), 0.1 + 0.2), (True, 3, 5e-324), ("x,y", 'q"t', "tab\there"),
        (1.7976931348623157e308, False, "é"), (2**64, 1, 2.5),
    ]  # fmt: skip
    chosen = [PointRecord(i, f"{i:040x}", dict(zip(names, row, strict=True))) for i, row in enumerate(rows)]
    chosen.append(PointRecord(len(rows), f"{len(rows):040x}", {"a": 1.5, "b": 2}))  # "c" missing
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(Sweep("s", "b" * 40, "master", "1" * 40, len(chosen), names, "2026-01-01"), chosen)
    stored = stored_rows(store.path, "SELECT params, csv, tsv FROM points WHERE sweep = 's' ORDER BY idx")
    for point, (params, csv, tsv) in zip(chosen, stored, strict=True):
        values = [point.params.get(name) for name in names]
        values = [int(v) if isinstance(v, bool) else str(v) if isinstance(v, int) and v not in range(-(2**63), 2**63) else v
                  for v in values]  # fmt: skip
        assert (params, csv, tsv) == (canonical_json(point.params), csv_cells(values), tsv_cells(values))
