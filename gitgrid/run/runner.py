"""Running a sweep locally: N workers, each in its own checkout, every result stored as soon as it exists.

Resume is the default: points whose latest attempt succeeded are skipped, as are failed and timed-out
ones unless ``retry_failed``; never-run and interrupted points run. ``rerun`` runs every point again as
new attempts of a new rerun (or finishes an interrupted rerun). The sweep is locked while it runs, so no
point runs twice; attempts left ``running`` by a runner that was killed are marked interrupted (and their
process groups stopped) by the next one.

SIGINT/SIGTERM stop scheduling, stop every running command's process group, record those runs as
interrupted, and make :func:`run_sweep` return with the signal, so the CLI exits 130/143.
"""

from __future__ import annotations

import json
import math
import os
import queue
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from gitgrid.errors import GitgridWarning, RunError, SweepError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.run.checkouts import Checkout, sweep_files, worker_checkouts
from gitgrid.run.collect import catch_up
from gitgrid.run.contract import FINAL, Run, RunRequest, host, read_meta, run_requests, write_meta
from gitgrid.run.execute import Execution, execute_point
from gitgrid.run.intake import read_attempt
from gitgrid.run.locks import Held, hold
from gitgrid.run.preflight import command_file_warnings
from gitgrid.run.processes import ProcessTable, runs_in, spawn, stop_group
from gitgrid.run.series import note_problem, read_series
from gitgrid.store import Store, open_store
from gitgrid.sweep.catalog import find_sweep, list_points
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["RunOptions", "RunState", "RunSummary", "SetupFailed", "check_timeout", "run_sweep"]


class SetupFailed(RunError):
    """The ``--setup`` command failed in a worker's checkout: nothing can run there."""

    exit_code = 1


@dataclass(frozen=True)
class RunOptions:
    """How to run a sweep; the CLI's options, one for one."""

    jobs: int | None = None  # default: the number of cores
    where: str | None = None
    setup: str | None = None
    build: str | None = None  # shell command run in the checkout before every point
    timeout: float | None = None
    retry_failed: bool = False
    rerun: bool = False
    runs_root: Path | None = None
    watch: str | None = None
    maximize: bool = False
    grace: float = 5.0  # seconds between SIGTERM and SIGKILL
    halt_after: int | None = None  # stop starting points after this many failures


@dataclass
class RunState:
    """Progress of a run, for display; updated by the workers, read by whoever shows it."""

    total: int
    skipped: int
    started_at: float = field(default_factory=time.monotonic)
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    interrupted: int = 0
    running: int = 0
    best: tuple[float, int] | None = None  # (value of the watched metric, point index)
    first_failure: tuple[int, str] | None = None  # (point index, reason) of the first failed or timed-out run
    halted: bool = False  # --halt-after was reached: no new point was started after that

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.timed_out + self.interrupted

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
        """128 + signal after SIGINT/SIGTERM, 1 if any run failed or timed out, else 0."""
        if self.signal is not None:
            return 128 + self.signal
        return 1 if self.state.failed or self.state.timed_out else 0


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
    if not command or not command[0]:
        raise RunError("no command given: gitgrid run [SWEEP] -- CMD [ARGS...]")
    if options.jobs is not None and options.jobs < 1:
        raise RunError(f"-j {options.jobs}: at least one point at a time")
    _check_options(options)
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    layout, store = open_store(repo, options.runs_root)
    try:
        with _sweep_lock(layout, chosen.name):
            runner = _Runner(repo, chosen, layout, store, list(command), options)
            runner.warn = on_warning or _warn
            return runner.run(on_progress)
    finally:
        store.close()


def check_timeout(timeout: float | None) -> None:
    """Refuse a ``--timeout`` no run could have (NaN, infinite, zero or negative), before anything."""
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise RunError(f"--timeout {timeout}: give a positive, finite number of seconds")


def _check_options(options: RunOptions) -> None:
    check_timeout(options.timeout)
    if options.halt_after is not None and options.halt_after < 1:
        raise RunError(f"--halt-after {options.halt_after}: give a number of failures of at least 1")
    for name, command in (("--setup", options.setup), ("--build", options.build)):
        if command is not None and not command.strip():
            raise RunError(f"{name}: empty command")


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
        self.warn: Callable[[str], None] = _warn

    def run(self, on_progress: Callable[[RunState], None] | None) -> RunSummary:
        if not self.store.sweeps.sync(
            self.sweep, list_points(self.repo, self.sweep)
        ):  # git read once per tip
            raise SweepError(f"sweep '{self.sweep.name}' has no points (are its commits in this clone?)")
        self._close_orphans()
        catch_up(self.store, self.sweep, self.layout.runs_root)  # runs made elsewhere never run again
        options = self.options
        plan = self.store.progress.plan(
            self.sweep, options.where, rerun=options.rerun, retry_failed=options.retry_failed
        )
        todo, rerun, skipped = plan.points, plan.rerun, plan.skipped
        self.attempts = self.store.runs.attempts(self.sweep.name, (p.index for p in todo))
        self.state = RunState(total=len(todo), skipped=skipped)
        if options.watch:  # the best so far over the whole sweep, earlier runs included
            self.state.best = self.store.progress.best(self.sweep.name, options.watch, options.maximize)
        if todo:
            self._check_runs_root()
            builds = bool(self.options.build or self.options.setup)
            for warning in command_file_warnings(self.repo, self.sweep, self.command, builds):
                self.warn(warning)
            jobs = min(self.options.jobs or os.cpu_count() or 1, len(todo))
            work: queue.SimpleQueue[RunRequest] = queue.SimpleQueue()
            for request in run_requests(self.sweep, todo):
                work.put(request)
            self.how = Execution(
                command=tuple(self.command), runs_root=self.layout.runs_root, host=host(),
                base_env=dict(os.environ),  # copied once: os.environ decodes every value on each copy
                timeout=self.options.timeout, rerun=rerun, build=self.options.build,
            )  # fmt: skip
            files = sweep_files(self.sweep)
            with worker_checkouts(self.repo, self.layout, jobs, files) as checkouts, self._signals():
                self._supervise(checkouts, work, on_progress)
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

    def _close_orphans(self) -> None:
        """Runs a killed runner left 'running': stop what is left of them and record them interrupted."""
        for run_id, run in self.store.runs.running(self.sweep.name):
            if run.pid is not None and runs_in(run.pid, Path(run.run_dir)):
                stop_group(run.pid, signal.SIGKILL)
            point = self.store.sweeps.point(run.sweep, run.index) or PointRecord(run.index, run.commit)
            finished = read_attempt(Path(run.run_dir), point, run.sweep).run
            if finished is not None and finished.status in FINAL:  # it ended; only the store missed it
                series = read_series(Path(run.run_dir))
                self.store.runs.finish(run_id, note_problem(finished, series), series.rows)
                continue
            ended = run.ending("interrupted", reason="the runner was stopped before this run ended")
            self.store.runs.finish(run_id, ended)
            meta = read_meta(Path(run.run_dir))
            if meta is None and Path(run.run_dir).is_dir():
                write_meta(ended)
            elif meta is not None and meta.status == "running":
                write_meta(replace(meta, status="interrupted", ended=ended.ended, reason=ended.reason))

    # running ----------------------------------------------------------------------------------------
    def _supervise(
        self,
        checkouts: list[Checkout],
        work: queue.SimpleQueue[RunRequest],
        on_progress: Callable[[RunState], None] | None,
    ) -> None:
        for checkout in checkouts:  # serially: concurrent `git worktree add` calls trip over each other
            checkout.place(self.sweep.tip)  # the watch and mover start in each worker, in parallel
        threads = [threading.Thread(target=self._work, args=(c, work), daemon=True) for c in checkouts]
        for thread in threads:
            thread.start()
        last = 0.0
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.05)
            if self.stop.is_set():
                self.table.stop_all()
            self.table.tick()
            if on_progress is not None and time.monotonic() - last > 0.1:
                on_progress(self.state)
                last = time.monotonic()

    def _work(self, checkout: Checkout, work: queue.SimpleQueue[RunRequest]) -> None:
        extra = {"GITGRID_WORKER": str(checkout.number)}
        how = replace(self.how, extra_env=extra)
        try:
            while not self.stop.is_set() and not self.state.halted:
                try:
                    request = work.get_nowait()
                except queue.Empty:
                    return
                if self.options.setup and not self._setup(checkout):
                    return
                if self.stop.is_set() or self.state.halted:
                    return
                after = self.attempts.get(request.index, 0)
                execute_point(request, checkout, how, self.table, self, after)
        except BaseException as exc:
            if not self.stop.is_set():  # a git call cut short by Ctrl-C is not an error of its own
                self.error = self.error or _runs_root_error(exc, self.layout.runs_root, self.layout.store)
            self.stop.set()

    def _setup(self, checkout: Checkout) -> bool:
        """Run ``--setup`` in a checkout unless it ran there for this base; False if stopped."""
        setup = self.options.setup
        assert setup is not None
        stamp = self.layout.setup_stamp(checkout.number)
        done = {"command": setup, "base": self.sweep.base}
        if _read_json(stamp) == done:
            return True
        env = {**os.environ, "GITGRID_SWEEP": self.sweep.name, "GITGRID_WORKER": str(checkout.number)}
        log = self.layout.setup_log(self.sweep.name, checkout.number)
        if not _run_setup(checkout, setup, env, log, self.table):
            return False
        stamp.write_text(json.dumps(done))
        return True

    # the ledger execute_point records runs in -----------------------------------------------------
    def started(self, run: Run) -> None:
        # the store first: a runner killed between the two leaves a 'running' row (with the pid) that the
        # next one finds, stops and records, where a lone 'running' meta.json would say so forever
        run_id = self.store.runs.add(run)
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
                run_id = self.store.runs.add(run)
            else:
                with self._lock:
                    self.state.running -= 1
            self.store.runs.finish(run_id, run, series.rows)
            self._count(run)

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
        """On SIGINT/SIGTERM: stop scheduling and stop the running commands (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum: int, frame: FrameType | None) -> None:
            self.signal = self.signal or signum
            self.stop.set()

        previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
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


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _run_setup(
    checkout: Checkout, command: str, env: Mapping[str, str], log: Path, table: ProcessTable
) -> bool:
    """Run ``--setup`` in a checkout (through the shell: it is one string); False if stopped."""
    log.parent.mkdir(parents=True, exist_ok=True)
    process = spawn(["/bin/sh", "-c", command], checkout.path, env, log)
    table.add(process, None)
    code = process.wait()
    if table.finish(process) is not None:
        return False
    if code != 0:
        raise SetupFailed(f"--setup failed in worker {checkout.number} (exit status {code}); see {log}")
    return True
