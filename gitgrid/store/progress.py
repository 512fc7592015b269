"""Where a sweep stands, asked of SQL: points by state, failed points, the best value of a metric, and
what a runner should run next (so resuming a finished million-point sweep reads an index, not git).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gitgrid.errors import SpecError
from gitgrid.spec.expression import Expression, ExpressionError, compile_expression
from gitgrid.store.database import Database
from gitgrid.store.points import quoted
from gitgrid.store.record import FINAL, Read
from gitgrid.store.runs import Runs
from gitgrid.store.sweeps import Sweeps
from gitgrid.store.where import Column, python_condition, where_sql
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["FAILED", "Failure", "Plan", "PlannedRow", "Progress"]

FAILED = ("failed", "timeout", "cancelled")
_DONE = tuple(sorted(FINAL - {"interrupted"}))
# a planned point as a row: its index, its commit, its tree id ("" if unknown)
PlannedRow = tuple[int, str, str]


@dataclass(frozen=True)
class Failure:
    """A point whose latest attempt failed, timed out or was cancelled."""

    index: int
    status: str
    reason: str | None
    run_dir: str


@dataclass(frozen=True)
class Plan:
    """What a runner runs now: the points, the rerun they count in, and how many it skips: in all, and of
    those, how many because they failed or timed out (without ``retry_failed``) and how many because a
    run of them is under way elsewhere (``running`` on a cluster, ``prepared``); the rest succeeded (for a
    stage: its analysis is current). A stage's plan also says which simulation run each point reads, and
    how many chosen points have none yet (``unread``: neither run nor skipped)."""

    points: list[PointRecord]
    rerun: int
    skipped: int
    failed_before: int = 0
    underway: int = 0
    reads: Mapping[int, Read] = field(default_factory=dict)  # a stage's: the simulation run each reads
    unread: int = 0  # a stage's: chosen points without a successful simulation run to read


class Progress:
    """Where each sweep stands, and what to run next."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def counts(self, sweep: str) -> dict[str, int]:
        """How many points are in each state (their latest attempt's status, or ``never run``)."""
        rows = self._db.query(
            "SELECT IFNULL(state, 'never run'), COUNT(*) FROM points WHERE sweep = ? GROUP BY state", (sweep,)
        )
        return {state: int(count) for state, count in rows}

    def failures(self, sweep: str) -> Iterator[Failure]:
        """Points whose latest attempt failed, timed out or was cancelled, in index order."""
        marks = ", ".join("?" * len(FAILED))
        rows = self._db.stream(
            "SELECT p.idx, r.status, r.reason, r.run_dir FROM points p INDEXED BY points_state "
            "JOIN runs r ON r.id = p.latest_run "
            f"WHERE p.sweep = ? AND p.state IN ({marks}) ORDER BY p.idx",
            (sweep, *FAILED),
        )
        return (Failure(index, status, reason, run_dir or "") for index, status, reason, run_dir in rows)

    def notes(self, sweep: str, limit: int = 100) -> list[tuple[int, str]]:
        """Points whose latest run succeeded with a problem noted (a bad line in its series); read through
        the store's small index of such runs, not by scanning the sweep. A reused run's reason names its
        source, which is no problem: those are counted by :meth:`reused`."""
        rows = self._db.query(
            "SELECT r.idx, r.reason FROM runs r INDEXED BY runs_noted JOIN points p "
            "ON p.sweep = r.sweep AND p.idx = r.idx AND p.latest_run = r.id "
            "WHERE r.sweep = ? AND r.status = 'success' AND r.reason IS NOT NULL "
            "AND r.reused_sweep IS NULL ORDER BY r.idx LIMIT ?",
            (sweep, limit),
        )
        return [(int(index), str(reason)) for index, reason in rows]

    def reused(self, sweep: str) -> dict[str, int]:
        """How many of the sweep's points have a reused run as their latest success, by the sweep that
        ran them: through the index of the sweep's reused runs (nothing read for a sweep that reused
        none), each probing its point."""
        rows = self._db.query(
            "SELECT r.reused_sweep, COUNT(*) FROM runs r INDEXED BY runs_reused JOIN points p "
            "ON p.sweep = r.sweep AND p.idx = r.idx AND p.success_run = r.id "
            "WHERE r.sweep = ? AND r.status = 'success' AND r.reused_sweep IS NOT NULL "
            "GROUP BY r.reused_sweep ORDER BY r.reused_sweep",
            (sweep,),
        )
        return {str(source): int(count) for source, count in rows}

    def best(self, sweep: str, metric: str, maximize: bool = False) -> tuple[float, int] | None:
        """The best value of ``metric`` over the sweep's points (their latest successful runs), and where."""
        direction = "DESC" if maximize else "ASC"
        rows = self._db.query(
            "SELECT value, idx FROM point_metrics WHERE sweep = ? AND name = ? AND value IS NOT NULL "
            f"ORDER BY value {direction}, idx LIMIT 1",
            (sweep, metric),
        )
        return (float(rows[0][0]), int(rows[0][1])) if rows else None

    def rerun_share(self, sweep: str) -> tuple[int, int, int] | None:
        """While the latest rerun covers only some points: (that rerun, how many points' latest successful
        runs come from it, how many points have one); None otherwise."""
        current = Runs(self._db).max_rerun(sweep)
        if current == 0:
            return None
        row = self._db.query(
            "SELECT IFNULL(SUM(r.rerun = ?), 0), COUNT(*) FROM points p JOIN runs r ON r.id = p.success_run "
            "WHERE p.sweep = ?",
            (current, sweep),
        )[0]
        from_rerun, total = int(row[0]), int(row[1])
        return (current, from_rerun, total) if total > 0 and from_rerun < total else None

    def plan(self, sweep: Sweep, where: str | None, *, rerun: bool, retry_failed: bool) -> Plan:
        """The points to run now (resume: never-run, interrupted and cancelled ones, failed and timed-out
        ones too with ``retry_failed``; ``rerun``: every point again as a new rerun, or the points an
        interrupted rerun has not finished), in index order."""
        plan, rows = self._chosen(sweep, where, rerun, retry_failed, params=True)
        return replace(plan, points=[PointRecord(i, c, json.loads(v), t or "") for i, c, v, t in rows])

    def lean_plan(
        self, sweep: Sweep, where: str | None, *, rerun: bool, retry_failed: bool
    ) -> tuple[Plan, list[PlannedRow]]:
        """:meth:`plan`'s points as plain rows (index, commit, tree id or ""), without their params, and
        its plan without points: reuse planning reads the params of the points it leaves to run only
        (:meth:`gitgrid.store.sweeps.Sweeps.params`), and a frozen record per point was a quarter of
        its Python time for a sweep reused whole (docs/performance.md)."""
        plan, rows = self._chosen(sweep, where, rerun, retry_failed, params=False)
        return plan, [(i, c, t or "") for i, c, _, t in rows]

    def _chosen(
        self, sweep: Sweep, where: str | None, rerun: bool, retry_failed: bool, params: bool
    ) -> tuple[Plan, list[tuple[Any, ...]]]:
        """The plan without its points, and their rows: index, commit, params (JSON, or None without
        ``params``), tree id."""
        db = self._db
        args: dict[str, object] = {"sweep": sweep.name}
        chosen = self.condition(sweep, where, args)
        current = Runs(db).max_rerun(sweep.name)
        wanted = ["interrupted", "cancelled", *(["failed", "timeout"] if retry_failed else [])]
        marks = ", ".join(f":s{i}" for i in range(len(wanted)))
        args.update({f"s{i}": s for i, s in enumerate(wanted)})
        states = [f"state IS NULL{chosen}", f"state IN ({marks}){chosen}"]  # each read from the state index
        status: str | None = "state"  # what decides whether a point is skipped (None: none is)
        if rerun:
            args["rerun"] = current
            in_rerun = (
                "(SELECT x.status FROM runs x WHERE x.sweep = p.sweep AND x.idx = p.idx AND x.rerun = :rerun "
                "ORDER BY x.attempt DESC, x.started DESC, x.id DESC LIMIT 1)"
            )
            done = ", ".join(f"'{s}'" for s in _DONE)
            unfinished = db.value(
                f"SELECT COUNT(*) FROM points p WHERE sweep = :sweep{chosen} "
                f"AND IFNULL({in_rerun} NOT IN ({done}), 1)",
                args,
            )
            if current == 0 or not unfinished:
                current, states, status = current + 1, [f"1{chosen}"], None
            else:
                states, status = [f"({in_rerun} IS NULL OR {in_rerun} IN ({marks})){chosen}"], in_rerun
        select = f"SELECT idx, commit_id, {'params' if params else 'NULL'}, tree_id FROM points p{{}} "
        select += "WHERE sweep = :sweep AND {}"
        index = " INDEXED BY points_state" if len(states) == 2 else ""
        union = " UNION ALL ".join(select.format(index, state) for state in states)
        rows = db.query(f"{union} ORDER BY idx", args)
        skipped = self._skipped(status, chosen, args, wanted) if status else {}
        failed = skipped.get("failed", 0) + skipped.get("timeout", 0)
        underway = sum(skipped.values()) - failed - skipped.get("success", 0)
        return Plan([], current, sum(skipped.values()), failed, underway), rows

    def _skipped(
        self, status: str, chosen: str, args: dict[str, object], wanted: list[str]
    ) -> dict[str, int]:
        """How many chosen points are skipped for each status (their latest attempt's, or their latest in
        the rerun under way): every status but none (never run) and those ``wanted`` again."""
        rows = self._db.query(
            f"SELECT {status} AS s, COUNT(*) FROM points p WHERE sweep = :sweep{chosen} GROUP BY s", args
        )
        return {value: int(count) for value, count in rows if value is not None and value not in wanted}

    def condition(self, sweep: Sweep, where: str | None, args: dict[str, object]) -> str:
        """`` AND <where over params>`` for the points table ``p`` (its arguments added to ``args``); a
        point where it fails is an error."""
        if not where:
            return ""
        try:
            expression = compile_expression(where, sweep.params)
        except ExpressionError as exc:
            raise SpecError(f"--where: {exc}") from None
        info = Sweeps(self._db).info(sweep.name)
        columns = {
            name: Column(f"+p.{quoted(column)}", info.kinds.get(name, "other"))
            for name, column in zip(info.params, info.columns, strict=True)
        }
        compiled = where_sql(where, columns, prefix="w")
        if compiled is not None:
            args.update(compiled.args)
            sql = compiled.sql
        else:
            sql = python_condition(self._db, expression, ["p.params"], _params)
        self._refuse_errors(expression, sql, args)
        return f" AND ({sql})"

    def _refuse_errors(self, expression: Expression, sql: str, args: dict[str, object]) -> None:
        """Raise the error Python gives on the first point where ``where`` fails (e.g. ``a / 0``)."""
        params = self._db.value(
            f"SELECT params FROM points p WHERE sweep = :sweep AND ({sql}) IS NULL ORDER BY idx LIMIT 1", args
        )
        if params is not None:
            try:
                expression(_params(params))
            except ExpressionError as exc:
                raise SpecError(f"--where: {exc}") from None


def _params(params: str) -> dict[str, object]:
    values: dict[str, object] = json.loads(params)
    return values
