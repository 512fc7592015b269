"""``gitgrid analyze --all``: a stage run once, here, with every point whose simulation succeeded, for a
figure or a table over the sweep.

Its command is given a manifest (``$GITGRID_MANIFEST``): a JSON line per point with its index, commit,
params, run directory, attempt and metrics (the per-point stages' too, as ``STAGE.METRIC``), written as
the store streams the rows, so memory does not grow with the sweep. The run is keyed by the analysis and
by the manifest's hash: it runs again when the code or any point's simulation (or stage result) changed,
never otherwise. Its files (a figure, a table) stay in its stage directory, which the report links. It
runs through :func:`~gitgrid.run.execute.execute_point` like every run, and is recorded at index -1 of
the stage's records.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from gitgrid.errors import RunError
from gitgrid.git.repository import Repository
from gitgrid.launch.launcher import Launch
from gitgrid.layout import (
    BUILD_LOG,
    META,
    RESULT,
    SERIES,
    STAGE_MANIFEST,
    STDERR,
    STDOUT,
    Layout,
    claim_attempt,
    run_dir_problem,
    stage_all_dir,
)
from gitgrid.run.checkouts import worker_checkouts
from gitgrid.run.collect import refresh
from gitgrid.run.contract import Run, RunRequest, host, write_meta
from gitgrid.run.execute import Execution, execute_point
from gitgrid.run.locks import Held, hold
from gitgrid.run.processes import ProcessTable, runs_in, stop_group
from gitgrid.run.runner import RunOptions, RunState, RunSummary
from gitgrid.run.series import note_problem, read_series
from gitgrid.run.stage import StageInput
from gitgrid.stages.code import Analysis
from gitgrid.store import EVERY, Store, open_store
from gitgrid.sweep.catalog import list_points
from gitgrid.sweep.record import Sweep
from gitgrid.sweep.stages import stage_records

__all__ = ["analyze_every", "every_analysis", "stage_outputs"]

_OWN = frozenset({META, RESULT, SERIES, STDOUT, STDERR, STAGE_MANIFEST, BUILD_LOG})


def analyze_every(
    command: Sequence[str],
    sweep: Sweep,
    repo: Repository,
    analysis: Analysis,
    options: RunOptions,
    *,
    dry_run: bool = False,
) -> Launch:
    """Run ``command`` once with every point of ``sweep`` whose simulation succeeded, unless its last
    run with this analysis and these points succeeded (or failed, without ``retry_failed``)."""
    records = stage_records(sweep, analysis.order.name)
    layout, store = open_store(repo, options.runs_root)
    try:
        with _locked(layout, records.name):
            store.sweeps.sync(sweep, list_points(repo, sweep))
            refresh(store, repo, sweep, layout.runs_root)
            store.sweeps.sync(records, list_points(repo, records))
            _close_orphans(store, records.name)
            folder = stage_all_dir(layout.runs_root, records.name)
            folder.mkdir(parents=True, exist_ok=True)
            with _manifest(store, sweep.name, folder) as manifest:
                key = _every_key(analysis.order.analysis, manifest.digest)
                left = _left(store, records.name, key, options)
                if left is not None or dry_run:
                    return _skipped(records, left, repo, options, dry_run)
                if not manifest.count:
                    raise RunError(
                        f"sweep '{sweep.name}': no point's simulation succeeded yet: nothing to analyse"
                    )
                claimed = claim_attempt(folder)
                manifest.path.replace(claimed[1] / STAGE_MANIFEST)
            stage = StageInput(
                analysis.order.name, analysis.order.code, key, watch=manifest.run_dirs, every=True
            )
            request = RunRequest(records.name, EVERY, sweep.count, sweep.tip, {}, {}, stage)
            run, stopped = _run(request, repo, layout, store, command, options, claimed)
    finally:
        store.close()
    return Launch("local", records.name, (EVERY,), summary=_summary(records.name, run, stopped),
                  repo=repo.root, options=options)  # fmt: skip


def every_analysis(store: Store, sweep: str, analysis: str) -> str:
    """The key a run of a stage over every point with ``analysis`` would have now: the analysis and the
    manifest it would be given (hashed as the store streams it, nothing written)."""
    digest = hashlib.sha256()
    for line in store.stages.manifest(sweep):
        digest.update((json.dumps(line, sort_keys=True) + "\n").encode())
    return _every_key(analysis, digest.hexdigest())


def _every_key(analysis: str, manifest: str) -> str:
    return hashlib.sha256(f"{analysis}\n{manifest}".encode()).hexdigest()


def stage_outputs(stage_dir: Path) -> list[str]:
    """The files a stage wrote in its stage directory (a figure, a table), by name: all but gitgrid's."""
    try:
        found = [p for p in stage_dir.rglob("*") if p.is_file() and not p.is_symlink()]
    except OSError:
        return []
    names = [p.relative_to(stage_dir).as_posix() for p in found]
    return sorted(n for n in names if n not in _OWN and not n.startswith("."))


@dataclass
class _Manifest:
    path: Path
    digest: str = ""
    count: int = 0
    run_dirs: tuple[str, ...] = ()


@contextlib.contextmanager
def _manifest(store: Store, sweep: str, folder: Path) -> Iterator[_Manifest]:
    """The manifest written beside the attempts as the store streams it, and its hash; removed unless
    the caller moved it into an attempt."""
    manifest = _Manifest(folder / f".{STAGE_MANIFEST}.{os.getpid()}")
    digest, run_dirs = hashlib.sha256(), []
    try:
        with manifest.path.open("w") as out:
            for line in store.stages.manifest(sweep):
                text = json.dumps(line, sort_keys=True) + "\n"
                out.write(text)
                digest.update(text.encode())
                run_dirs.append(line["run_dir"])
        manifest.digest, manifest.count, manifest.run_dirs = (
            digest.hexdigest(),
            len(run_dirs),
            tuple(run_dirs),
        )
        yield manifest
    finally:
        manifest.path.unlink(missing_ok=True)


def _left(store: Store, records: str, key: str, options: RunOptions) -> str | None:
    """Why the stage is not run now (``done`` or ``failed``), or None."""
    latest = store.stages.latest_every(records)
    if latest is None or latest.analysis != key or options.rerun:
        return None
    if latest.status == "success":
        return "done"
    return "failed" if latest.status in ("failed", "timeout") and not options.retry_failed else None


def _skipped(
    records: Sweep, left: str | None, repo: Repository, options: RunOptions, dry_run: bool
) -> Launch:
    state = RunState(total=0, skipped=int(left is not None), failed_before=int(left == "failed"))
    points = (EVERY,) if left is None else ()
    summary = None if dry_run else RunSummary(records.name, state)
    return Launch("local", records.name, points, state.skipped, summary=summary, dry_run=dry_run,
                  repo=repo.root, options=options)  # fmt: skip


def _run(
    request: RunRequest,
    repo: Repository,
    layout: Layout,
    store: Store,
    command: Sequence[str],
    options: RunOptions,
    claimed: tuple[int, Path],
) -> tuple[Run, int | None]:
    """The one run, in a worker checkout of the analysis code; the run and the signal that stopped it."""
    assert request.stage is not None
    how = Execution(tuple(command), layout.runs_root, host(), dict(os.environ), timeout=options.timeout)
    table = ProcessTable(grace=options.grace)
    with worker_checkouts(repo, layout, 1) as checkouts, _signals(table) as stop, table.ticking():
        checkouts[0].place(request.stage.code)
        run = execute_point(request, checkouts[0], how, table, _Ledger(store), claimed=claimed)
    return run, stop.signal


class _Ledger:
    """The one run, in the store and its ``meta.json``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.id: int | None = None

    def started(self, run: Run) -> None:
        self.id = self.store.runs.add(run)
        write_meta(run)

    def ended(self, run: Run) -> None:
        series = read_series(Path(run.run_dir))
        run = note_problem(run, series)
        try:
            write_meta(run)
        finally:
            self.id = self.id if self.id is not None else self.store.runs.add(run)
            self.store.runs.finish(self.id, run, series.rows)


def _summary(records: str, run: Run, stopped: int | None) -> RunSummary:
    state = RunState(total=1, skipped=0)
    state.succeeded = int(run.status == "success")
    state.interrupted = int(run.status == "interrupted")
    state.timed_out = int(run.status == "timeout")
    state.failed = int(run.status not in ("success", "interrupted", "timeout"))
    if run.status in ("failed", "timeout"):
        state.first_failure = (EVERY, run.reason or run.status)
    return RunSummary(records, state, stopped)


def _close_orphans(store: Store, records: str) -> None:
    """A run over every point left ``running`` by a gitgrid that was killed: stopped, and recorded so."""
    for run_id, run in store.runs.running(records):
        if run.index != EVERY:
            continue
        usable = run_dir_problem(run.run_dir, records, EVERY) is None  # a path from the store (#17)
        if usable and run.pid is not None and runs_in(run.pid, Path(run.run_dir)):
            stop_group(run.pid, signal.SIGKILL)
        ended = run.ending("interrupted", reason="the runner was stopped before this run ended")
        store.runs.finish(run_id, ended)
        if usable and Path(run.run_dir).is_dir():
            write_meta(ended)


@contextlib.contextmanager
def _locked(layout: Layout, records: str) -> Iterator[None]:
    try:
        with hold(layout.sweep_lock(records)):
            yield
    except Held as held:
        raise RunError(f"stage '{records}' is already being run by gitgrid (pid {held.holder})") from None


class _Stop:
    signal: int | None = None


@contextlib.contextmanager
def _signals(table: ProcessTable) -> Iterator[_Stop]:
    """SIGINT, SIGTERM and SIGHUP stop the command (its process group) and are remembered."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.signal = stop.signal or signum
        table.stop_all()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
