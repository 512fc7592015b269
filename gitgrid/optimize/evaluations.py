"""Evaluating a batch as commits: each requested point becomes a commit on the optimisation's sweep, run
like any point by a launcher (:mod:`gitgrid.launch`: this machine, array jobs, Dask), its metric read
back from the store. Every launcher is driven the same way: :meth:`~gitgrid.launch.launcher.Launcher.launch`,
then :meth:`~gitgrid.launch.launcher.Launcher.wait`; the waiting (and any polling it takes) is the
launcher's.

This is also how an optimisation continues: the method is driven again from the start, and a requested
evaluation that the branch already holds (the same position, params, iteration and role) is not written
again, nor run again if the store has its result. Only what is missing is written and run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gitgrid.errors import OptimizeError
from gitgrid.git.repository import Repository
from gitgrid.launch.launcher import Launch, Launcher
from gitgrid.optimize.history import Request
from gitgrid.optimize.search import Search
from gitgrid.run.contract import Run
from gitgrid.run.runner import RunOptions
from gitgrid.spec.values import Value, canonical_json
from gitgrid.store import RunRow, Store, open_store
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
    """How the points of a batch run: the command, the launcher, and the options of every run (how
    many at once, ``--build``, ``--setup``, ``--timeout``, the runs root)."""

    command: tuple[str, ...]
    launcher: Launcher
    options: RunOptions


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
        self.reused = 0  # evaluations a stored run of the same key answered (not run)

    def __call__(self, batch: Sequence[Request]) -> list[float]:
        first = self.done
        self._check_replay(batch, self.held[first : first + len(batch)])
        missing = batch[len(self.held[first : first + len(batch)]) :]
        if missing:
            self._append(missing)
        indices = list(range(first, first + len(batch)))
        values = self._values(indices)
        if any(v is None for v in values):
            reused = self._run()  # points whose run key a stored success had: not run again
            self.ran += max(0, sum(v is None for v in values) - reused)
            self.reused += reused
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
        """The metric of each point's latest attempt, None where it has no usable value yet (or,
        ``final``, an error naming the point). A success whose metric is NaN or infinite is recorded
        failed as it is met (#17): it stops the optimisation now, and the next run retries it (a
        stored NaN is never replayed as a value)."""
        assert self.sweep is not None
        _, store = open_store(self.grower.repo, self.runner.options.runs_root)
        try:
            rows = {row.run.index: row for row in store.runs.records(self.sweep.name)}
            runs = {index: row.run for index, row in rows.items()}
            values: list[float | None] = []
            for index in indices:
                row = rows.get(index)
                if row is None or row.run.status != "success":
                    if final:
                        raise _failed(self.sweep.name, index, row.run if row else None)
                    values.append(None)
                    continue
                value = self._metric(row.run, runs)
                if value is None:
                    problem = _not_a_value(store, row, self.metric)
                    if final:
                        raise _bad(f"evaluation {index} of '{self.sweep.name}' {problem}; {_RETRY}")
                values.append(value)
        finally:
            store.close()
        return values

    def _metric(self, run: Run, runs: dict[int, Run]) -> float | None:
        """The run's metric; None when it is NaN or infinite (no value to optimise)."""
        if self.metric not in run.metrics:
            reported = ", ".join(sorted(run.metrics)) or "nothing"
            if not any(self.metric in r.metrics for r in runs.values()):
                raise MetricMissing(f"--metric {self.metric}: the command reported no '{self.metric}' "
                                    f"(it reported: {reported})")  # fmt: skip
            raise _bad(f"evaluation {run.index} reported no '{self.metric}' (it reported: {reported})")
        value = run.metrics[self.metric]  # NaN comes back from the store as None
        return value if value is not None and math.isfinite(value) else None

    # running --------------------------------------------------------------------------------------
    def _run(self) -> int:
        """Run what of the sweep has no result yet: first wait for points an earlier call launched that
        are still queued (an optimisation stopped while it waited), then launch the rest and wait; how
        many points reused a stored run instead (:mod:`gitgrid.run.reuse`)."""
        assert self.sweep is not None
        r, repo, name = self.runner, self.grower.repo, self.sweep.name
        earlier = r.launcher.in_flight(repo, name)
        if earlier is not None:
            self._wait(earlier)
        return self._wait(r.launcher.launch(r.command, name, repo, r.options))

    def _wait(self, launch: Launch) -> int:
        summary = self.runner.launcher.wait(launch)
        if summary.signal is not None:
            raise Stopped(summary.signal)
        return sum(summary.state.reused.values())


def _number(text: str) -> int:
    """An iteration trailer as a number (-1 when it is none: the replay then stops, saying where)."""
    number = trailer_number(text)
    return -1 if number is None else number


_RETRY = "fix the cause and run the same command again to retry it and continue"


def _failed(sweep: str, index: int, run: Run | None) -> OptimizeError:
    status = run.status if run is not None else "never ran"
    reason = f" ({run.reason})" if run is not None and run.reason else ""
    return _bad(f"evaluation {index} of '{sweep}' {status}{reason}: see 'gitgrid status {sweep}'; {_RETRY}")


def _not_a_value(store: Store, row: RunRow, metric: str) -> str:
    """Record a run whose metric is NaN or infinite as failed, saying why (the next run retries it, as
    it retries any failed evaluation); that reason."""
    run = row.run
    value = run.metrics[metric]
    reason = f"reported {metric} = {math.nan if value is None else value}: not a number to optimise"
    metrics = {name: math.nan if v is None else v for name, v in run.metrics.items()}
    store.runs.finish(row.id, replace(run, status="failed", reason=reason, metrics=metrics))
    return reason


def _bad(message: str) -> OptimizeError:
    """An evaluation that gave no usable value: not bad input but a failed run (exit status 1)."""
    error = OptimizeError(message)
    error.exit_code = 1
    return error
