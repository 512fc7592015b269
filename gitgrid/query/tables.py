"""Reading results back: one row per point with its params and metrics, filtered, sorted, exported.

By default a row is a point's latest *successful* attempt; ``include_all`` adds points without one
(with their latest state), ``all_attempts`` gives one row per attempt. SQLite filters, sorts and cuts the
rows (:class:`gitgrid.store.rows.Results`) and :func:`stream_results` hands them out one by one, so a million
rows cost no more memory than ten; :func:`results` collects them into a :class:`ResultTable` whose rows
are plain dicts, for a table, CSV, JSON or a pandas DataFrame. Before answering, finished run
directories under the runs root are collected (:func:`gitgrid.run.collect.refresh`).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitgrid.errors import GitgridWarning, SpecError, StoreError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.run.collect import refresh
from gitgrid.store import (
    NAN,
    REBUILD,
    RUN_COLUMNS,
    ResultQuery,
    Store,
    doubt_warning,
    runs_without_store,
    store_doubt,
)
from gitgrid.sweep.catalog import find_sweep, list_points
from gitgrid.sweep.record import Sweep

__all__ = [
    "RUN_COLUMNS",
    "Opened",
    "ResultStream",
    "ResultTable",
    "open_results",
    "read_results",
    "refreshed",
    "results",
    "results_frame",
    "stream_results",
    "writable",
]


@dataclass(frozen=True)
class ResultTable:
    """Results: column names and one tuple per row (index, commit, params, metrics, status, attempt,
    duration_s, and rerun once the sweep was rerun); :attr:`rows` gives the same as dicts. A NaN metric
    is ``float('nan')``, a missing one None."""

    sweep: Sweep
    columns: tuple[str, ...]
    tuples: list[tuple[Any, ...]]
    metrics: tuple[str, ...]

    @functools.cached_property
    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.tuples]


@dataclass
class ResultStream:
    """Rows as they come out of the store. Iterating gives rows with NaN as ``float('nan')``; ``raw``
    gives them with NaN as the text ``nan`` (what CSV and tables print anyway, without a Python step
    per row). ``notes`` are things worth telling (runs just collected, a rerun that is not finished)."""

    sweep: Sweep
    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    raw: Iterator[tuple[Any, ...]]
    notes: list[str] = field(default_factory=list)
    text: bool = False  # asked for as_text and got it: each raw row is one line of text

    def lines(self) -> Iterator[str]:
        """The rows as lines of text, when :attr:`text`."""
        return (line for (line,) in self.raw)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        start = self.columns.index("commit") + 1 + len(self.sweep.params)
        end = start + len(self.metrics)
        for row in self.raw:
            if NAN in row[start:end]:
                yield (*row[:start], *(math.nan if v == NAN else v for v in row[start:end]), *row[end:])
            else:
                yield row


@dataclass(frozen=True)
class Opened:
    """A repository's store opened for reading results: whether it was doubted (a store gitgrid did not
    write here, :mod:`gitgrid.store.trust`: its paths are never followed) and whether it is read-only (it
    cannot be written: an archived repository; nothing is collected into it)."""

    repo: Repository
    store: Store
    doubt: str | None
    readonly: bool


def open_results(repo: Repository | Path | str, runs_root: Path | None = None) -> tuple[Repository, Store]:
    """The repository and its store, which must exist already: reading results never creates one."""
    opened = read_results(repo, runs_root)
    return opened.repo, opened.store


def read_results(repo: Repository | Path | str, runs_root: Path | None = None) -> Opened:
    """The repository and its store (see :class:`Opened`); a store that cannot be written is opened
    read-only, and a doubted one is warned about."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    layout = Layout.of(repo, runs_root)
    if not layout.store.exists():
        if found := runs_without_store(layout):
            raise StoreError(
                f"{layout.store}: the results store is missing but {found} holds run directories; "
                f"rebuild it from them with '{REBUILD}'"
            )
        raise StoreError(f"no results yet in {repo.root}: run a sweep first ('gitgrid run -- CMD')")
    doubt = store_doubt(repo, layout)
    if doubt is not None:
        warnings.warn(GitgridWarning(doubt_warning(layout, doubt)), stacklevel=3)
    readonly = not writable(layout.store)
    return Opened(repo, Store.open(layout.store, readonly=readonly), doubt, readonly)


def writable(store: Path) -> bool:
    """Whether the store (and its folder, for SQLite's journal) can be written."""
    return os.access(store, os.W_OK) and os.access(store.parent, os.W_OK | os.X_OK)


def refreshed(store: Store, repo: Repository, sweep: Sweep, readonly: bool = False) -> list[str]:
    """Bring the store up to date for ``sweep`` (its points at its tip, finished run directories
    collected) before a query; notes to show. Collecting is skipped, with a warning, while another
    process holds the store: a query never waits for a writer. A ``readonly`` store is read as it is."""
    if readonly:
        if not store.sweeps.knows(sweep):
            raise StoreError(
                f"{store.path} cannot be written (a read-only file system?) and has no results of sweep "
                f"'{sweep.name}' at its tip {sweep.tip[:12]}: run 'gitgrid status' where it can be written"
            )
        return [f"{store.path} cannot be written: results as stored, run directories not collected"]
    store.sweeps.sync(sweep, list_points(repo, sweep))
    try:
        with store.waiting(1.0):
            found = refresh(store, repo, sweep, Layout.of(repo).runs_root)
    except StoreError as exc:
        warnings.warn(GitgridWarning(f"finished run directories were not collected: {exc}"), stacklevel=2)
        return []
    return [f"stored {found.stored} new runs found in run directories"] if found.stored else []


@contextmanager
def stream_results(
    repo: Repository | Path | str = ".",
    sweep: str | None = None,
    *,
    where: str | None = None,
    sort: str | None = None,
    descending: bool = False,
    best: int | None = None,
    include_all: bool = False,
    all_attempts: bool = False,
    as_text: str | None = None,
) -> Iterator[ResultStream]:
    """The results of ``sweep`` (default: the newest), streamed; the store stays open inside.
    ``as_text`` (``csv`` or ``tsv``) asks for each row as one line of text made by SQLite
    (:attr:`ResultStream.text` says whether it could)."""
    if best is not None and (isinstance(best, bool) or not isinstance(best, int) or not 1 <= best < 2**63):
        raise SpecError(f"--best {best}: give the number of rows to show, 1 or more (below 2**63)")
    mode = "attempts" if all_attempts else "all" if include_all else "success"
    opened = read_results(repo)
    repo, store = opened.repo, opened.store
    try:
        chosen = find_sweep(repo, sweep)
        notes = refreshed(store, repo, chosen, opened.readonly)
        info = store.sweeps.info(chosen.name)
        query = ResultQuery(mode, where, sort, descending, best, as_text)
        found = store.results.rows(info, query)
        share = store.progress.rerun_share(chosen.name)
        if share is not None:
            rerun, rows, total = share
            notes.append(
                f"{rows} of {total} rows come from rerun {rerun}, the others from earlier runs (column "
                "'rerun'); if that rerun was interrupted, 'gitgrid run --rerun' finishes it"
            )
        try:
            yield ResultStream(chosen, found.columns, found.metrics, found.rows, notes, found.text)
        finally:
            close = getattr(found.rows, "close", None)
            if close is not None:
                close()  # ends the query's read transaction before the store closes
    finally:
        store.close()


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
    """The results of ``sweep`` (default: the newest), as :func:`stream_results` gives them."""
    with stream_results(
        repo, sweep, where=where, sort=sort, descending=descending, best=best, include_all=include_all,
        all_attempts=all_attempts,
    ) as stream:  # fmt: skip
        return ResultTable(stream.sweep, stream.columns, list(stream), stream.metrics)


def results_frame(repo: Repository | Path | str = ".", sweep: str | None = None, **query: Any) -> Any:
    """:func:`results` as a pandas DataFrame, one column per field (needs ``pip install gitgrid[pandas]``)."""
    try:
        import pandas as pd
    except ImportError:
        raise StoreError("results_frame needs pandas: pip install 'gitgrid[pandas]'") from None
    table = results(repo, sweep, **query)
    return pd.DataFrame.from_records(table.tuples, columns=list(table.columns))
