"""Bringing the store up to date with a cluster: collect finished run directories, then ask the scheduler.

For points whose task the scheduler says has ended without leaving a final record (time limit, memory,
node failure, cancelled), the scheduler's verdict is recorded, in the run's own directory where there is
one, so that such a point never passes for a success.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

from gitgrid.cluster.scheduler import CANCELLED, DONE, FAILED, PENDING, RUNNING, TIMEOUT
from gitgrid.cluster.schedulers import get_scheduler
from gitgrid.git.repository import Repository
from gitgrid.layout import Layout, Submission, claim_attempt, point_dir
from gitgrid.run.collect import collect_into, submission_runs_root, unfinished_runs
from gitgrid.run.contract import FINAL, Run, write_meta
from gitgrid.store import Store
from gitgrid.sweep.record import Sweep

__all__ = ["reconcile"]

_VERDICT = {DONE: "failed", FAILED: "failed", TIMEOUT: "timeout", CANCELLED: "cancelled"}


def reconcile(repo: Repository, sweep: Sweep, store: Store, layout: Layout) -> dict[int, tuple[str, str]]:
    """Each point's state and reason: success, failed, timeout, cancelled, interrupted, pending, running
    or never run. Collects finished run directories first (from every runs root the sweep was submitted
    to), then asks the scheduler about the rest."""
    jobs = store.jobs.submitted(sweep.name)
    roots = {job.job_id: _runs_root(job.submission, layout) for job in jobs}
    tasks = {}  # asked before collecting: a task that ended by now left its final record to collect
    by_scheduler: dict[str, list[str]] = {}
    for job in jobs:
        by_scheduler.setdefault(job.scheduler, []).append(job.job_id)
    for name, job_ids in by_scheduler.items():
        tasks.update(get_scheduler(name).states(job_ids))
    for root in {layout.runs_root, *roots.values()}:
        collect_into(store, repo, sweep, root)
    latest = {row.run.index: row.run for row in store.runs.records(sweep.name, None, latest_only=True)}
    states = {index: (run.status, run.reason or "") for index, run in latest.items()}
    submitted = store.jobs.tasks(sweep.name)
    if not submitted:
        return states
    commits = {index: commit for index, (commit, _) in store.sweeps.points(sweep.name).items()}
    for index, (job_id, task, since) in submitted.items():
        found = tasks.get((job_id, task))
        if index not in commits or found is None:
            continue
        run = latest.get(index)
        own = run if run is not None and run.job == f"{job_id}_{task}" else None  # the task's run of it
        if own is not None and (found.state == DONE or _final(own, found.state)):
            continue  # a final record the task (or an earlier reconcile) wrote
        if own is None and run is not None and run.status in FINAL and (run.started or 0) >= since:
            continue  # run again since, elsewhere
        if found.state in (PENDING, RUNNING):
            states[index] = (found.state, found.detail)
        else:  # ended: killed (time limit, memory, node) or cancelled, perhaps mid-run
            verdict = _Verdict(job_id, task, found.state, found.detail, roots.get(job_id, layout.runs_root))
            states[index] = _record_verdict(store, sweep, index, commits[index], verdict, own)
    return states


def _runs_root(submission: str, layout: Layout) -> Path:
    """The runs root a submission used (from its submission.json), or the repository's."""
    return submission_runs_root(Submission(Path(submission)).record) or layout.runs_root


@dataclass(frozen=True)
class _Verdict:
    job_id: str
    task: int
    state: str
    detail: str
    runs_root: Path

    @property
    def job(self) -> str:
        return f"{self.job_id}_{self.task}"


def _record_verdict(
    store: Store, sweep: Sweep, index: int, commit: str, verdict: _Verdict, own: Run | None
) -> tuple[str, str]:
    """A task ended without a final record for this point (or, stopped mid-run, with ``interrupted``):
    record what the scheduler says happened, in the run's own directory when there is one."""
    status = _VERDICT[verdict.state]
    reason = f"array task {verdict.job} ended {verdict.detail or verdict.state}"
    if verdict.state == DONE:
        reason += " without finishing this point (is the runs root reachable from the nodes?)"
    if own is not None:
        final = replace(own, status=status, reason=reason)
        write_meta(final)
        store.runs.amend(final)
        return status, reason
    folder = point_dir(verdict.runs_root, sweep.name, index, commit, sweep.count)
    mine = [r for r in unfinished_runs(folder) if r.job == verdict.job]
    if mine:
        run = mine[-1]
    else:
        attempt, run_dir = claim_attempt(folder)
        run = Run(sweep.name, index, commit, attempt, status, str(run_dir), job=verdict.job)
    final = replace(run, status=status, reason=reason, ended=run.ended or time.time())
    write_meta(final)
    store.runs.ingest(final)
    return status, reason


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
