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

import fcntl
import math
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import IO

from gitgrid.errors import RunError, SweepError
from gitgrid.git import Repository, open_repository
from gitgrid.places import Places, find_places
from gitgrid.runs import (
    FINAL,
    PointRun,
    Run,
    claim_attempt,
    environment,
    host,
    outcome,
    point_dir,
    read_meta,
    spawn,
    write_meta,
)
from gitgrid.spec import parse_spec
from gitgrid.store import Store
from gitgrid.sweeps import PointRecord, Sweep, find_sweep, list_points
from gitgrid.values import format_value
from gitgrid.workers import ProcessTable, Slot, acquire_slots, run_setup, runs_in, stop_group

__all__ = ["RunOptions", "RunState", "RunSummary", "open_store", "point_runs", "run_sweep"]


@dataclass(frozen=True)
class RunOptions:
    """How to run a sweep; the CLI's options, one for one."""

    jobs: int | None = None  # default: the number of cores
    where: str | None = None
    setup: str | None = None
    timeout: float | None = None
    retry_failed: bool = False
    rerun: bool = False
    runs_root: Path | None = None
    watch: str | None = None
    maximize: bool = False
    grace: float = 5.0  # seconds between SIGTERM and SIGKILL


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


def open_store(repo: Repository, runs_root: Path | None = None) -> tuple[Places, Store]:
    """The repository's places (created on first use) and its results store."""
    places = find_places(repo, runs_root)
    places.ensure(repo)
    return places, Store.open(places.store)


def point_runs(sweep: Sweep, points: Sequence[PointRecord]) -> list[PointRun]:
    """Points as runs need them: with the text each value is written as (the spec's ``format``)."""
    formats = {p.name: p.format for p in parse_spec(sweep.spec_text, source=sweep.tag).params}
    return [
        PointRun(
            sweep.name,
            p.index,
            sweep.count,
            p.commit,
            p.params,
            {n: format_value(v, formats.get(n)) for n, v in p.params.items()},
        )
        for p in points
    ]


def run_sweep(
    command: Sequence[str],
    sweep: str | None = None,
    repo: Repository | Path | str = ".",
    options: RunOptions = RunOptions(),
    on_progress: Callable[[RunState], None] | None = None,
) -> RunSummary:
    """Run ``command`` once per point of ``sweep`` (default: the newest) as ``options`` say."""
    if not command or not command[0]:
        raise RunError("no command given: gitgrid run [SWEEP] -- CMD [ARGS...]")
    if options.jobs is not None and options.jobs < 1:
        raise RunError(f"-j {options.jobs}: at least one point at a time")
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    places, store = open_store(repo, options.runs_root)
    try:
        with _sweep_lock(places, chosen.name):
            return _Runner(repo, chosen, places, store, list(command), options).run(on_progress)
    finally:
        store.close()


@contextmanager
def _sweep_lock(places: Places, sweep: str) -> Iterator[None]:
    """Hold the sweep's run lock; a second runner is refused, naming the first one's pid."""
    path = places.locks / (sweep.replace("/", "%2F") + ".lock")
    handle: IO[str] = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise RunError(
            f"sweep '{sweep}' is already being run by gitgrid (pid {holder}); "
            "wait for it to finish or stop it, then run again: finished points are kept"
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()


class _Runner:
    def __init__(
        self,
        repo: Repository,
        sweep: Sweep,
        places: Places,
        store: Store,
        command: list[str],
        options: RunOptions,
    ) -> None:
        self.repo, self.sweep, self.places, self.store = repo, sweep, places, store
        self.command, self.options = command, options
        self.table = ProcessTable(grace=options.grace)
        self.base_env = dict(os.environ)  # copied once: os.environ decodes every value on each copy
        self.host = host()
        self.stop = threading.Event()
        self.signal: int | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def run(self, on_progress: Callable[[RunState], None] | None) -> RunSummary:
        points = list(list_points(self.repo, self.sweep))
        if not points:
            raise SweepError(f"sweep '{self.sweep.name}' has no points (are its commits in this clone?)")
        self.store.sync_sweep(self.sweep, points)
        self._close_orphans()
        self.attempts = self.store.attempts(self.sweep.name)
        todo, self.rerun, skipped = self._todo(points)
        self.state = RunState(total=len(todo), skipped=skipped)
        if todo:
            self._check_runs_root()
            jobs = min(self.options.jobs or os.cpu_count() or 1, len(todo))
            work: queue.SimpleQueue[PointRun] = queue.SimpleQueue()
            for point in point_runs(self.sweep, todo):
                work.put(point)
            with acquire_slots(self.repo, self.places.worktrees, jobs) as slots, self._signals():
                self._supervise(slots, work, on_progress)
        if on_progress is not None:
            on_progress(self.state)
        if self.error is not None:
            raise self.error
        return RunSummary(self.sweep.name, self.state, self.signal)

    # what to run ----------------------------------------------------------------------------------
    def _todo(self, points: list[PointRecord]) -> tuple[list[PointRecord], int, int]:
        """The points to run now, the rerun they count in, and how many are skipped."""
        options = self.options
        chosen = points
        if options.where:
            keep = {p.index for p in list_points(self.repo, self.sweep, options.where)}
            chosen = [p for p in points if p.index in keep]
        rerun = self.store.max_rerun(self.sweep.name)
        if options.rerun:
            statuses = self.store.in_rerun(self.sweep.name, rerun)
            finished = rerun > 0 and all(statuses.get(p.index) in FINAL - {"interrupted"} for p in chosen)
            if rerun == 0 or finished:
                rerun, statuses = rerun + 1, {}
        else:
            statuses = {idx: status for idx, (status, _) in self.store.latest(self.sweep.name).items()}
        wanted = {None, "interrupted", "cancelled"} | (
            {"failed", "timeout"} if options.retry_failed else set()
        )
        todo = [p for p in chosen if statuses.get(p.index) in wanted]
        return todo, rerun, len(chosen) - len(todo)

    def _check_runs_root(self) -> None:
        folder = self.places.runs_root / self.sweep.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise RunError(f"runs root {self.places.runs_root} is not writable: {exc.strerror}") from None

    def _close_orphans(self) -> None:
        """Runs a killed runner left 'running': stop what is left of them and record them interrupted."""
        for run_id, run in self.store.running(self.sweep.name):
            if run.pid is not None and runs_in(run.pid, Path(run.run_dir)):
                stop_group(run.pid, signal.SIGKILL)
            ended = run.ending("interrupted", reason="the runner was stopped before this run ended")
            self.store.finish_run(run_id, ended)
            meta = read_meta(Path(run.run_dir))
            if meta is None and Path(run.run_dir).is_dir():
                write_meta(ended)
            elif meta is not None and meta.status == "running":
                write_meta(replace(meta, status="interrupted", ended=ended.ended, reason=ended.reason))

    # running ----------------------------------------------------------------------------------------
    def _supervise(
        self,
        slots: list[Slot],
        work: queue.SimpleQueue[PointRun],
        on_progress: Callable[[RunState], None] | None,
    ) -> None:
        for slot in slots:  # serially: concurrent `git worktree add` calls trip over each other
            slot.move_to(self.sweep.tip)
        threads = [threading.Thread(target=self._work, args=(slot, work), daemon=True) for slot in slots]
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

    def _work(self, slot: Slot, work: queue.SimpleQueue[PointRun]) -> None:
        try:
            while not self.stop.is_set():
                try:
                    point = work.get_nowait()
                except queue.Empty:
                    return
                slot.move_to(point.commit)
                if self.options.setup and not self._setup(slot, point):
                    return
                if self.stop.is_set():
                    return
                self._run_point(slot, point)
        except BaseException as exc:
            if not self.stop.is_set():  # a git call cut short by Ctrl-C is not an error of its own
                self.error = self.error or exc
            self.stop.set()

    def _setup(self, slot: Slot, point: PointRun) -> bool:
        setup = self.options.setup
        assert setup is not None
        if not slot.needs_setup(setup, self.sweep.base):
            return True
        env = {**os.environ, "GITGRID_SWEEP": self.sweep.name, "GITGRID_WORKER": str(slot.number)}
        log = self.places.runs_root / self.sweep.name / "setup" / f"worker-{slot.number}.log"
        if not run_setup(slot, setup, env, log, self.table):
            return False
        slot.mark_setup(setup, self.sweep.base)
        return True

    def _run_point(self, slot: Slot, point: PointRun) -> None:
        folder = point_dir(self.places.runs_root, point.sweep, point.index, point.commit, point.count)
        attempt, run_dir = claim_attempt(folder, self.attempts.get(point.index, 0))
        env = environment(point, run_dir, self.base_env)
        env["GITGRID_WORKER"] = str(slot.number)
        run = Run(
            sweep=point.sweep, index=point.index, commit=point.commit, attempt=attempt, status="running",
            run_dir=str(run_dir), params=point.params, rerun=self.rerun, host=self.host, started=time.time(),
            command=tuple(self.command),
        )  # fmt: skip
        try:
            process = spawn(self.command, slot.path, env, run_dir)
        except OSError as exc:
            why = "command not found" if isinstance(exc, FileNotFoundError) else exc.strerror
            self._record(self.store.add_run(run), run.ending("failed", reason=f"{why}: {self.command[0]}"))
            return
        self.table.add(process, self.options.timeout)
        run = replace(run, pid=process.pid)
        # Stored as running with its process: if this runner dies, the next one finds it and stops it.
        run_id = self.store.add_run(run)
        with self._lock:
            self.state.running += 1
        code = process.wait()
        stopped = self.table.remove(process)
        with self._lock:
            self.state.running -= 1
        self._record(run_id, outcome(run, code, stopped, run_dir))

    def _record(self, run_id: int, run: Run) -> None:
        write_meta(run)
        self.store.finish_run(run_id, run)
        with self._lock:
            state = self.state
            if run.status == "success":
                state.succeeded += 1
                self._watch(run)
            elif run.status == "timeout":
                state.timed_out += 1
            elif run.status == "interrupted":
                state.interrupted += 1
            else:
                state.failed += 1

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
