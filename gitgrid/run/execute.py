"""Running one point, wherever it runs: the local runner's workers and cluster array tasks both call
:func:`execute_point`.

The steps are always the same: claim the next attempt folder, move the checkout to the point's commit,
start the command in its own process group under the ``GITGRID_*`` contract, wait, judge the outcome
(exit status, stop reason, ``result.json``), and record the run as it starts and as it ends. What differs
between the two places is only *where* runs are recorded (a :class:`Ledger`: the store and ``meta.json``
locally, ``meta.json`` alone on a node) and who stops the processes (the :class:`ProcessTable` they share).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from gitgrid.errors import GitFailure
from gitgrid.layout import claim_attempt, point_dir
from gitgrid.run.checkouts import Checkout
from gitgrid.run.contract import Run, RunRequest, environment, outcome
from gitgrid.run.processes import ProcessTable, spawn

__all__ = ["Execution", "Ledger", "execute_point"]


class Ledger(Protocol):
    """Where runs are recorded: once a command started (with its pid), and once it ended."""

    def started(self, run: Run) -> None: ...
    def ended(self, run: Run) -> None: ...


@dataclass(frozen=True)
class Execution:
    """How every point of one runner or task is run."""

    command: tuple[str, ...]
    runs_root: Path
    host: str
    base_env: Mapping[str, str]  # the environment the contract's variables are added to
    timeout: float | None = None
    rerun: int = 0
    job: str | None = None  # the scheduler's job and task ("5_3") on a cluster
    extra_env: Mapping[str, str] = field(default_factory=dict)


def execute_point(
    request: RunRequest,
    checkout: Checkout,
    how: Execution,
    processes: ProcessTable,
    ledger: Ledger,
    after: int | None = None,
) -> Run:
    """Run one point as a new attempt and return its final record (already given to ``ledger``).

    ``after`` is the highest attempt the caller knows of (from the store), to save listing the folder.
    """
    folder = point_dir(how.runs_root, request.sweep, request.index, request.commit, request.count)
    attempt, run_dir = claim_attempt(folder, after)
    run = Run(
        sweep=request.sweep, index=request.index, commit=request.commit, attempt=attempt, status="running",
        run_dir=str(run_dir), params=request.params, rerun=how.rerun, host=how.host, started=time.time(),
        command=how.command, job=how.job,
    )  # fmt: skip
    try:
        checkout.move_to(request.commit)
    except GitFailure as exc:
        status = "interrupted" if processes.stopping else "failed"
        return _end(ledger, run.ending(status, reason=str(exc)))
    env = {**environment(request, run_dir, how.base_env), **how.extra_env}
    try:
        process = spawn(how.command, checkout.path, env, run_dir)
    except OSError as exc:
        why = "command not found" if isinstance(exc, FileNotFoundError) else exc.strerror
        return _end(ledger, run.ending("failed", reason=f"{why}: {how.command[0]}"))
    processes.add(process, how.timeout)
    run = replace(run, pid=process.pid)
    ledger.started(run)  # with its pid: if gitgrid dies now, the next one finds the process and stops it
    code = process.wait()
    stopped = processes.remove(process)
    return _end(ledger, outcome(run, code, stopped, run_dir))


def _end(ledger: Ledger, run: Run) -> Run:
    ledger.ended(run)
    return run
