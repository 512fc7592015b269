"""A Dask cluster (``--opt address=tcp://host:8786``): each point a task on the cluster's workers, run
there through the same :func:`~gitgrid.run.execute.execute_point` as every other point.

For users who outgrow one machine without a batch scheduler: a Dask cluster on the cloud or Kubernetes,
or dask-jobqueue on a cluster. The workers must share a filesystem with the repository: each task moves a
checkout of its own (a ``git clone --shared`` of the repository in the worker's scratch, kept for the
worker's life) and writes its run directory under the runs root, which this process reads back. Before
the first point each worker is asked to read a file written here and to write one; a worker that cannot
is named in the error. gitgrid (this version) must be importable on the workers.

This process stays connected while the points run (a Dask task lives as long as the client that
submitted it): it holds the sweep's run lock, keeps ``-j`` points in flight (default: every worker
thread), and stores each result as it comes back. A worker that dies mid-point is Dask's to handle: the
task runs again on another worker (as a new attempt; the one the dead worker left is recorded
``interrupted``), and after Dask's allowed failures the point is recorded ``failed``, saying so. Never
lost: every point launched ends with a record. Ctrl-C (or ``gitgrid cancel``) stops the commands on the
workers and records them ``interrupted``.
"""

from __future__ import annotations

import contextlib
import importlib
import secrets
import signal
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from gitgrid.errors import GitgridWarning, RunError
from gitgrid.git.repository import Repository
from gitgrid.launch.dask_worker import DaskJob, probe, run_point, stop_commands
from gitgrid.launch.launcher import Launch, Launcher, Progress, Warn, as_repository
from gitgrid.layout import Layout, attempt_number, attempts_in, claim_attempt, point_dir
from gitgrid.run.collect import catch_up
from gitgrid.run.contract import Run, RunRequest, host, read_meta, run_requests, write_meta
from gitgrid.run.locks import Held, hold
from gitgrid.run.processes import runs_in, stop_group
from gitgrid.run.runner import RunOptions, RunState, RunSummary, check_options
from gitgrid.run.series import note_problem, read_series
from gitgrid.run.target import checkout_files, launch_target, plan_for, planned_points, preflight
from gitgrid.store import Store, open_store
from gitgrid.sweep.catalog import list_points
from gitgrid.sweep.record import Sweep

__all__ = ["Dask"]

_CONNECT = 20  # seconds to reach the scheduler


class Dask(Launcher):
    name = "dask"
    description = (
        "a Dask cluster (`--opt address=tcp://host:8786`): each point a task on its workers, "
        "on a filesystem they share with the repository"
    )
    takes = frozenset({"opt"})
    option_keys = frozenset({"address", "scratch"})

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
        options = options or RunOptions()
        check_options(command, options)
        address = self.settings.option("address")
        if not address:
            raise RunError("--on dask needs the scheduler's address: --opt address=tcp://HOST:8786")
        if dry_run:
            chosen, plan = planned_points(sweep, repo, options, command)
            points = tuple(p.index for p in plan.points)
            return Launch(self.name, chosen.name, points, plan.skipped, dry_run=True)
        repo = as_repository(repo)
        chosen = launch_target(repo, sweep, options.stage)
        scratch = self.settings.option("scratch")
        layout, store = open_store(repo, options.runs_root)
        try:
            with _sweep_lock(layout, chosen.name):
                launch = _Launch(repo, chosen, layout, store, tuple(command), options, scratch, on_warning)
                summary = launch.run(address, on_progress)
        finally:
            store.close()
        return Launch(
            self.name,
            chosen.name,
            skipped=summary.state.skipped,
            summary=summary,
            repo=repo.root,
            options=options,
        )


@contextlib.contextmanager
def _sweep_lock(layout: Layout, sweep: str) -> Iterator[None]:
    try:
        with hold(layout.sweep_lock(sweep)):
            yield
    except Held as held:
        raise RunError(
            f"sweep '{sweep}' is already being run by gitgrid (pid {held.holder}); "
            "wait for it to finish or stop it, then run again: finished points are kept"
        ) from None


class _Launch:
    """One launch on a Dask cluster, from this process: submit, follow, store."""

    def __init__(
        self,
        repo: Repository,
        sweep: Sweep,
        layout: Layout,
        store: Store,
        command: tuple[str, ...],
        options: RunOptions,
        scratch: str | None,
        warn: Warn | None = None,
    ) -> None:
        self.repo, self.sweep, self.layout, self.store = repo, sweep, layout, store
        self.command, self.options, self.scratch = command, options, scratch
        self.warn: Warn = warn or _issue
        self.stop: int | None = None

    def run(self, address: str, on_progress: Progress | None) -> RunSummary:
        if not self.store.sweeps.sync(self.sweep, list_points(self.repo, self.sweep)):
            raise RunError(f"sweep '{self.sweep.name}' has no points (are its commits in this clone?)")
        catch_up(self.store, self.sweep, self.layout.runs_root)
        o = self.options
        planned = plan_for(self.repo, self.store, self.layout.runs_root, self.sweep, o, o.stage, self.command)
        plan = planned.plan
        state = RunState(
            len(plan.points), plan.skipped, plan.failed_before, plan.underway, unread=plan.unread
        )
        state.reused = dict(planned.reused)
        if plan.points:
            try:
                self.layout.check_writable(self.sweep.name)
            except OSError as exc:
                raise RunError(f"runs root {self.layout.runs_root} is not writable: {exc.strerror}") from None
            builds = bool(self.options.build or self.options.setup)
            preflight(self.repo, self.sweep, self.command, o.stage, builds, self.warn, elsewhere=True)
            job = self._job(plan.rerun, planned.recipe)
            after = self.store.runs.attempts(self.sweep.name, (p.index for p in plan.points))
            with _client(address) as client, self._signals():
                _check_workers(client, self.repo, self.layout, self.sweep.name)
                follower = _Follower(self, client, job, after, state, on_progress)
                follower.follow(run_requests(self.sweep, plan.points, planned.trees, o.stage, plan.reads))
        if on_progress is not None:
            on_progress(state)
        return RunSummary(self.sweep.name, state, self.stop)

    def _job(self, rerun: int, recipe: str) -> DaskJob:
        o = self.options
        return DaskJob(
            secrets.token_hex(8), self.command, str(self.repo.git_dir), str(self.layout.runs_root),
            checkout_files(self.sweep, o.stage), self.sweep.base, o.timeout, o.build, o.setup, rerun, o.grace,
            self.scratch, o.clean_build, recipe,
        )  # fmt: skip

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum: int, frame: FrameType | None) -> None:
            self.stop = self.stop or signum

        previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(signum, handler)


class _Follower:
    """Keeps ``-j`` points in flight on the cluster and records each as it ends."""

    def __init__(
        self,
        launch: _Launch,
        client: Any,
        job: DaskJob,
        after: dict[int, int],
        state: RunState,
        on_progress: Progress | None,
    ) -> None:
        self.launch, self.client, self.job, self.after = launch, client, job, after
        self.state, self.on_progress = state, on_progress
        threads = sum(client.nthreads().values()) or 1
        self.limit = launch.options.jobs or threads

    def follow(self, requests: Sequence[RunRequest]) -> None:
        waiting = list(requests)
        flying: dict[Any, RunRequest] = {}
        while waiting or flying:
            if self.launch.stop is not None:
                self._stop(flying)
                return
            while waiting and len(flying) < self.limit and not self.state.halted:
                request = waiting.pop(0)
                future = self.client.submit(run_point, request, self.job, pure=False, key=_key(request))
                flying[future] = request
            if self.state.halted:
                waiting = []
            done = _first_done(list(flying)) if flying else []
            for future in done:
                self._ended(flying.pop(future), future)
            self.state.running = len(flying)
            if self.on_progress is not None:
                self.on_progress(self.state)

    def _ended(self, request: RunRequest, future: Any) -> None:
        try:
            run: Run = future.result()
        except Exception as exc:  # KilledWorker after Dask's retries, or an error the task raised
            run = self._lost(request, exc)
        self._record(run)
        self._abandoned(request, run)

    def _record(self, run: Run) -> None:
        series = read_series(Path(run.run_dir))
        run = note_problem(run, series)
        self.launch.store.runs.ingest(run, series.rows)
        state = self.state
        if run.status == "success":
            state.succeeded += 1
        elif run.status in ("interrupted", "cancelled"):
            state.interrupted += 1
        else:
            state.timed_out += run.status == "timeout"
            state.failed += run.status != "timeout"
            state.first_failure = state.first_failure or (run.index, run.reason or run.status)
            limit = self.launch.options.halt_after
            state.halted = state.halted or (limit is not None and state.failed + state.timed_out >= limit)

    def _lost(self, request: RunRequest, exc: BaseException) -> Run:
        """The point's task failed as a task (its workers died, or it raised): its last attempt, or a new
        one, records why."""
        name = type(exc).__name__
        why = "its Dask workers died running it" if name == "KilledWorker" else f"on its Dask worker: {exc}"
        mine = self._attempts(request)
        if mine:
            run = mine.pop()
        else:
            attempt, run_dir = claim_attempt(self._folder(request))
            run = Run(request.sweep, request.index, request.commit, attempt, "failed", str(run_dir),
                      request.params, command=self.job.command)  # fmt: skip
        final = run.ending("failed", reason=f"{why} ({name})")
        write_meta(final)
        return final

    def _abandoned(self, request: RunRequest, run: Run) -> None:
        """Attempts of this launch that a dead worker left ``running``: recorded interrupted (their
        command stopped, when it runs on this machine)."""
        for left in self._attempts(request):
            if left.attempt == run.attempt:
                continue
            if left.pid is not None and left.host == host() and runs_in(left.pid, Path(left.run_dir)):
                stop_group(left.pid, signal.SIGKILL)
            why = f"its Dask worker was lost; the point ran again as attempt {run.attempt}"
            ended = left.ending("interrupted", reason=why)
            write_meta(ended)
            self.launch.store.runs.ingest(ended)  # not counted: the point itself ended with ``run``

    def _attempts(self, request: RunRequest) -> list[Run]:
        """This launch's attempts of the point whose ``meta.json`` still says running."""
        first = self.after.get(request.index, 0)
        found = []
        for folder in attempts_in(self._folder(request)):
            number = attempt_number(folder.name) or 0
            meta = read_meta(folder) if number > first else None
            if meta is not None and meta.status == "running":
                found.append(meta)
        return found

    def _folder(self, request: RunRequest) -> Path:
        job = self.job
        return point_dir(Path(job.runs_root), request.sweep, request.index, request.commit, request.count)

    def _stop(self, flying: dict[Any, RunRequest]) -> None:
        """Ctrl-C: stop the commands of this launch on every worker, then record how they ended."""
        with contextlib.suppress(Exception):
            self.client.run(stop_commands, self.job.token)
        with contextlib.suppress(Exception):  # a timeout: what has not ended by then is cancelled
            _distributed().wait(list(flying), timeout=self.job.grace + 10)
        for future, request in flying.items():
            if future.done():
                self._ended(request, future)
        self.client.cancel(list(flying))


def _first_done(futures: list[Any]) -> list[Any]:
    """The futures that are done, waiting a moment for the first (signals are looked at in between)."""
    try:
        _distributed().wait(futures, timeout=0.2, return_when="FIRST_COMPLETED")
    except TimeoutError:
        return []
    return [future for future in futures if future.done()]


def _issue(message: str) -> None:
    warnings.warn(message, GitgridWarning, stacklevel=3)


def _key(request: RunRequest) -> str:
    return f"gitgrid-{request.sweep}-{request.index}-{secrets.token_hex(4)}"


def _distributed() -> Any:
    """Dask's ``distributed``, imported where it is used (``gitgrid`` does not need it otherwise)."""
    try:
        return importlib.import_module("distributed")
    except ImportError:
        raise RunError("--on dask needs Dask: pip install 'dask[distributed]'") from None


@contextlib.contextmanager
def _client(address: str) -> Iterator[Any]:
    distributed = _distributed()
    try:
        client = distributed.Client(address, timeout=_CONNECT)  # the default: distributed.wait needs it
    except (OSError, TimeoutError) as exc:
        raise RunError(f"--opt address={address}: no Dask scheduler answers there ({exc})") from None
    try:
        yield client
    finally:
        client.close()


def _check_workers(client: Any, repo: Repository, layout: Layout, sweep: str) -> None:
    """Every worker must read what this process writes under the runs root, write there, and see the
    repository; the first that cannot is named."""
    token = secrets.token_hex(8)
    written = layout.sweep_runs(sweep) / f".dask-probe-{token}"
    written.write_text(token)
    try:
        try:
            answers = client.run(probe, str(repo.git_dir), str(written), token)
        except Exception as exc:
            raise RunError(f"the Dask workers cannot run gitgrid ({type(exc).__name__}: {exc}): "
                           "install this gitgrid where they run") from None  # fmt: skip
    finally:
        written.unlink(missing_ok=True)
    if not answers:
        raise RunError("the Dask cluster has no workers: start some (dask worker ADDRESS)")
    for worker, problem in sorted(answers.items()):
        if problem:
            raise RunError(
                f"Dask worker {worker} {problem}: --on dask needs the repository and the runs root on a "
                "filesystem the workers share with this machine (docs/cluster.md, Dask)"
            )
