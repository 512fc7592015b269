"""Where a sweep stands, asked of SQL: points by state, failed points, the best value of a metric, and
what a runner should run next (so resuming a finished million-point sweep reads an index, not git).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from gitgrid.errors import SpecError
from gitgrid.spec.expression import Expression, ExpressionError, compile_expression
from gitgrid.store.core import Store
from gitgrid.store.points import quoted
from gitgrid.store.record import FINAL
from gitgrid.store.where import Column, python_condition, where_sql
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["FAILED", "Failure", "Plan", "best", "failures", "plan_run", "rerun_share", "state_counts"]

FAILED = ("failed", "timeout", "cancelled")
_DONE = tuple(sorted(FINAL - {"interrupted"}))


@dataclass(frozen=True)
class Failure:
    """A point whose latest attempt failed, timed out or was cancelled."""

    index: int
    status: str
    reason: str | None
    run_dir: str


@dataclass(frozen=True)
class Plan:
    """What a runner runs now: the points, the rerun they count in, and how many it skips."""

    points: list[PointRecord]
    rerun: int
    skipped: int


def state_counts(store: Store, sweep: str) -> dict[str, int]:
    """How many points are in each state (their latest attempt's status, or ``never run``)."""
    rows = store.query(
        "SELECT IFNULL(state, 'never run'), COUNT(*) FROM points WHERE sweep = ? GROUP BY state", (sweep,)
    )
    return {state: int(count) for state, count in rows}


def failures(store: Store, sweep: str) -> Iterator[Failure]:
    """Points whose latest attempt failed, timed out or was cancelled, in index order."""
    marks = ", ".join("?" * len(FAILED))
    rows = store.stream(
        "SELECT p.idx, r.status, r.reason, r.run_dir FROM points p INDEXED BY points_state "
        "JOIN runs r ON r.id = p.latest_run "
        f"WHERE p.sweep = ? AND p.state IN ({marks}) ORDER BY p.idx",
        (sweep, *FAILED),
    )
    return (Failure(index, status, reason, run_dir or "") for index, status, reason, run_dir in rows)


def best(store: Store, sweep: str, metric: str, maximize: bool = False) -> tuple[float, int] | None:
    """The best value of ``metric`` over the sweep's points (their latest successful runs), and where."""
    direction = "DESC" if maximize else "ASC"
    rows = store.query(
        "SELECT value, idx FROM point_metrics WHERE sweep = ? AND name = ? AND value IS NOT NULL "
        f"ORDER BY value {direction}, idx LIMIT 1",
        (sweep, metric),
    )
    return (float(rows[0][0]), int(rows[0][1])) if rows else None


def rerun_share(store: Store, sweep: str) -> tuple[int, int, int] | None:
    """While the latest rerun covers only some points: (that rerun, how many points' latest successful
    runs come from it, how many points have one); None otherwise."""
    current = store.max_rerun(sweep)
    if current == 0:
        return None
    row = store.query(
        "SELECT IFNULL(SUM(r.rerun = ?), 0), COUNT(*) FROM points p JOIN runs r ON r.id = p.success_run "
        "WHERE p.sweep = ?",
        (current, sweep),
    )[0]
    from_rerun, total = int(row[0]), int(row[1])
    return (current, from_rerun, total) if total > 0 and from_rerun < total else None


def plan_run(store: Store, sweep: Sweep, where: str | None, *, rerun: bool, retry_failed: bool) -> Plan:
    """The points to run now (resume: never-run, interrupted and cancelled ones, failed and timed-out
    ones too with ``retry_failed``; ``rerun``: every point again as a new rerun, or the points an
    interrupted rerun has not finished), in index order."""
    args: dict[str, object] = {"sweep": sweep.name}
    chosen = _chosen(store, sweep, where, args)
    current = store.max_rerun(sweep.name)
    wanted = ["interrupted", "cancelled", *(["failed", "timeout"] if retry_failed else [])]
    marks = ", ".join(f":s{i}" for i in range(len(wanted)))
    args.update({f"s{i}": s for i, s in enumerate(wanted)})
    states = [f"state IS NULL{chosen}", f"state IN ({marks}){chosen}"]  # each read from the state index
    if rerun:
        args["rerun"] = current
        in_rerun = (
            "(SELECT x.status FROM runs x WHERE x.sweep = p.sweep AND x.idx = p.idx AND x.rerun = :rerun "
            "ORDER BY x.attempt DESC, x.id DESC LIMIT 1)"
        )
        done = ", ".join(f"'{s}'" for s in _DONE)
        unfinished = store.query(
            f"SELECT COUNT(*) FROM points p WHERE sweep = :sweep{chosen} "
            f"AND IFNULL({in_rerun} NOT IN ({done}), 1)",
            args,
        )[0][0]
        if current == 0 or not unfinished:
            current, states = current + 1, [f"1{chosen}"]
        else:
            states = [f"({in_rerun} IS NULL OR {in_rerun} IN ({marks})){chosen}"]
    select = "SELECT idx, commit_id, params FROM points p{} WHERE sweep = :sweep AND {}"
    index = " INDEXED BY points_state" if len(states) == 2 else ""
    union = " UNION ALL ".join(select.format(index, state) for state in states)
    rows = store.query(f"{union} ORDER BY idx", args)
    points = [PointRecord(idx, commit, json.loads(params)) for idx, commit, params in rows]
    total = store.query(f"SELECT COUNT(*) FROM points p WHERE sweep = :sweep{chosen}", args)[0][0]
    return Plan(points, current, int(total) - len(points))


def _chosen(store: Store, sweep: Sweep, where: str | None, args: dict[str, object]) -> str:
    """`` AND <where over params>`` for the points table ``p``; a point where it fails is an error."""
    if not where:
        return ""
    try:
        expression = compile_expression(where, sweep.params)
    except ExpressionError as exc:
        raise SpecError(f"--where: {exc}") from None
    info = store.sweep_info(sweep.name)
    columns = {
        name: Column(f"+p.{quoted(column)}", info.kinds.get(name, "other"))
        for name, column in zip(info.params, info.columns, strict=True)
    }
    compiled = where_sql(where, columns, prefix="w")
    if compiled is not None:
        args.update(compiled.args)
        sql = compiled.sql
    else:
        sql = python_condition(store.connection(), expression, ["p.params"], _params)
    _refuse_errors(store, expression, sql, args)
    return f" AND ({sql})"


def _params(params: str) -> dict[str, object]:
    values: dict[str, object] = json.loads(params)
    return values


def _refuse_errors(store: Store, expression: Expression, sql: str, args: dict[str, object]) -> None:
    """Raise the error Python gives on the first point where ``where`` fails (e.g. ``a / 0``)."""
    rows = store.query(
        f"SELECT params FROM points p WHERE sweep = :sweep AND ({sql}) IS NULL ORDER BY idx LIMIT 1", args
    )
    if rows:
        try:
            expression(_params(rows[0][0]))
        except ExpressionError as exc:
            raise SpecError(f"--where: {exc}") from None
