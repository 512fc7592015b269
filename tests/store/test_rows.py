"""Result rows from SQL give the rows the Python code before issue 10 gave (filter, sort, best, every mode),
and their CSV and TSV lines, made by SQLite, are what Python's writers write."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from gitgrid.errors import SpecError
from gitgrid.run.contract import Run
from gitgrid.spec.expression import ExpressionError, compile_expression
from gitgrid.store import Store
from gitgrid.store.rows import NAN, ResultQuery
from gitgrid.sweep.record import PointRecord, Sweep

PARAMS = ("a", "b", "tag")
SWEEP = Sweep("s", "b" * 40, "master", "c" * 40, 12, PARAMS, "2026-01-01")


def point(index: int) -> PointRecord:
    tag = ["x", "y,z", 'q"t', "tab\there"][index % 4]
    return PointRecord(
        index, f"{index:040x}", {"a": index % 3, "b": [0.5, 0.1 + 0.2, -1e-05][index % 3], "tag": tag}
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """12 points: successes with a NaN, a missing and a tied metric, a failure, reruns, never-run ones."""
    store = Store.open(tmp_path_factory.mktemp("store") / "results.db")
    store.sweeps.sync(SWEEP, (point(i) for i in range(12)))
    losses: dict[int, float | None] = {
        0: 3.0,
        1: float("nan"),
        2: 3.0,
        3: None,
        4: -1.0,
        5: 7.5,
        6: 0.1 + 0.2,
    }
    for index, loss in losses.items():
        metrics = {"zeta": float(index)} | ({} if loss is None else {"loss": loss})
        store.runs.ingest(run(index, 1, "success", metrics))
    store.runs.ingest(run(7, 1, "failed", {}))
    store.runs.ingest(run(0, 2, "success", {"zeta": 9.0, "loss": 2.0}, rerun=1))
    store.runs.ingest(run(4, 2, "timeout", {}, rerun=1))
    return store


def run(index: int, attempt: int, status: str, metrics: dict[str, float], rerun: int = 0) -> Run:
    return Run(
        "s", index, f"{index:040x}", attempt, status, f"/runs/{index}/attempt-{attempt}", rerun=rerun,
        started=100.0 + index, ended=101.25 + index + attempt / 3, metrics=metrics, reason=None,
    )  # fmt: skip


def rows(store: Store, **query: Any) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    found = store.results.rows(store.sweeps.info("s"), ResultQuery(**query))
    return found.columns, list(found.rows)


def old(
    store: Store, mode: str, where: str | None, sort: str | None, desc: bool, best: int | None
) -> list[Any]:
    """The rows as gitgrid computed them before issue 10: all of them, then filtered and sorted in Python
    (NaN came out of the store as None then)."""
    columns, table = rows(store, mode=mode)
    table = [tuple(None if v == NAN else v for v in row) for row in table]
    if where:
        condition = compile_expression(where, columns[2:])
        kept = []
        for row in table:
            try:
                if condition(dict(zip(columns, row, strict=True))):
                    kept.append(row)
            except ExpressionError:
                continue
        table = kept
    if sort:
        column = columns.index(sort)

        def missing(row: Sequence[Any]) -> bool:
            return row[column] is None or (isinstance(row[column], float) and math.isnan(row[column]))

        present = [r for r in table if not missing(r)]
        absent = [r for r in table if missing(r)]
        key = lambda r: (isinstance(r[column], str), r[column])  # noqa: E731
        table = sorted(present, key=key, reverse=desc) + absent
    return table[:best] if best is not None else table


@pytest.mark.parametrize("mode", ["success", "all", "attempts"])
@pytest.mark.parametrize(
    ("where", "sort", "desc", "best"),
    [
        (None, None, False, None),
        (None, "loss", False, None),
        (None, "loss", True, None),
        (None, "loss", False, 2),
        (None, "loss", True, 3),
        (None, "loss", False, 6),  # past the rows that have a value: the NaN and missing ones follow
        (None, "zeta", True, None),
        (None, "tag", False, None),
        (None, "b", True, 4),
        (None, "status", False, None),
        (None, "attempt", True, None),
        (None, "duration_s", False, None),
        ("loss > 2 or a == 1", None, False, None),
        ("loss > 2 or a == 1", "loss", True, 2),
        ("tag < 'y' and b < 1", "zeta", False, None),
        ("status != 'success'", "index", True, None),
        ("loss != 3", "loss", False, None),
        ("a // 2 == 0 and zeta >= 1", "loss", False, None),  # evaluated by Python inside SQLite
    ],
)
def test_rows_are_those_python_gave(
    store: Store, mode: str, where: str | None, sort: str | None, desc: bool, best: int | None
) -> None:
    _, table = rows(store, mode=mode, where=where, sort=sort, descending=desc, limit=best)
    expected = old(store, mode, where, sort, desc, best)
    assert [tuple(None if v == NAN else v for v in row) for row in table] == expected


def test_columns_and_values(store: Store) -> None:
    columns, table = rows(store, mode="all")
    assert columns == ("index", "commit", *PARAMS, "zeta", "loss", "status", "attempt", "duration_s", "rerun")
    by_index = {row[0]: row for row in table}
    assert by_index[1][6] == NAN and by_index[3][6] is None  # NaN and missing stay apart
    assert by_index[0][5:] == (9.0, 2.0, "success", 2, 1.917, 1)
    assert by_index[4][7:9] == ("success", 1)  # its rerun timed out: the earlier success is shown
    assert by_index[9][5:] == (None, None, "never run", None, None, None)


@pytest.mark.parametrize("mode", ["success", "all", "attempts"])
@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_lines_made_by_sqlite_are_what_python_writes(store: Store, mode: str, fmt: str) -> None:
    _, table = rows(store, mode=mode, sort="loss")
    _, lines = rows(store, mode=mode, sort="loss", text=fmt)
    expected = io.StringIO()
    if fmt == "csv":
        csv.writer(expected, lineterminator="\n").writerows(table)
    else:
        for row in table:
            cells = ("" if v is None else repr(v) if isinstance(v, float) else str(v) for v in row)
            expected.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells) + "\n")
    assert "".join(line for (line,) in lines) == expected.getvalue()


def test_a_metric_run_by_run_when_runs_differ(tmp_path: Path) -> None:
    """CSV lines read a run's metrics in one piece only when it has the sweep's metrics in order."""
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(SWEEP, (point(i) for i in range(3)))
    store.runs.ingest(run(0, 1, "success", {"loss": 1.0, "rate": 2.0}))
    store.runs.ingest(run(1, 1, "success", {"rate": 3.0}))
    store.runs.ingest(run(2, 1, "success", {"rate": 4.0, "loss": 0.5}))
    _, lines = rows(store, text="csv")
    assert [line.split(",")[-5:-3] for (line,) in lines] == [["1.0", "2.0"], ["", "3.0"], ["0.5", "4.0"]]


def test_unknown_sort_and_where_are_refused(store: Store) -> None:
    with pytest.raises(SpecError, match=r"--sort speed: no such metric or param \(known: index, commit, a"):
        rows(store, sort="speed")
    with pytest.raises(SpecError, match=r"--where: .*unknown name 'speed'"):
        rows(store, where="speed > 1")


def test_no_column_name_is_shown_twice_so_no_value_replaces_another(tmp_path: Path) -> None:
    """Params named like a fixed column or like a prefixed name, metrics (from a run's file) named like
    a fixed column or like the prefixed param: every value keeps its own column."""
    params = ("duration_s", "metric:status")
    sweep = Sweep("c", "b" * 40, "master", "c" * 40, 1, params, "2026-01-01")
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep, [PointRecord(0, "0" * 40, {"duration_s": 111, "metric:status": 9})])
    metrics = {"status": 42.0, "param:duration_s": 5.0, "metric:status": 7.0}
    store.runs.ingest(
        Run("c", 0, "0" * 40, 1, "success", "/runs/c/0", started=1.0, ended=2.0, metrics=metrics)
    )
    found = store.results.rows(store.sweeps.info("c"), ResultQuery())
    columns = found.columns
    assert len(set(columns)) == len(columns)
    row = dict(zip(columns, next(iter(found.rows)), strict=True))
    assert row["param:duration_s"] == 111 and row["metric:status"] == 9
    assert row["metric:status:2"] == 42.0 and row["metric:param:duration_s"] == 5.0
    assert row["metric:metric:status"] == 7.0 and row["status"] == "success"
