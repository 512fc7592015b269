"""Stages in the store: the analyses of a sweep (``gitgrid analyze``), what each should run next, how
current each point's analysis is, and what a stage over every point is given.

A stage's runs are the runs of its records, a sweep of their own named ``SWEEP:STAGE``
(:mod:`gitgrid.sweep.stages`) with the sweep's points, so they are written, collected and counted as
every run is. What is particular to stages is asked here: each run of a stage records the simulation
run it read (``reads``: ``<commit>/<attempt>``) and the analysis it ran (``analysis``: a hash of the code
and the command), and a point's analysis is current when its latest run succeeded with both equal to
what they are now. A stage over every point (``--all``) keeps its runs at index -1 of its records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from gitgrid.store.database import Database
from gitgrid.store.progress import Plan, Progress
from gitgrid.store.record import Read, Run, StageRecord
from gitgrid.store.runs import Runs
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["EVERY", "STALE_CODE", "STALE_SIMULATION", "Stages"]

EVERY = -1  # the index of the runs of a stage over every point
STALE_CODE = "stale (the analysis changed)"
STALE_SIMULATION = "stale (the simulation ran again)"
_READS = "r.commit_id || '/' || r.attempt"
_POINTS = (
    "FROM points p LEFT JOIN runs r ON r.id = p.success_run "
    "LEFT JOIN points q ON q.sweep = :records AND q.idx = p.idx LEFT JOIN runs l ON l.id = q.latest_run "
    "WHERE p.sweep = :sweep"
)
_CHUNK = 500
_FIELDS = "sweep, stage, every, command, code_ref, uses, analysis, code, dirty"


class Stages:
    """The stages of each sweep, and where each point's analysis stands."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, stage: StageRecord) -> None:
        """Remember how ``gitgrid analyze`` ran a stage (its place among the sweep's stages is kept)."""
        values = (
            stage.sweep, stage.stage, int(stage.every), json.dumps(list(stage.command)), stage.code_ref,
            json.dumps(list(stage.uses)), stage.analysis, stage.code, int(stage.dirty),
        )  # fmt: skip
        with self._db.transaction() as db:
            position = db.execute(
                "SELECT position FROM stages WHERE sweep = ? AND stage = ?", (stage.sweep, stage.stage)
            ).fetchone()
            if position is None:
                position = db.execute(
                    "SELECT IFNULL(MAX(position), -1) + 1 FROM stages WHERE sweep = ?", (stage.sweep,)
                ).fetchone()
            db.execute(f"INSERT OR REPLACE INTO stages ({_FIELDS}, position) VALUES ({'?, ' * 9}?)",
                       (*values, position[0]))  # fmt: skip

    def of(self, sweep: str) -> list[StageRecord]:
        """The stages of ``sweep``, in the order they were first run."""
        rows = self._db.query(f"SELECT {_FIELDS} FROM stages WHERE sweep = ? ORDER BY position", (sweep,))
        return [_stage(row) for row in rows]

    def plan(
        self, sweep: Sweep, stage: str, analysis: str, where: str | None, *, retry_failed: bool, again: bool
    ) -> Plan:
        """The points whose analysis by ``stage`` is not current, in index order, with the simulation
        run each reads: never analysed, stale (the simulation ran again, or the analysis changed),
        interrupted or cancelled; failed or timed out too with ``retry_failed``; every point whose
        simulation succeeded with ``again``. Points whose simulation has not succeeded are ``unread``."""
        args: dict[str, object] = {"sweep": sweep.name, "records": f"{sweep.name}:{stage}"}
        chosen = Progress(self._db).condition(sweep, where, args)
        rows = self._db.stream(
            f"SELECT p.idx, p.commit_id, p.params, r.id, r.run_dir, {_READS}, l.status, l.reads, l.analysis "
            f"{_POINTS}{chosen} ORDER BY p.idx",
            args,
        )
        points, reads = [], {}
        skipped = failed = underway = unread = 0
        for index, commit, params, run_id, run_dir, read, status, was_read, was_analysis in rows:
            if run_id is None:
                unread += 1
                continue
            current = status is not None and (was_read, was_analysis) == (read, analysis)
            verdict = _verdict(status if current else None, retry_failed, again)
            if verdict is None:
                points.append(PointRecord(index, commit, json.loads(params)))
                reads[index] = (run_id, run_dir or "", read)
                continue
            skipped += 1
            failed += verdict == "failed"
            underway += verdict == "underway"
        metrics = self._metrics([run_id for run_id, _, _ in reads.values()])
        found = {
            i: Read(folder, read, metrics.get(run_id, "{}")) for i, (run_id, folder, read) in reads.items()
        }
        return Plan(points, 0, skipped, failed, underway, found, unread)

    def _metrics(self, runs: Sequence[int]) -> dict[int, str]:
        """Each run's metrics as a JSON object (NaN as null), in name order."""
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(runs), _CHUNK):
            chunk = list(runs[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            for run_id, name, value in self._db.query(
                f"SELECT run_id, name, value FROM metrics WHERE run_id IN ({marks}) ORDER BY run_id, name",
                chunk,
            ):
                found.setdefault(run_id, {})[name] = value
        return {run_id: json.dumps(values) for run_id, values in found.items()}

    def counts(self, sweep: str, stage: str, analysis: str | None) -> dict[str, int]:
        """The sweep's points by where their analysis stands: ``current`` (its latest run succeeded with
        the simulation run and analysis of now), :data:`STALE_SIMULATION`, :data:`STALE_CODE` (only when
        ``analysis``, what it would be now, is known), the status of a latest run that did not succeed
        (``failed``, ``running``, ...), ``never analysed``, or ``no simulation`` (nothing to analyse yet)."""
        rows = self._db.query(
            "SELECT CASE WHEN r.id IS NULL THEN 'no simulation' WHEN l.id IS NULL THEN 'never analysed' "
            f"WHEN l.status = 'running' THEN 'running' WHEN l.reads IS NOT {_READS} THEN :simulation "
            "WHEN :analysis IS NOT NULL AND l.analysis IS NOT :analysis THEN :code "
            "WHEN l.status = 'success' THEN 'current' ELSE l.status END AS s, "
            f"COUNT(*) {_POINTS} GROUP BY s",
            {"sweep": sweep, "records": f"{sweep}:{stage}", "analysis": analysis,
             "simulation": STALE_SIMULATION, "code": STALE_CODE},
        )  # fmt: skip
        return {state: int(count) for state, count in rows}

    def metric_columns(self, sweep: str) -> list[tuple[str, str, str]]:
        """The metrics the per-point stages of ``sweep`` reported: (stage, its records, metric), stages in
        the order first run, each one's metrics in the order first reported."""
        rows = self._db.query(
            "SELECT s.stage, m.name FROM stages s "
            "JOIN sweep_metrics m ON m.sweep = s.sweep || ':' || s.stage "
            "WHERE s.sweep = ? AND s.every = 0 ORDER BY s.position, m.position",
            (sweep,),
        )
        return [(stage, f"{sweep}:{stage}", name) for stage, name in rows]

    def latest_every(self, records: str) -> Run | None:
        """The latest run of a stage over every point (``--all``), with its metrics."""
        rows = Runs(self._db).records(records)
        return next((row.run for row in rows if row.run.index == EVERY), None)

    def manifest(self, sweep: str) -> Iterator[dict[str, Any]]:
        """What a stage over every point is given, one point a line in index order, streamed: the points
        whose simulation succeeded, with their params, run directory, attempt and metrics (those of the
        per-point stages too, named ``STAGE.METRIC``, from each one's latest successful run)."""
        stages = [s.stage for s in self.of(sweep) if not s.every]
        each = (
            ", (SELECT json_group_object(name, value) FROM metrics WHERE run_id = "
            "(SELECT success_run FROM points WHERE sweep = :s{} AND idx = p.idx))"
        )
        args: dict[str, object] = {"sweep": sweep}
        args.update({f"s{k}": f"{sweep}:{stage}" for k, stage in enumerate(stages)})
        rows = self._db.stream(
            "SELECT p.idx, p.commit_id, p.params, r.run_dir, r.attempt, "
            "(SELECT json_group_object(name, value) FROM metrics WHERE run_id = r.id)"
            f"{''.join(each.format(k) for k in range(len(stages)))} "
            "FROM points p JOIN runs r ON r.id = p.success_run WHERE p.sweep = :sweep ORDER BY p.idx",
            args,
        )
        for index, commit, params, run_dir, attempt, metrics, *staged in rows:
            values = json.loads(metrics or "{}")
            for stage, found in zip(stages, staged, strict=True):
                values.update({f"{stage}.{k}": v for k, v in json.loads(found or "{}").items()})
            yield {"index": index, "commit": commit, "params": json.loads(params), "run_dir": run_dir,
                   "attempt": attempt, "metrics": values}  # fmt: skip


def _stage(row: Sequence[Any]) -> StageRecord:
    sweep, name, every, command, ref, uses, analysis, code, dirty = row
    return StageRecord(
        sweep, name, bool(every), tuple(json.loads(command)), ref, tuple(json.loads(uses)), analysis, code,
        bool(dirty),
    )  # fmt: skip


def _verdict(status: str | None, retry_failed: bool, again: bool) -> str | None:
    """Why a point whose latest analysis has ``status`` (None: none, or a stale one) is skipped: ``done``,
    ``failed`` or ``underway``; None when it is analysed now."""
    if again or status is None or status in ("interrupted", "cancelled"):
        return None
    if status in ("failed", "timeout"):
        return None if retry_failed else "failed"
    return "done" if status == "success" else "underway"
