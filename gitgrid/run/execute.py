"""Running one point, wherever it runs: the local runner's workers and cluster array tasks both call
:func:`execute_point`.

The steps are always the same: claim the next attempt folder, move the checkout to the point's commit,
build it (``--build``, after ``git clean -fdx`` with ``--clean-build``; a build that read a file the
point changed and wrote nothing fails the point as stale: :mod:`gitgrid.run.stale`), start the command
in its own process group under the ``GITGRID_*`` contract, wait until its whole group is gone, judge the
outcome (exit status, stop reason, ``result.json``), and record the run as it starts and as it ends.
What differs between the two places is only *where* runs are recorded (a :class:`Ledger`: the store and
``meta.json`` locally, ``meta.json`` alone on a node) and who stops the processes (the
:class:`ProcessTable` they share).

A stage's run (``gitgrid analyze``: the request carries a :class:`~gitgrid.run.stage.StageInput`) goes
the same way, in a checkout of the analysis code rather than of the point, with the stage's variables, and
fails when its command changed the simulation's run directory it read (:class:`~gitgrid.run.stage.Snapshot`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from gitgrid.errors import GitFailure, GitgridWarning
from gitgrid.git.checkout import clean
from gitgrid.layout import BUILD_LOG, STDERR, STDOUT, claim_attempt, point_dir
from gitgrid.run.checkouts import Checkout
from gitgrid.run.contract import Run, RunRequest, environment, outcome
from gitgrid.run.processes import CannotStart, ProcessTable, spawn
from gitgrid.run.stage import Snapshot
from gitgrid.store.record import run_key

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
    build: str | None = None  # shell command run in the checkout before every point (``--build``)
    clean_build: bool = False  # ``git clean -fdx`` in the checkout before every build
    warn: Callable[[str], None] | None = None  # said once: what cannot be checked (default: warnings)
    recipe: str | None = None  # recipe_of(command, --build, --setup): with a point's tree, its run key


def execute_point(
    request: RunRequest,
    checkout: Checkout,
    how: Execution,
    processes: ProcessTable,
    ledger: Ledger,
    after: int | None = None,
    claimed: tuple[int, Path] | None = None,
) -> Run:
    """Run one point as a new attempt and return its final record (already given to ``ledger``).

    ``after`` is the highest attempt the caller knows of (from the store), to save listing the folder;
    ``claimed`` an attempt folder the caller made already (``analyze --all`` writes its manifest first).
    ``OSError`` means the runs root cannot be written (full, read-only): nothing of this point is left
    running, and the caller should stop.
    """
    if claimed is None:
        folder = point_dir(how.runs_root, request.sweep, request.index, request.commit, request.count)
        claimed = claim_attempt(folder, after)
    attempt, run_dir = claimed
    stage = request.stage
    run = Run(
        sweep=request.sweep, index=request.index, commit=request.commit, attempt=attempt, status="running",
        run_dir=str(run_dir), params=request.params, rerun=how.rerun, host=how.host, started=time.time(),
        command=how.command, job=how.job, reads=stage.reads if stage else None,
        analysis=stage.analysis if stage else None, recipe=None if stage else how.recipe or None,
        key=run_key(request.tree, how.recipe) if request.tree and how.recipe and not stage else None,
    )  # fmt: skip
    env = {**environment(request, run_dir, how.base_env), **how.extra_env}
    problem = _prepare(request, checkout, how, processes, env, run_dir)
    if problem is not None:
        status, reason = problem
        return _end(ledger, run.ending(status, reason=reason))
    watched = Snapshot.of(stage.watched) if stage is not None else None
    try:
        process = spawn(how.command, checkout.path, env, run_dir / STDOUT, run_dir / STDERR)
    except CannotStart as exc:
        return _end(ledger, run.ending("failed", reason=str(exc)))
    processes.add(process, how.timeout)
    run = replace(run, pid=process.pid)
    try:
        ledger.started(run)  # with its pid: if gitgrid dies now, the next one finds the process and stops it
    except BaseException:
        processes.abandon(process)
        raise
    code = process.wait()
    stopped = processes.finish(process)  # the whole group is gone: the checkout is free
    ended = outcome(run, code, stopped, run_dir)
    changed = watched.changed() if watched is not None else None
    if changed is not None:  # whatever the command said: what it read is no longer what it was
        ended = ended.ending("failed", reason=changed, metrics={})
    return _end(ledger, ended)


def _prepare(
    request: RunRequest,
    checkout: Checkout,
    how: Execution,
    processes: ProcessTable,
    env: Mapping[str, str],
    run_dir: Path,
) -> tuple[str, str] | None:
    """Move the checkout to the point and build it; the status and reason of a run that cannot go on."""
    try:
        checkout.move_to(request.checkout)
        if how.build is not None and how.clean_build:
            clean(checkout.path)
    except GitFailure as exc:
        return ("interrupted" if processes.stopping else "failed", str(exc))
    if how.build is None:
        return None
    guard = checkout.build_guard(how.warn or _warn)
    if guard is None:
        return _build(how.build, checkout, processes, env, run_dir / BUILD_LOG)
    guard.begin()
    try:
        problem = _build(how.build, checkout, processes, env, run_dir / BUILD_LOG)
    except BaseException:
        guard.end(built=False)
        raise
    stale = guard.end(built=problem is None)  # a build that read what the point changed, and wrote nothing
    return ("failed", stale) if problem is None and stale is not None else problem


def _build(
    command: str, checkout: Checkout, processes: ProcessTable, env: Mapping[str, str], log: Path
) -> tuple[str, str] | None:
    """Run ``--build`` in the checkout; the status and reason of a build that failed or was stopped."""
    try:
        build = spawn(["/bin/sh", "-c", command], checkout.path, env, log)
    except CannotStart as exc:
        return ("failed", f"build failed: {exc}")
    processes.add(build, None)
    code = build.wait()
    stopped = processes.finish(build)
    if stopped is not None:
        return stopped
    if code != 0:
        why = f"exit status {code}" if code > 0 else f"killed by signal {-code}"
        return ("failed", f"build failed ({why}); its output is in {BUILD_LOG}")
    return None


def _warn(message: str) -> None:
    warnings.warn(message, GitgridWarning, stacklevel=2)


def _end(ledger: Ledger, run: Run) -> Run:
    ledger.ended(run)
    return run
