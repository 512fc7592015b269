"""Evaluating a batch as commits: each requested point becomes a commit on the optimisation's sweep, run
like any point (the local runner, or array jobs on a scheduler), its metric read back from the store.

This is also how an optimisation continues: the method is driven again from the start, and a requested
evaluation that the branch already holds (the same position, params, iteration and role) is not written
again, nor run again if the store has its result. Only what is missing is written and run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitgrid.cluster.reconcile import reconcile
from gitgrid.cluster.scheduler import PENDING, RUNNING
from gitgrid.cluster.submit import SubmitOptions, submit_sweep
from gitgrid.errors import OptimizeError
from gitgrid.git.repository import Repository
from gitgrid.optimize.history import Request
from gitgrid.optimize.search import Search
from gitgrid.run.contract import Run
from gitgrid.run.runner import RunOptions, run_sweep
from gitgrid.spec.values import Value, canonical_json
from gitgrid.store import open_store
from gitgrid.sweep.append import Grower, NewPoint, append_points, point_trailers
from gitgrid.sweep.record import OPTIMIZE_TRAILERS, Sweep, trailer_number

__all__ = [
    "ITERATION",
    "ROLE",
    "CommitEvaluator",
    "MetricMissing",
    "Recorded",
    "Runner",
    "Stopped",
    "recorded",
]

ITERATION, ROLE = OPTIMIZE_TRAILERS


class Stopped(Exception):
    """SIGINT or SIGTERM stopped the runs of a batch; the optimisation stops there, resumable."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class MetricMissing(OptimizeError):
    """No evaluation of the optimisation reported the metric: the command never writes it."""


@dataclass(frozen=True)
class Recorded:
    """An evaluation the branch holds: its point index, commit, searched values, iteration and role."""

    index: int
    commit: str
    x: tuple[Value, ...]
    iteration: int
    role: str


def recorded(repo: Repository, sweep: Sweep | None, search: Search) -> list[Recorded]:
    """The evaluations on ``sweep``'s branch, in order."""
    if sweep is None:
        return []
    return [
        Recorded(index, commit, search.searched(params), _number(rest[0]), rest[1])
        for index, commit, params, rest in point_trailers(repo, sweep, (ITERATION, ROLE))
    ]


@dataclass(frozen=True)
class Runner:
    """How the points of a batch run: where, how many at once, and the scheduler's options."""

    command: tuple[str, ...]
    scheduler: str = "local"
    jobs: int = 1
    runs_root: Path | None = None
    timeout: float | None = None
    submit: tuple[tuple[str, str], ...] = ()
    poll: float = 5.0


class CommitEvaluator:
    """The ``Evaluate`` of :func:`gitgrid.optimize.history.drive` for ``gitgrid optimize``."""

    def __init__(
        self,
        grower: Grower,
        search: Search,
        metric: str,
        runner: Runner,
        sweep: Sweep | None,
        record: Mapping[str, Any],
    ) -> None:
        self.grower, self.search, self.metric, self.runner = grower, search, metric, runner
        self.sweep, self.record = sweep, record
        self.held = recorded(grower.repo, sweep, search)
        self.done = 0  # evaluations handed back so far
        self.ran = 0  # evaluations run by this call
        self._submitted_at = 0.0

    def __call__(self, batch: Sequence[Request]) -> list[float]:
        first = self.done
        self._check_replay(batch, self.held[first : first + len(batch)])
        missing = batch[len(self.held[first : first + len(batch)]) :]
        if missing:
            self._append(missing)
        indices = list(range(first, first + len(batch)))
        values = self._values(indices)
        if any(v is None for v in values):
            self._run(indices)
            self.ran += sum(v is None for v in values)
            values = self._values(indices, final=True)
        self.done += len(batch)
        return [v for v in values if v is not None]

    def _check_replay(self, batch: Sequence[Request], held: Sequence[Recorded]) -> None:
        for request, old in zip(batch, held, strict=False):
            same = (canonical_json(dict(zip(self.search.box.names, request.x, strict=True))),
                    request.iteration, request.role)  # fmt: skip
            was = (
                canonical_json(dict(zip(self.search.box.names, old.x, strict=True))),
                old.iteration,
                old.role,
            )
            if same != was:
                raise OptimizeError(
                    f"cannot continue '{self.grower.name}': evaluation {old.index} was recorded as {was} but "
                    f"the method now asks for {same} (was gitgrid or numpy upgraded?); "
                    "start a new optimisation with --name"
                )

    def _append(self, requests: Sequence[Request]) -> None:
        points = [
            NewPoint(self.search.values(r.x), ((ITERATION, str(r.iteration)), (ROLE, r.role)))
            for r in requests
        ]
        self.sweep = append_points(self.grower, self.sweep, points, self.record)
        self.held += [
            Recorded(self.sweep.count - len(requests) + i, "", r.x, r.iteration, r.role)
            for i, r in enumerate(requests)
        ]

    # results --------------------------------------------------------------------------------------
    def _values(self, indices: Sequence[int], final: bool = False) -> list[float | None]:
        """The metric of each point's latest attempt, None where it has no success yet (or, ``final``,
        an error naming the point)."""
        assert self.sweep is not None
        _, store = open_store(self.grower.repo, self.runner.runs_root)
        try:
            runs = {row.run.index: row.run for row in store.runs.records(self.sweep.name)}
        finally:
            store.close()
        values: list[float | None] = []
        for index in indices:
            run = runs.get(index)
            if run is None or run.status != "success":
                if final:
                    raise _failed(self.sweep.name, index, run)
                values.append(None)
                continue
            values.append(self._metric(run, runs))
        return values

    def _metric(self, run: Run, runs: dict[int, Run]) -> float:
        if self.metric not in run.metrics:
            reported = ", ".join(sorted(run.metrics)) or "nothing"
            if not any(self.metric in r.metrics for r in runs.values()):
                raise MetricMissing(f"--metric {self.metric}: the command reported no '{self.metric}' "
                                    f"(it reported: {reported})")  # fmt: skip
            raise _bad(f"evaluation {run.index} reported no '{self.metric}' (it reported: {reported})")
        value = run.metrics[self.metric]
        if not math.isfinite(value):
            raise _bad(f"evaluation {run.index} reported {self.metric} = {value}: not a number to optimise")
        return value

    # running --------------------------------------------------------------------------------------
    def _run(self, indices: Sequence[int]) -> None:
        assert self.sweep is not None
        r = self.runner
        if r.scheduler == "local":
            options = RunOptions(jobs=r.jobs, retry_failed=True, runs_root=r.runs_root, timeout=r.timeout)
            summary = run_sweep(r.command, self.sweep.name, self.grower.repo, options)
            if summary.signal is not None:
                raise Stopped(summary.signal)
            return
        self._run_on_cluster(indices)

    def _run_on_cluster(self, indices: Sequence[int]) -> None:
        """Submit the batch's points as one array (unless queued already) and wait until they ended."""
        assert self.sweep is not None
        repo, r = self.grower.repo, self.runner
        submitted = False
        while True:
            layout, store = open_store(repo, r.runs_root)
            try:
                states = reconcile(repo, self.sweep, store, layout)
            finally:
                store.close()
            mine = [states.get(i, ("never run", ""))[0] for i in indices]
            waiting = [s in (PENDING, RUNNING) or (submitted and s == "never run") for s in mine]
            if not any(waiting):
                if submitted or all(s == "success" for s in mine):
                    return
                self._submit()
                submitted = True
            time.sleep(r.poll)

    def _submit(self) -> None:
        assert self.sweep is not None
        r = self.runner
        wait = self._submitted_at + 1.05 - time.time()
        if wait > 0:  # a submission's folder is named by the second: never two in one second
            time.sleep(wait)
        options = SubmitOptions(scheduler=r.scheduler, options=r.submit, runs_root=r.runs_root)
        submit_sweep(r.command, self.sweep.name, self.grower.repo, options)
        self._submitted_at = time.time()


def _number(text: str) -> int:
    """An iteration trailer as a number (-1 when it is none: the replay then stops, saying where)."""
    number = trailer_number(text)
    return -1 if number is None else number


def _failed(sweep: str, index: int, run: Run | None) -> OptimizeError:
    status = run.status if run is not None else "never ran"
    reason = f" ({run.reason})" if run is not None and run.reason else ""
    return _bad(
        f"evaluation {index} of '{sweep}' {status}{reason}: see 'gitgrid status {sweep}'; "
        "fix the cause and run the same command again to retry it and continue"
    )


def _bad(message: str) -> OptimizeError:
    """An evaluation that gave no usable value: not bad input but a failed run (exit status 1)."""
    error = OptimizeError(message)
    error.exit_code = 1
    return error
