"""Reading results back: one row per point with its params and metrics, filtered, sorted, exported.

By default a row is a point's latest *successful* attempt; ``include_all`` adds points without one
(with their latest state), ``all_attempts`` gives one row per attempt. Rows are plain dicts, so the
same data goes to a table, CSV, JSON or a pandas DataFrame.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitgrid.errors import SpecError, StoreError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.run.store import Store
from gitgrid.spec.expression import ExpressionError, compile_expression
from gitgrid.sweep.catalog import find_sweep
from gitgrid.sweep.record import Sweep

__all__ = ["RUN_COLUMNS", "ResultTable", "open_results", "results", "results_frame"]

RUN_COLUMNS = ("status", "attempt", "duration")


@dataclass(frozen=True)
class ResultTable:
    """Results: column names and one tuple per row (index, commit, params, metrics, status, attempt,
    duration); :attr:`rows` gives the same as dicts."""

    sweep: Sweep
    columns: tuple[str, ...]
    tuples: list[tuple[Any, ...]]
    metrics: tuple[str, ...]

    @functools.cached_property
    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.tuples]


def open_results(repo: Repository | Path | str, runs_root: Path | None = None) -> tuple[Repository, Store]:
    """The repository and its store, which must exist already: reading results never creates one."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    layout = Layout.of(repo, runs_root)
    if not layout.store.exists():
        raise StoreError(f"no results yet in {repo.root}: run a sweep first ('gitgrid run -- CMD')")
    return repo, Store.open(layout.store)


def results(
    repo: Repository | Path | str = ".",
    sweep: str | None = None,
    *,
    where: str | None = None,
    sort: str | None = None,
    descending: bool = False,
    best: int | None = None,
    include_all: bool = False,
    all_attempts: bool = False,
) -> ResultTable:
    """The results of ``sweep`` (default: the newest)."""
    repo, store = open_results(repo)
    mode = "attempts" if all_attempts else "all" if include_all else "success"
    try:
        chosen = find_sweep(repo, sweep)
        columns, rows = store.result_rows(chosen.name, chosen.params, mode)
    finally:
        store.close()
    metrics = columns[2 + len(chosen.params) : -len(RUN_COLUMNS)]
    if where:
        rows = _filter(rows, columns, where)
    if sort:
        if sort not in columns:
            raise SpecError(f"--sort {sort}: no such metric or param (known: {', '.join(columns)})")
        rows = _sorted(rows, columns.index(sort), descending)
    if best is not None:
        rows = rows[:best]
    return ResultTable(chosen, columns, rows, metrics)


def _filter(rows: list[tuple[Any, ...]], columns: Sequence[str], where: str) -> list[tuple[Any, ...]]:
    try:
        condition = compile_expression(where, columns[2:])
    except ExpressionError as exc:
        raise SpecError(f"--where: {exc}") from None
    kept = []
    for row in rows:
        try:
            if condition(dict(zip(columns, row, strict=True))):
                kept.append(row)
        except ExpressionError:
            continue  # a row without that metric (a null) does not match
    return kept


def _sorted(rows: list[tuple[Any, ...]], column: int, descending: bool) -> list[tuple[Any, ...]]:
    """Sorted by one column; rows where it is null or NaN go last."""

    def missing(row: tuple[Any, ...]) -> bool:
        value = row[column]
        return value is None or (isinstance(value, float) and math.isnan(value))

    present = [r for r in rows if not missing(r)]
    absent = [r for r in rows if missing(r)]
    # numbers before strings, so a column of mixed values sorts instead of failing
    return sorted(present, key=lambda r: (isinstance(r[column], str), r[column]), reverse=descending) + absent


def results_frame(repo: Repository | Path | str = ".", sweep: str | None = None, **query: Any) -> Any:
    """:func:`results` as a pandas DataFrame, one column per field (needs ``pip install gitgrid[pandas]``)."""
    try:
        import pandas as pd
    except ImportError:
        raise StoreError("results_frame needs pandas: pip install 'gitgrid[pandas]'") from None
    table = results(repo, sweep, **query)
    return pd.DataFrame.from_records(table.tuples, columns=list(table.columns))
