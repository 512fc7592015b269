"""The worker side of ``--on dask``: what each Dask task runs on a worker, and what the launching process
asks every worker first (:func:`probe`) or asks them to stop (:func:`stop_commands`).

Each worker process keeps, for its life, one checkout per worker thread (a ``git clone --shared`` of the
repository in its scratch, locked: the kernel releases the lock when the worker dies) and one table of
running commands per launch, ticked by a thread of its own so that ``--timeout`` holds. Runs are
recorded in ``meta.json`` only; the launching process stores them (:mod:`gitgrid.launch.dask`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitgrid.cluster.task import node_setup
from gitgrid.layout import claim_attempt, point_dir
from gitgrid.run.checkouts import Checkout, node_checkout_for
from gitgrid.run.contract import Run, RunRequest, host, write_meta
from gitgrid.run.execute import Execution, execute_point
from gitgrid.run.processes import ProcessTable

__all__ = ["DaskJob", "probe", "run_point", "stop_commands"]


@dataclass(frozen=True)
class DaskJob:
    """How every point of one launch runs on a worker (sent with each task)."""

    token: str  # this launch: the commands a cancel stops
    command: tuple[str, ...]
    git_dir: str
    runs_root: str
    files: tuple[str, ...]
    base: str
    timeout: float | None = None
    build: str | None = None
    setup: str | None = None
    rerun: int = 0
    grace: float = 5.0
    scratch: str | None = None
    clean_build: bool = False
    recipe: str | None = None  # recipe_of(command, --build, --setup): with each point's tree, its run key


def probe(git_dir: str, probe: str, token: str) -> str | None:
    """On a worker: what keeps it from running this launch's points, or None."""
    if not Path(git_dir, "HEAD").is_file():
        return f"cannot see the repository {git_dir}"
    try:
        if Path(probe).read_text() != token:
            return f"reads another file at {probe}"
        mine = Path(f"{probe}.{socket.gethostname()}.{os.getpid()}")
        mine.write_text(token)
        mine.unlink()
    except OSError as exc:
        return f"cannot use the runs root ({exc.strerror}: {exc.filename})"
    return None


_TABLES: dict[str, ProcessTable] = {}
_HELD: list[contextlib.AbstractContextManager[Any]] = []  # entered for the worker's life: kept from the GC
_LOCAL = threading.local()
_WARNED: set[str] = set()
_GUARD = threading.Lock()


def _table(job: DaskJob) -> ProcessTable:
    """This launch's table of running commands in this worker process, ticked by a thread of its own."""
    with _GUARD:
        table = _TABLES.get(job.token)
        if table is None:
            table = _TABLES[job.token] = ProcessTable(grace=job.grace)
            ticking = table.ticking()
            ticking.__enter__()  # for the worker's life: its thread is a daemon
            _HELD.append(ticking)
    return table


def stop_commands(token: str) -> None:
    table = _TABLES.get(token)
    if table is not None:
        table.stop_all("stopped by gitgrid (the launch was cancelled)")


def _checkout(job: DaskJob) -> Checkout:
    """This worker thread's checkout of the repository, kept (and locked) for the thread's life."""
    held: dict[str, Checkout] = getattr(_LOCAL, "checkouts", None) or {}
    _LOCAL.checkouts = held
    if job.git_dir not in held:
        scratch = Path(job.scratch or os.environ.get("TMPDIR") or "/tmp")
        context = node_checkout_for(job.git_dir, scratch, job.files)
        held[job.git_dir] = context.__enter__()  # locked for the worker's life: the kernel releases it
        with _GUARD:
            _HELD.append(context)
    return held[job.git_dir]


class _Ledger:
    """Runs recorded in ``meta.json`` on the worker; the launching process stores them."""

    def started(self, run: Run) -> None:
        write_meta(run)

    def ended(self, run: Run) -> None:
        write_meta(run)


def run_point(request: RunRequest, job: DaskJob) -> Run:
    """A Dask task: one point, run on this worker as every point runs (its final record)."""
    table = _table(job)
    checkout = _checkout(job)
    how = Execution(
        command=job.command, runs_root=Path(job.runs_root), host=host(), base_env=dict(os.environ),
        timeout=job.timeout, rerun=job.rerun, build=job.build, clean_build=job.clean_build, warn=_warn,
        recipe=job.recipe,
    )  # fmt: skip
    if job.setup:
        checkout.move_to(request.commit)
        if not node_setup(checkout, job.setup, job.base, Path(job.runs_root), request.sweep, table, _warn):
            return _unstarted(request, job, "interrupted", "stopped before its --setup ended")
    return execute_point(request, checkout, how, table, _Ledger())


def _warn(message: str) -> None:
    """What a worker cannot check (inotify missing): in the worker's log, once."""
    if message not in _WARNED:
        _WARNED.add(message)
        logging.getLogger("gitgrid").warning(message)


def _unstarted(request: RunRequest, job: DaskJob, status: str, reason: str) -> Run:
    folder = point_dir(Path(job.runs_root), request.sweep, request.index, request.commit, request.count)
    attempt, run_dir = claim_attempt(folder)
    now = time.time()
    run = Run(request.sweep, request.index, request.commit, attempt, status, str(run_dir), request.params,
              job.rerun, host(), now, now, reason=reason, command=job.command)  # fmt: skip
    write_meta(run)
    return run
