"""Running a sweep locally: N workers, each in its own checkout, every result stored as soon as it exists.

Resume is the default: points whose latest attempt succeeded are skipped, as are failed and timed-out
ones unless ``retry_failed``; never-run and interrupted points run. ``rerun`` runs every point again as
new attempts of a new rerun (or finishes an interrupted rerun). The sweep is locked while it runs, so no
point runs twice; attempts left ``running`` by a runner that was killed are marked interrupted (and their
process groups stopped) by the next one.

SIGINT/SIGTERM/SIGHUP stop scheduling, stop every running command's process group, record those runs
as interrupted, and make :func:`run_sweep` return with the signal, so the CLI exits 130/143/129.

With ``stage`` (``gitgrid analyze``) the points run are those of a stage's records whose analysis is not
current, each in a checkout of the analysis code (:mod:`gitgrid.run.target`).
"""

from __future__ import annotations

import math
import os
import queue
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from gitgrid.errors import GitgridWarning, RunError, SweepError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.run.checkouts import Checkout, worker_checkouts
from gitgrid.run.collect import catch_up
from gitgrid.run.contract import Run, RunRequest, host, run_requests, write_meta
from gitgrid.run.execute import Execution, execute_point
from gitgrid.run.locks import Held, hold
from gitgrid.run.orphans import close_orphans
from gitgrid.run.processes import ProcessTable
from gitgrid.run.series import note_problem, read_series
from gitgrid.run.setup import SetupFailed, SetupRefused, setup_once
from gitgrid.run.stage import StageOrder
from gitgrid.run.target import checkout_files, launch_target, plan_for, preflight, start_commit
from gitgrid.store import Recorder, Store, open_store
from gitgrid.sweep.catalog import find_sweep, list_points
from gitgrid.sweep.record import Sweep

__all__ = [
    "STOPPING",
    "RunOptions",
    "RunState",
    "RunSummary",
    "SetupFailed",
    "SetupRefused",
    "check_options",
    "check_timeout",
    "run_sweep",
]

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # each stops a run the same way


@dataclass(frozen=True)
class RunOptions:
    """How to run a sweep; the CLI's options, one for one."""

    jobs: int | None = None  # default: the number of cores
    where: str | None = None
    setup: str | None = None
    build: str | None = None  # shell command run in the checkout before every point
    clean_build: bool = False  # git clean -fdx in the checkout before every build
    timeout: float | None = None
    retry_failed: bool = False
    rerun: bool = False
    runs_root: Path | None = None
    watch: str | None = None
    maximize: bool = False
    grace: float = 5.0  # seconds between SIGTERM and SIGKILL
    halt_after: int | None = None  # stop starting points after this many failures
    stage: StageOrder | None = None  # gitgrid analyze: run this stage (rerun: every point again)
    reuse: bool = True  # record a point whose run key a stored success has as reused, not run (run.reuse)


@dataclass
class RunState:
    """Progress of a run, for display; updated by the workers, read by whoever shows it.

    ``skipped`` points were not run by this call: ``done_before`` of them succeeded before,
    ``failed_before`` failed or timed out before (``retry_failed`` runs them), and ``underway`` have a
    run under way elsewhere (a cluster task's ``running``, a ``prepared`` folder).
    """

    total: int
    skipped: int
    failed_before: int = 0
    underway: int = 0
    started_at: float = field(default_factory=time.monotonic)
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    interrupted: int = 0
    running: int = 0
    best: tuple[float, int] | None = None  # (value of the watched metric, point index)
    unread: int = 0  # a stage's: chosen points with no successful simulation run to read (not counted)
    first_failure: tuple[int, str] | None = None  # (point index, reason) of the first failed or timed-out run
    halted: bool = False  # --halt-after was reached: no new point was started after that
    reused: dict[str, int] = field(default_factory=dict)  # points reused, by the sweep of their source

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.timed_out + self.interrupted

    @property
    def done_before(self) -> int:
        return self.skipped - self.failed_before - self.underway

    @property
    def remaining(self) -> int:
        return self.total - self.done - self.running

    def eta(self) -> float | None:
        """Seconds left at the pace so far (None before the first run ends)."""
        if not self.done:
            return None
        return (time.monotonic() - self.started_at) / self.done * (self.total - self.done)


@dataclass(frozen=True)
class RunSummary:
    """What a call of :func:`run_sweep` did."""

    sweep: str
    state: RunState
    signal: int | None = None

    @property
    def exit_code(self) -> int:
        """128 + signal after SIGINT/SIGTERM/SIGHUP; 1 if any chosen point ends this call failed or timed out,
        whether it ran now or was skipped as failed before (a resume must not hide failures); else 0."""
        if self.signal is not None:
            return 128 + self.signal
        state = self.state
        return 1 if state.failed or state.timed_out or state.failed_before else 0


def run_sweep(
    command: Sequence[str],
    sweep: str | None = None,
    repo: Repository | Path | str = ".",
    options: RunOptions = RunOptions(),
    on_progress: Callable[[RunState], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run ``command`` once per point of ``sweep`` (default: the newest) as ``options`` say.

    Warnings found before the first point (a script the command names is not committed, say) go to
    ``on_warning`` at once, or else are issued as :class:`~gitgrid.errors.GitgridWarning`.
    """
    check_options(command, options)
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = launch_target(repo, sweep, options.stage)
    layout, store = open_store(repo, options.runs_root)
    try:
        with _sweep_lock(layout, chosen.name):
            # read again under the lock: `create --force` may have replaced the sweep meanwhile (#17)
            chosen = find_sweep(repo, chosen.name)
            runner = _Runner(repo, chosen, layout, store, list(command), options)
            runner.warn = on_warning or _warn
            return runner.run(on_progress)
    finally:
        store.close()


def check_timeout(timeout: float | None) -> None:
    """Refuse a ``--timeout`` no run could have (NaN, infinite, zero or negative), before anything."""
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise RunError(f"--timeout {timeout}: give a positive, finite number of seconds")


def check_options(command: Sequence[str], options: RunOptions) -> None:
    """Refuse a run no launcher could carry out (no command, -j 0, a NaN timeout, an empty --build),
    before anything is written."""
    if not command or not command[0]:
        raise RunError("no command given: gitgrid run [SWEEP] -- CMD [ARGS...]")
    if options.jobs is not None and options.jobs < 1:
        raise RunError(f"-j {options.jobs}: at least one point at a time")
    check_timeout(options.timeout)
    if options.halt_after is not None and options.halt_after < 1:
        raise RunError(f"--halt-after {options.halt_after}: give a number of failures of at least 1")
    for name, hook in (("--setup", options.setup), ("--build", options.build)):
        if hook is not None and not hook.strip():
            raise RunError(f"{name}: empty command")
    if options.clean_build and options.build is None:
        raise RunError("--clean-build cleans the checkout before each --build: give --build too")
    if options.clean_build and options.setup is not None:
        raise RunError(
            "--clean-build removes everything untracked in the checkout before each build, including "
            "what --setup made there: put the setup's steps in --build, or drop --clean-build"
        )


@contextmanager
def _sweep_lock(layout: Layout, sweep: str) -> Iterator[None]:
    """Hold the sweep's run lock; a second runner is refused, naming the first one's pid."""
    try:
        with hold(layout.sweep_lock(sweep)):
            yield
    except Held as held:
        raise RunError(
            f"sweep '{sweep}' is already being run by gitgrid (pid {held.holder}); "
            "wait for it to finish or stop it, then run again: finished points are kept"
        ) from None


class _Runner:
    def __init__(
        self,
        repo: Repository,
        sweep: Sweep,
        layout: Layout,
        store: Store,
        command: list[str],
        options: RunOptions,
    ) -> None:
        self.repo, self.sweep, self.layout, self.store = repo, sweep, layout, store
        self.command, self.options = command, options
        self.table = ProcessTable(grace=options.grace)
        self.stop = threading.Event()
        self.signal: int | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}  # store id of each started run, by run directory
        self.recorder = Recorder(store.runs)  # one store write per point: an end goes with the next write
        self.warn: Callable[[str], None] = _warn
        self._warned: set[str] = set()
        self._setups = threading.Barrier(1)  # every worker's --setup ends before any point starts

    def run(self, on_progress: Callable[[RunState], None] | None) -> RunSummary:
        if not self.store.sweeps.sync(
            self.sweep, list_points(self.repo, self.sweep)
        ):  # git read once per tip
            raise SweepError(f"sweep '{self.sweep.name}' has no points (are its commits in this clone?)")
        close_orphans(self.store, self.sweep.name)  # runs a killed runner left 'running'
        catch_up(self.store, self.sweep, self.layout.runs_root)  # runs made elsewhere never run again
        options = self.options
        planned = plan_for(
            self.repo, self.store, self.layout.runs_root, self.sweep, options, options.stage, self.command
        )
        plan = planned.plan
        todo, rerun = plan.points, plan.rerun
        self.attempts = self.store.runs.attempts(self.sweep.name, (p.index for p in todo))
        self.state = RunState(len(todo), plan.skipped, plan.failed_before, plan.underway, unread=plan.unread)
        self.state.reused = dict(planned.reused)
        if options.watch:  # the best so far over the whole sweep, earlier runs included
            self.state.best = self.store.progress.best(self.sweep.name, options.watch, options.maximize)
        if todo:
            self._check_runs_root()
            builds = bool(self.options.build or self.options.setup)
            preflight(
                self.repo, self.sweep, self.command, options.stage, builds, self.warn
            )  # before any fails
            jobs = min(self.options.jobs or os.cpu_count() or 1, len(todo))
            work: queue.SimpleQueue[RunRequest] = queue.SimpleQueue()
            for request in run_requests(self.sweep, todo, planned.trees, options.stage, plan.reads):
                work.put(request)
            self.how = Execution(
                command=tuple(self.command), runs_root=self.layout.runs_root, host=host(),
                base_env=dict(os.environ),  # copied once: os.environ decodes every value on each copy
                timeout=self.options.timeout, rerun=rerun, build=self.options.build,
                clean_build=self.options.clean_build, warn=self.warn_once, recipe=planned.recipe,
            )  # fmt: skip
            files = checkout_files(self.sweep, options.stage)
            try:
                with worker_checkouts(self.repo, self.layout, jobs, files) as checkouts, self._signals():
                    self._supervise(checkouts, work, on_progress)
            finally:
                self._flush()
        if on_progress is not None:
            on_progress(self.state)
        if self.error is not None:
            raise self.error
        return RunSummary(self.sweep.name, self.state, self.signal)

    def _check_runs_root(self) -> None:
        try:
            self.layout.check_writable(self.sweep.name)
        except OSError as exc:
            raise RunError(f"runs root {self.layout.runs_root} is not writable: {exc.strerror}") from None

    # running ----------------------------------------------------------------------------------------
    def _supervise(
        self,
        checkouts: list[Checkout],
        work: queue.SimpleQueue[RunRequest],
        on_progress: Callable[[RunState], None] | None,
    ) -> None:
        start = start_commit(self.sweep, self.options.stage)
        for checkout in checkouts:  # serially: concurrent `git worktree add` calls trip over each other
            checkout.place(start)  # the watch and mover start in each worker, in parallel
        self._setups = threading.Barrier(len(checkouts))
        threads = [threading.Thread(target=self._work, args=(c, work), daemon=True) for c in checkouts]
        for thread in threads:
            thread.start()
        last = 0.0
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.05)
            if self.stop.is_set():
                self.table.stop_all()
            self.table.tick()
            self._flush()
            if on_progress is not None and time.monotonic() - last > 0.1:
                on_progress(self.state)
                last = time.monotonic()

    def _work(self, checkout: Checkout, work: queue.SimpleQueue[RunRequest]) -> None:
        extra = {"GITGRID_WORKER": str(checkout.number)}
        how = replace(self.how, extra_env=extra)
        try:
            if not self._ready(checkout):
                return
            while not self.stop.is_set() and not self.state.halted:
                try:
                    request = work.get_nowait()
                except queue.Empty:
                    return
                if self.stop.is_set() or self.state.halted:
                    return
                after = self.attempts.get(request.index, 0)
                execute_point(request, checkout, how, self.table, self, after)
        except BaseException as exc:
            if not self.stop.is_set():  # a git call cut short by Ctrl-C is not an error of its own
                self.error = self.error or _runs_root_error(exc, self.layout.runs_root, self.layout.store)
            self.stop.set()

    def _ready(self, checkout: Checkout) -> bool:
        """Run ``--setup`` here, then wait for every worker's: a refused or failed setup stops them all
        before any point runs. False if stopped."""
        if not self.options.setup:
            return True
        try:
            ready = self._setup(checkout)
        except BaseException:
            self._setups.abort()
            raise
        if not ready:
            self._setups.abort()
            return False
        try:
            self._setups.wait()
        except threading.BrokenBarrierError:
            return False
        return True

    def _setup(self, checkout: Checkout) -> bool:
        """Run ``--setup`` in a checkout unless it ran there already (:func:`setup_once`)."""
        assert self.options.setup is not None
        guard = checkout.build_guard(self.warn_once)
        return setup_once(self.layout, self.sweep, checkout, self.options.setup, self.table, guard)

    def warn_once(self, message: str) -> None:
        """A warning each worker may find (inotify missing), said once."""
        with self._lock:
            if message in self._warned:
                return
            self._warned.add(message)
        self.warn(message)

    # the ledger execute_point records runs in -----------------------------------------------------
    def started(self, run: Run) -> None:
        # the store first: a runner killed between the two leaves a 'running' row (with the pid) that the
        # next one finds, stops and records, where a lone 'running' meta.json would say so forever
        run_id = self.recorder.started(run)
        try:
            write_meta(run)
        except BaseException:  # a full disk: the command is stopped (execute_point), say so in the store
            self.store.runs.finish(
                run_id, run.ending("interrupted", reason="its meta.json could not be written")
            )
            raise
        self._ids[run.run_dir] = run_id
        with self._lock:
            self.state.running += 1

    def ended(self, run: Run) -> None:
        series = read_series(Path(run.run_dir))
        run = note_problem(run, series)
        try:
            write_meta(run)
        finally:  # the store learns how the run ended even when meta.json cannot be written (disk full)
            run_id = self._ids.pop(run.run_dir, None)
            if run_id is None:  # it never started (checkout failed, command not found)
                self.store.runs.ingest(run, series.rows)
            else:
                with self._lock:
                    self.state.running -= 1
                self.recorder.ended(run_id, run, series.rows)  # stored with the next write (meta.json has it)
            self._count(run)

    def _flush(self) -> None:
        """Store the ends of runs the recorder holds; a store that refuses stops the run (their meta.json
        files are final: the next runner records them)."""
        try:
            self.recorder.flush()
        except BaseException as exc:
            self.error = self.error or exc
            self.stop.set()

    def _count(self, run: Run) -> None:
        with self._lock:
            state = self.state
            if run.status == "success":
                state.succeeded += 1
                self._watch(run)
            elif run.status == "interrupted":
                state.interrupted += 1
            else:
                state.timed_out += run.status == "timeout"
                state.failed += run.status != "timeout"
                self._failure(run)

    def _failure(self, run: Run) -> None:
        """Keep the first failure's reason; halt (finish what runs, start nothing) after ``halt_after``."""
        state = self.state
        if state.first_failure is None:
            state.first_failure = (run.index, run.reason or run.status)
        limit = self.options.halt_after
        if limit is not None and state.failed + state.timed_out >= limit:
            state.halted = True

    def _watch(self, run: Run) -> None:
        name = self.options.watch
        if name is None or name not in run.metrics:
            return
        value = run.metrics[name]
        if math.isnan(value):  # NaN is never the best
            return
        best = self.state.best
        better = best is None or (value > best[0] if self.options.maximize else value < best[0])
        if better:
            self.state.best = (value, run.index)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """On SIGINT, SIGTERM or SIGHUP (the terminal closed: the commands, in process groups of their
        own, would not hear of it and run on, orphaned): stop scheduling and stop the running commands
        (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum: int, frame: FrameType | None) -> None:
            self.signal = self.signal or signum
            self.stop.set()

        previous = {s: signal.signal(s, handle) for s in STOPPING}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                with suppress(ValueError, TypeError):
                    signal.signal(signum, handler)


def _warn(message: str) -> None:
    warnings.warn(message, GitgridWarning, stacklevel=3)


def _runs_root_error(exc: BaseException, runs_root: Path, store: Path) -> BaseException:
    """A failure to write under the runs root or to the store (full, read-only, gone), as the one line it
    deserves."""
    if not isinstance(exc, OSError):
        return exc
    where = f"{exc.filename}" if exc.filename else str(runs_root)
    return RunError(
        f"cannot write {where}: {exc.strerror or exc}; the run stopped (finished points are kept): "
        f"free space in {runs_root} (or choose another with --runs-root) and run again"
    )
