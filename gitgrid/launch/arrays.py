"""What every batch scheduler's launcher shares: points submitted as array jobs (:mod:`gitgrid.cluster`),
which outlive the process that submitted them.

:meth:`ArrayLauncher.launch` returns once the arrays are queued; :meth:`ArrayLauncher.wait` follows them,
asking the scheduler every ``poll`` seconds (the scheduler has no way to tell; this is the one place that
asks), and returns when every launched point has a final record made since the launch, or when every
task of its jobs has ended (a task killed before it could write one gets the scheduler's verdict).
SIGINT, SIGTERM or SIGHUP stop the waiting, not the jobs: ``gitgrid cancel`` does that.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import ClassVar

from gitgrid.cluster.reconcile import reconcile
from gitgrid.cluster.scheduler import PENDING, RUNNING, Scheduler
from gitgrid.cluster.submit import SubmitOptions, cancel_jobs, submit_sweep
from gitgrid.git.repository import Repository
from gitgrid.launch.launcher import Launch, Launcher, Progress, Warn, as_repository
from gitgrid.launch.registry import scheduler_of
from gitgrid.run.contract import FINAL
from gitgrid.run.runner import RunOptions, RunState, RunSummary
from gitgrid.store import Job, open_store
from gitgrid.sweep.catalog import find_sweep
from gitgrid.sweep.record import Sweep

__all__ = ["ArrayLauncher"]


class ArrayLauncher(Launcher):
    """Points as tasks of array jobs on ``scheduler``; ``--opt`` keys it does not know itself become
    the scheduler's directives."""

    takes = frozenset({"opt", "array_limit", "chunk", "template"})
    option_keys: ClassVar[frozenset[str] | None] = None
    scheduler: ClassVar[type[Scheduler]]

    def _scheduler(self) -> Scheduler:
        return self.scheduler(self.settings.options)

    def launch(
        self,
        command: Sequence[str],
        sweep: str | None = None,
        repo: Repository | Path | str = ".",
        options: RunOptions | None = None,
        *,
        dry_run: bool = False,
        on_progress: Progress | None = None,
        on_warning: Warn | None = None,
    ) -> Launch:
        if not dry_run:
            self._scheduler().check_available()  # before anything else: the one thing to say then
        repo, options = as_repository(repo), options or RunOptions()
        settings = self.settings
        limit = settings.array_limit or options.jobs  # -j: points at a time, as --array-limit says here
        submit = SubmitOptions(limit, settings.chunk, settings.template, settings.options)
        done = submit_sweep(
            command, sweep, repo, options, self._scheduler(), submit, scheduler_of, dry_run, on_warning
        )
        began = min((job.submitted for job in _jobs(repo, done.sweep, done.job_ids)), default=0.0)
        return Launch(
            self.name, done.sweep.name, done.points, done.skipped, tuple(done.job_ids), submission=done,
            dry_run=dry_run, left=done.left, repo=repo.root, options=options, launched=began,
            reused=done.reused,
        )  # fmt: skip

    def wait(self, launch: Launch, on_progress: Progress | None = None) -> RunSummary:
        if launch.summary is not None or not launch.points or launch.repo is None:
            return super().wait(launch, on_progress)
        repo = as_repository(launch.repo)
        sweep = find_sweep(repo, launch.sweep)
        failed_before = launch.submission.failed_before if launch.submission is not None else 0
        state = RunState(len(launch.points), launch.skipped, failed_before)
        state.reused = dict(launch.reused)
        with _stopping() as stop:
            while True:
                ended = self._tasks_ended(repo, sweep, launch)  # before: what ended by now left its record
                if self._count(repo, sweep, launch, state) or ended:
                    break
                if on_progress is not None:
                    on_progress(state)
                if stop.event.wait(self.settings.poll):
                    break
        if on_progress is not None:
            on_progress(state)
        return RunSummary(launch.sweep, state, stop.signal)

    def _tasks_ended(self, repo: Repository, sweep: Sweep, launch: Launch) -> bool:
        """Whether the scheduler says every task of the launch's jobs has ended (False when it says
        nothing: it may not know them yet, or no longer)."""
        jobs = _jobs(repo, sweep, launch.jobs)
        tasks = self._scheduler().states(jobs) if jobs else {}
        return bool(tasks) and all(task.state not in (PENDING, RUNNING) for task in tasks.values())

    def _count(self, repo: Repository, sweep: Sweep, launch: Launch, state: RunState) -> bool:
        """Bring the store up to date and count the launch's points in ``state``; True when every one
        has a final record made since the launch."""
        layout, store = open_store(repo, launch.options.runs_root)
        try:
            states = reconcile(repo, sweep, store, layout, scheduler_of)
            latest = {row.run.index: row.run for row in store.runs.records(sweep.name)}
            if launch.options.watch:
                state.best = store.progress.best(sweep.name, launch.options.watch, launch.options.maximize)
        finally:
            store.close()
        counts = dict.fromkeys(("success", "failed", "timeout", "interrupted", "cancelled"), 0)
        finished = running = 0
        for index in launch.points:
            status, reason = states.get(index, ("never run", ""))
            run = latest.get(index)
            if status in FINAL and run is not None and (run.ended or 0) >= launch.launched:
                counts[status] += 1  # a final record since the launch, which the scheduler does not contest
                finished += 1
                if status in ("failed", "timeout") and state.first_failure is None:
                    state.first_failure = (index, reason or status)
            running += status == RUNNING
        state.succeeded, state.failed, state.timed_out = (
            counts["success"],
            counts["failed"],
            counts["timeout"],
        )
        state.interrupted = counts["interrupted"] + counts["cancelled"]
        state.running = running
        return finished == len(launch.points)

    def in_flight(self, repo: Repository | Path | str, sweep: str | None) -> Launch | None:
        repo = as_repository(repo)
        chosen = find_sweep(repo, sweep)
        layout, store = open_store(repo)
        try:
            states = reconcile(repo, chosen, store, layout, scheduler_of)
            submitted = store.jobs.tasks(chosen.name)
            mine = {
                job.job_id: job for job in store.jobs.submitted(chosen.name) if job.scheduler == self.name
            }
        finally:
            store.close()
        busy = [
            i
            for i, (s, _) in states.items()
            if s in (PENDING, RUNNING) and submitted.get(i, ("",))[0] in mine
        ]
        if not busy:
            return None
        jobs = sorted({submitted[i][0] for i in busy})
        since = min(submitted[i][2] for i in busy)
        return Launch(self.name, chosen.name, tuple(sorted(busy)), jobs=tuple(jobs), repo=repo.root,
                      launched=since)  # fmt: skip

    def states(self, repo: Repository | Path | str, sweep: str | None) -> dict[int, tuple[str, str]]:
        repo = as_repository(repo)
        chosen = find_sweep(repo, sweep)
        layout, store = open_store(repo)
        try:
            return reconcile(repo, chosen, store, layout, scheduler_of)
        finally:
            store.close()

    def cancel(self, repo: Repository | Path | str, sweep: str | None) -> list[str]:
        return [f"{self.name} job {job}" for job in cancel_jobs(repo, sweep, self._scheduler())]


def _jobs(repo: Repository, sweep: Sweep, ids: Sequence[str]) -> list[Job]:
    if not ids:
        return []
    _, store = open_store(repo)
    try:
        return [job for job in store.jobs.submitted(sweep.name) if job.job_id in ids]
    finally:
        store.close()


class _Stop:
    """SIGINT, SIGTERM and SIGHUP end the waiting; ``signal`` is the first that came."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = self.signal or signum
        self.event.set()


@contextmanager
def _stopping() -> Iterator[_Stop]:
    """A :class:`_Stop` that signals set (handlers installed from the main thread only)."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {s: signal.signal(s, stop.handle) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            with suppress(ValueError, TypeError):
                signal.signal(signum, handler)
