"""Result rows as SQL: one row per point (or per attempt), filtered, sorted and cut in SQLite and
streamed, never a Python list of the sweep.

Rows are ``index, commit, params..., metrics..., status, attempt, duration_s`` (and ``rerun`` once a
sweep has been rerun). The metrics of the sweep's stages (``gitgrid analyze``) follow its own, named
``STAGE.METRIC``: those of each point's latest successful run of the stage. A metric that is NaN comes
out as the text ``'nan'`` (SQLite keeps NaN as null, and a missing metric is null too): :data:`NAN`
marks it, so callers tell the two apart.

Sorting keeps the order Python's ``sorted`` gave: numbers before strings, ties in index order, rows whose
value is null or NaN last. ``--sort METRIC`` over successful runs reads the metric's index
(``point_metrics``) in order, so ``--best 10`` touches ten rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gitgrid.errors import SpecError
from gitgrid.spec.expression import ExpressionError, compile_expression
from gitgrid.store.database import Database
from gitgrid.store.points import quoted
from gitgrid.store.record import SweepInfo
from gitgrid.store.runs import Runs
from gitgrid.store.schema import metric_names
from gitgrid.store.stages import Stages
from gitgrid.store.where import Column, Condition, python_condition, where_sql

__all__ = ["NAN", "RUN_COLUMNS", "ResultQuery", "ResultRows", "Results"]

NAN = "nan"
RUN_COLUMNS = ("status", "attempt", "duration_s")
_MAX_COLUMNS = 1900  # SQLite returns at most 2000 columns; wider sweeps read metrics row by row
_FROM = {
    "success": "points p JOIN runs r ON r.id = p.success_run",
    "all": "points p LEFT JOIN runs r ON r.id = COALESCE(p.success_run, p.latest_run)",
    "attempts": "points p LEFT JOIN runs r ON r.sweep = p.sweep AND r.idx = p.idx",
}
_METRIC = "+(SELECT value FROM metrics WHERE run_id = r.id AND name = :m{})"
_SHOWN = "(SELECT IFNULL(value, 'nan') FROM metrics WHERE run_id = r.id AND name = :m{})"
_NAN = "IFNULL(value, 'nan')"
_TEXT = "IFNULL((SELECT text FROM metrics WHERE run_id = r.id AND name = :m{}), '')"
_STAGED = "(SELECT {} FROM point_metrics WHERE sweep = :sr{k} AND idx = p.idx AND name = :sm{k})"
_STAGED_TEXT = (
    "IFNULL((SELECT m.text FROM points q JOIN metrics m ON m.run_id = q.success_run "
    "WHERE q.sweep = :sr{k} AND q.idx = p.idx AND m.name = :sm{k}), '')"
)


@dataclass(frozen=True)
class ResultQuery:
    """Which rows: ``mode`` ``success`` (each point's latest successful attempt), ``all`` (that, else its
    latest attempt, else a never-run row) or ``attempts`` (every attempt); filter, sort and limit."""

    mode: str = "success"
    where: str | None = None
    sort: str | None = None
    descending: bool = False
    limit: int | None = None
    text: str | None = None  # "csv" or "tsv": each row one line of text, made by SQLite


@dataclass(frozen=True)
class ResultRows:
    """Column names, the metrics among them (in reported order), and the rows, streamed."""

    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    rows: Iterator[tuple[Any, ...]]
    text: bool = False  # each row is one line of text (``ResultQuery.text``)


class Results:
    """Result rows, as ``gitgrid results`` and :func:`gitgrid.results` give them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def rows(self, info: SweepInfo, query: ResultQuery) -> ResultRows:
        """The rows of ``query`` over the sweep ``info`` describes."""
        rerun = Runs(self._db).max_rerun(info.name) > 0
        staged = [
            (f"{stage}.{metric}", records, metric) for stage, records, metric in self._staged(info.name)
        ]
        builder = _Builder(self._db, info, query, rerun, staged)
        columns = builder.names()
        if query.sort is not None and query.sort not in builder.sortable:
            raise SpecError(f"--sort {query.sort}: no such metric or param (known: {', '.join(columns)})")
        rows = builder.rows()
        metrics = (*info.metrics, *(name for name, _, _ in staged))
        return ResultRows(columns, metrics, rows, bool(query.text) and not builder.wide)

    def _staged(self, sweep: str) -> list[tuple[str, str, str]]:
        return Stages(self._db).metric_columns(sweep)


class _Builder:
    def __init__(
        self,
        db: Database,
        info: SweepInfo,
        query: ResultQuery,
        rerun: bool,
        staged: list[tuple[str, str, str]],
    ) -> None:
        self.db, self.info, self.query, self.rerun, self.staged = db, info, query, rerun, staged
        self.args: dict[str, Any] = {"sweep": info.name}
        self.args.update({f"m{i}": name for i, name in enumerate(info.metrics)})
        for k, (_, records, metric) in enumerate(staged):
            self.args.update({f"sr{k}": records, f"sm{k}": metric})
        self.wide = len(info.params) + len(info.metrics) + 8 > _MAX_COLUMNS
        nullable = query.mode != "success"
        self.named: dict[str, Column] = {
            name: Column(f"+p.{quoted(column)}", info.kinds.get(name, "other"))
            for name, column in zip(info.params, info.columns, strict=True)
        }
        self.named.update({m: Column(_METRIC.format(i), "num", True) for i, m in enumerate(info.metrics)})
        for k, (name, _, _) in enumerate(staged):
            self.named.setdefault(name, Column("+" + _STAGED.format("value", k=k), "num", True))
        self.named.update(
            status=Column("COALESCE(r.status, 'never run')", "text"),
            attempt=Column("+r.attempt", "num", nullable),
            duration_s=Column("ROUND(r.duration, 3)", "num", True),
            duration=Column("ROUND(r.duration, 3)", "num", True),  # its name before issue 8
            rerun=Column("+r.rerun", "num", nullable),
        )
        self.named.setdefault("index", Column("p.idx", "num"))  # --where 'index < 10', as --sort index
        self.sortable = {"index": "p.idx", "commit": "p.commit_id"}
        self.sortable.update({name: column.sql for name, column in self.named.items()})

    def names(self) -> tuple[str, ...]:
        """The columns' names, each once: a param or metric named like a column before it is shown as
        ``param:<name>`` or ``metric:<name>`` (with ``:2``, ``:3`` where even that is taken: metric
        names come from run files), so a json row or a csv header never holds a name twice and no value
        replaces another."""
        taken = {"index", "commit", *RUN_COLUMNS, "rerun"}
        params = [_unique(name, "param", taken) for name in self.info.params]
        metrics = [_unique(name, "metric", taken) for name in self.info.metrics]
        metrics += [_unique(name, "metric", taken) for name, _, _ in self.staged]
        return ("index", "commit", *params, *metrics, *RUN_COLUMNS, *(("rerun",) if self.rerun else ()))

    def select(self) -> str:
        if self.query.text and not self.wide:
            return self._select_text("," if self.query.text == "csv" else "\t")
        params = "".join(f", p.{quoted(c)}" for c in self.info.columns)
        metrics = "".join(f", {_SHOWN.format(i)}" for i in range(len(self.info.metrics)))
        tail = ", r.rerun" if self.rerun else ""
        if self.wide:  # each run's own metrics are read apart, then put before the stages' (_widen)
            metrics, tail = "", tail + ", r.id"
        metrics += "".join(f", {_STAGED.format(_NAN, k=k)}" for k in range(len(self.staged)))
        return (
            f"SELECT p.idx, p.commit_id{params}{metrics}, COALESCE(r.status, 'never run'), r.attempt, "
            f"ROUND(r.duration, 3){tail}"
        )

    def _select_text(self, separator: str) -> str:
        """Each row as one line of CSV or TSV: params as the store keeps them written, metrics as
        Python writes them, so no number is formatted per row in Python."""
        parts = ["p.idx", "p.commit_id"]
        if self.info.params:
            parts.append(f"p.{self.query.text}")
        if self.info.metrics:
            each = f" || '{separator}' || ".join(_TEXT.format(i) for i in range(len(self.info.metrics)))
            line = "r.metric_texts" if separator == "," else f"replace(r.metric_texts, ',', '{separator}')"
            self.args["names"] = metric_names(self.info.metrics)
            parts.append(f"(CASE WHEN r.metric_names = :names THEN {line} ELSE {each} END)")
        parts += [_STAGED_TEXT.format(k=k) for k in range(len(self.staged))]
        parts += ["COALESCE(r.status, 'never run')", "IFNULL(r.attempt, '')"]
        parts.append("IFNULL(r.duration_text, '')")
        if self.rerun:
            parts.append("IFNULL(r.rerun, '')")
        return "SELECT " + f" || '{separator}' || ".join(parts) + " || char(10)"

    def condition(self) -> str:
        if not self.query.where:
            return ""
        return f" AND ({_condition(self.db, self.query.where, self.named, self.args)})"

    def rows(self) -> Iterator[tuple[Any, ...]]:
        base = "p.idx, r.attempt, r.started, r.id" if self.query.mode == "attempts" else "p.idx"
        where = f"WHERE p.sweep = :sweep{self.condition()}"
        sort, limit = self.query.sort, self.query.limit
        rows: Iterator[tuple[Any, ...]]
        if sort in self.info.metrics and self.query.mode == "success":
            rows = self._by_metric(where, self.info.metrics.index(sort))
        else:
            order = base
            if sort is not None:
                key = self.sortable[sort]
                order = f"({key}) IS NULL, {key}{' DESC' if self.query.descending else ''}, {base}"
            cut = "" if limit is None else f" LIMIT {int(limit)}"
            rows = self.db.stream(
                f"{self.select()} FROM {_FROM[self.query.mode]} {where} ORDER BY {order}{cut}", self.args
            )
        return self._widen(rows) if self.wide else rows

    def _by_metric(self, where: str, position: int) -> Iterator[tuple[Any, ...]]:
        """Rows with a value in the metric's index order, then those where it is NaN or missing."""
        limit = self.query.limit
        direction = " DESC" if self.query.descending else ""
        cut = "" if limit is None else f" LIMIT {int(limit)}"
        ordered = (
            f"{self.select()} FROM point_metrics s "
            "CROSS JOIN points p ON p.sweep = s.sweep AND p.idx = s.idx "
            f"JOIN runs r ON r.id = p.success_run {where} AND s.sweep = :sweep AND s.name = :m{position} "
            f"AND s.value IS NOT NULL ORDER BY s.value{direction}, s.idx{cut}"
        )
        count = 0
        for row in self.db.stream(ordered, self.args):
            count += 1
            yield row
        if limit is not None and count >= limit:
            return
        cut = "" if limit is None else f" LIMIT {int(limit) - count}"
        missing = f"{_METRIC.format(position)} IS NULL"
        rest = f"{self.select()} FROM {_FROM['success']} {where} AND {missing} ORDER BY p.idx{cut}"
        yield from self.db.stream(rest, self.args)

    def _widen(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """Rows of a sweep with too many metrics for SQLite's columns: each run's metrics read apart."""
        split = 2 + len(self.info.params)
        for row in rows:
            *row_values, run_id = row
            found = dict(
                self.db.query("SELECT name, IFNULL(value, 'nan') FROM metrics WHERE run_id = ?", (run_id,))
            )
            metrics = tuple(found.get(m) for m in self.info.metrics)
            yield (*row_values[:split], *metrics, *row_values[split:])


def _unique(name: str, kind: str, taken: set[str]) -> str:
    shown = name if name not in taken else f"{kind}:{name}"
    number = 2
    while shown in taken:
        shown, number = f"{kind}:{name}:{number}", number + 1
    taken.add(shown)
    return shown


def _condition(db: Database, where: str, named: Mapping[str, Column], args: dict[str, Any]) -> str:
    """``where`` as SQL (1, 0 or NULL), compiled where SQL gives the same rows, else asked of Python."""
    try:
        expression = compile_expression(where, list(named))
    except ExpressionError as exc:
        raise SpecError(f"--where: {exc}") from None
    compiled: Condition | None = where_sql(where, named, prefix="w")
    if compiled is not None:
        args.update(compiled.args)
        return compiled.sql
    used = sorted(expression.names)

    def env(*values: Any) -> dict[str, Any]:
        return dict(zip(used, values, strict=True))

    return python_condition(db, expression, [named[n].sql for n in used], env)
