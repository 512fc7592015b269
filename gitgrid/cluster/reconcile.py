"""Bringing the store up to date with a cluster: collect finished run directories, then ask the scheduler.

For points whose task the scheduler says has ended without leaving a final record (time limit, memory,
node failure, cancelled), the scheduler's verdict is recorded, in the run's own directory where there is
one (its ``meta.json`` amended, so the record keeps its params and command), so that such a point never
passes for a success. The verdict's reason names the array task once, in parentheses
(``by the scheduler (array task 188_5 ended CANCELLED)``), so that ``status`` can group a hundred
points cancelled together as one line.

A task that runs several points (``--chunk``) is running one of them at a time: the others are counted
``pending`` (queued in a running task) until it starts them.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gitgrid.cluster.scheduler import CANCELLED, DONE, FAILED, PENDING, RUNNING, TIMEOUT, Scheduler, TaskState
from gitgrid.git.repository import Repository
from gitgrid.layout import Layout, Submission, claim_attempt, point_dir, run_dir_problem
from gitgrid.run.collect import collect_into, submission_runs_root, unfinished_runs
from gitgrid.run.contract import FINAL, Run, read_json_file, write_meta
from gitgrid.store import Job, Store
from gitgrid.sweep.record import Sweep

__all__ = ["Schedulers", "reconcile", "verdict_reason"]

Schedulers = Callable[[str], Scheduler]  # a scheduler by the name its jobs were recorded under

_VERDICT = {DONE: "failed", FAILED: "failed", TIMEOUT: "timeout", CANCELLED: "cancelled"}


def reconcile(
    repo: Repository, sweep: Sweep, store: Store, layout: Layout, schedulers: Schedulers
) -> dict[int, tuple[str, str]]:
    """Each point's state and reason: success, failed, timeout, cancelled, interrupted, pending, running
    or never run. Collects finished run directories first (from every runs root the sweep was submitted
    to), then asks each job's scheduler (found by ``schedulers``) about the rest."""
    jobs = {job.job_id: job for job in store.jobs.submitted(sweep.name)}
    tasks: dict[tuple[str, int], TaskState] = {}  # asked first: a task that ended left its record by now
    by_scheduler: dict[str, list[Job]] = {}
    for job in jobs.values():
        by_scheduler.setdefault(job.scheduler, []).append(job)
    for name, of_scheduler in by_scheduler.items():
        tasks.update(schedulers(name).states(of_scheduler))
    roots = {job_id: _runs_root(job.submission, layout) for job_id, job in jobs.items()}
    for root in {layout.runs_root, *roots.values()}:
        collect_into(store, repo, sweep, root)
    latest = {row.run.index: row.run for row in store.runs.records(sweep.name, None, latest_only=True)}
    states = {index: (run.status, run.reason or "") for index, run in latest.items()}
    submitted = store.jobs.tasks(sweep.name)
    if submitted:
        points = store.sweeps.points(sweep.name)
        for index, (job_id, task, since) in submitted.items():
            found = tasks.get((job_id, task))
            if index in points and found is not None:
                task_of = _Task(jobs[job_id], task, found, roots.get(job_id, layout.runs_root))
                state = _point_state(store, sweep, index, points[index], task_of, latest.get(index), since)
                if state is not None:
                    states[index] = state
    return states


def _runs_root(submission: str, layout: Layout) -> Path:
    """The runs root a submission used (from its submission.json), or the repository's."""
    return submission_runs_root(Submission(Path(submission)).record) or layout.runs_root


@dataclass(frozen=True)
class _Task:
    """One array task as the scheduler sees it, with its job and the runs root its points write to."""

    job: Job
    number: int
    found: TaskState
    runs_root: Path

    @property
    def name(self) -> str:
        return f"{self.job.job_id}_{self.number}"


def _point_state(
    store: Store,
    sweep: Sweep,
    index: int,
    point: tuple[str, Mapping[str, Any]],
    task: _Task,
    run: Run | None,
    since: float,
) -> tuple[str, str] | None:
    """The state of a submitted point as its task's state makes it (None: what the store says stands)."""
    state = task.found.state
    own = run if run is not None and run.job == task.name else None  # the task's run of it
    if own is not None and (state == DONE or _final(own, state)):
        return None  # a final record the task (or an earlier reconcile) wrote
    if own is None and run is not None and run.status in FINAL and (run.started or 0) >= since:
        return None  # run again since, elsewhere
    if state == RUNNING and task.job.chunk > 1 and not _started(sweep, index, point[0], task):
        return (PENDING, f"queued in running array task {task.name}")
    if state in (PENDING, RUNNING):
        return (state, task.found.detail)
    if state == DONE and own is None and Submission(Path(task.job.submission)).halted.exists():
        return None  # not started: --halt-after stopped the task before it (left to run later)
    return _record_verdict(store, sweep, index, point, task, own)


def _started(sweep: Sweep, index: int, commit: str, task: _Task) -> bool:
    """Whether a task that runs several points has started this one (its run directory says so)."""
    folder = point_dir(task.runs_root, sweep.name, index, commit, sweep.count)
    return any(r.job == task.name for r in unfinished_runs(folder))


def verdict_reason(task: str, state: str, detail: str) -> str:
    """Why a point ended as its task's scheduler says: ``by the scheduler (array task 12_5 ended
    TIMEOUT)``. The task is named once, in parentheses, where ``status`` looks for it to group."""
    reason = f"by the scheduler (array task {task} ended {detail or state})"
    if state == DONE:
        reason = f"array task {task} ended {detail or state} without finishing this point"
        reason += " (is the runs root reachable from the nodes?)"
    return reason


def _record_verdict(
    store: Store, sweep: Sweep, index: int, point: tuple[str, Mapping[str, Any]], task: _Task, own: Run | None
) -> tuple[str, str]:
    """A task ended without a final record for this point (or, stopped mid-run, with ``interrupted``):
    record what the scheduler says happened, in the run's own directory when there is one. The record is
    complete: the point's params (from the store) and the command (from the submission)."""
    status = _VERDICT[task.found.state]
    reason = verdict_reason(task.name, task.found.state, task.found.detail)
    commit, params = point
    command = tuple(_submitted_command(task.job))
    if own is not None:
        final = replace(own, status=status, reason=reason, ended=own.ended or time.time())
        final = replace(final, params=params, command=command or own.command)
        if run_dir_problem(own.run_dir, sweep.name, index) is None:  # a path from the store (#17)
            write_meta(final)
        store.runs.amend(final)
        return status, reason
    folder = point_dir(task.runs_root, sweep.name, index, commit, sweep.count)
    mine = [r for r in unfinished_runs(folder) if r.job == task.name]
    if mine:
        run = mine[-1]
    else:
        attempt, run_dir = claim_attempt(folder)
        run = Run(sweep.name, index, commit, attempt, status, str(run_dir), job=task.name)
    final = replace(run, status=status, reason=reason, ended=run.ended or time.time(), params=params)
    final = replace(final, command=command or run.command)
    write_meta(final)
    store.runs.ingest(final)
    return status, reason


def _submitted_command(job: Job) -> list[str]:
    """The command a submission ran (its ``submission.json``, read as a file a run could have written)."""
    try:
        command = read_json_file(Submission(Path(job.submission)).record).get("command")
    except (OSError, ValueError, AttributeError):
        return []
    return [str(word) for word in command] if isinstance(command, list) else []


def _final(run: Run, state: str) -> bool:
    """Whether the task's own record of a run stands against the scheduler's ``state``.

    SLURM signals every process of a cancelled or timed-out job at once, so the command may die of that
    SIGTERM before the task has heard it: the run then reads "killed by signal 15", which is the
    cancellation (or time limit), not a failure of the command.
    """
    if run.status == "interrupted":
        return False
    killed_by_scheduler = run.status == "failed" and run.exit_code == -signal.SIGTERM
    return not (killed_by_scheduler and state in (CANCELLED, TIMEOUT))
