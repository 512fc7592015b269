"""One array task on a cluster node: run its points exactly as ``gitgrid run`` would.

The job script calls ``gitgrid task SUBMISSION MANIFEST``. The task reads its points from the manifest
(lines ``task * chunk`` to ``task * chunk + chunk - 1``), takes a free checkout in node-local scratch
(:func:`~gitgrid.run.checkouts.node_checkout_for`), and runs each point through the same
:func:`~gitgrid.run.execute.execute_point` as ``gitgrid run``, writing ``meta.json`` when a run starts and
when it ends. It needs git and gitgrid on the node, and the repository and runs root on storage the node
can read and write; it never writes the results store (``gitgrid collect`` on the submitting side does),
so SQLite is never shared over a network filesystem.

SIGTERM (time limit, ``scancel``, preemption), SIGINT and SIGHUP stop the running command's process
group (SIGKILL to what is left of it after the grace period) and record the run as interrupted; the
scheduler's own word (TIMEOUT, CANCELLED) is added by ``gitgrid status``. ``--build`` (from the
submission) runs before every point, as with ``gitgrid run``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from gitgrid.errors import SubmitError, excerpt
from gitgrid.layout import Submission
from gitgrid.run.checkouts import node_checkout_for
from gitgrid.run.contract import (
    RUN_FILE_LIMIT,
    Run,
    RunRequest,
    host,
    open_run_file,
    read_json_file,
    shown,
    write_meta,
)
from gitgrid.run.execute import Execution, execute_point
from gitgrid.run.processes import ProcessTable
from gitgrid.sweep.record import check_object_id

__all__ = ["run_task"]


def run_task(submission: Path, manifest: Path, task: int | None = None) -> int:
    """Run the points of array task ``task`` (default: ``$GITGRID_TASK_ID``); the exit status to use.

    The submission's record and its manifest lie under the runs root, so they are read as untrusted
    files (:func:`~gitgrid.run.contract.open_run_file`) and checked field by field: a folder without a
    record, a record lacking a field, a manifest that is a device, a negative task id are each one
    :class:`~gitgrid.errors.SubmitError`."""
    record = _record(Submission(submission).record)
    task = _task_id(task)
    chunk = record["chunk"]
    requests = [_request(entry, record, manifest) for entry in _entries(manifest, task * chunk, chunk)]
    if not requests:
        raise SubmitError(f"no points for task {task} in {manifest}")
    return _Task(record, requests).run()


_FIELDS: dict[str, type | tuple[type, ...]] = {
    "sweep": str, "count": int, "chunk": int, "repo": str, "runs_root": str, "command": list,
}  # fmt: skip
_LINE_LIMIT = RUN_FILE_LIMIT  # bytes of one manifest line at most


def _record(path: Path) -> dict[str, Any]:
    """The submission's record, every field a task uses checked."""
    try:
        record = read_json_file(path)
    except FileNotFoundError:
        raise SubmitError(f"{path}: no such file: give the folder 'gitgrid submit' made") from None
    except ValueError as exc:  # not JSON, a FIFO, a device, too large
        raise SubmitError(f"{path}: {exc}") from None
    if not isinstance(record, dict):
        raise SubmitError(f"{path}: not a submission record (a JSON object)")
    for name, kind in _FIELDS.items():
        value = record.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise SubmitError(f"{path}: '{name}' is missing or not a {getattr(kind, '__name__', kind)}")
    if record["chunk"] < 1 or not all(isinstance(part, str) for part in record["command"]):
        raise SubmitError(f"{path}: 'chunk' must be 1 or more and 'command' a list of strings")
    for name in ("scratch", "build"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise SubmitError(f"{path}: '{name}' must be a string")
    return dict(record)


def _task_id(task: int | None) -> int:
    if task is None:
        given = os.environ.get("GITGRID_TASK_ID", "")
        if not given.isdigit():
            raise SubmitError(f"no task id: give --task N or set GITGRID_TASK_ID (it is '{excerpt(given)}')")
        task = int(given)
    if task < 0:
        raise SubmitError(f"--task {task}: a task id is 0 or more")
    return task


def _entries(manifest: Path, first: int, count: int) -> list[Any]:
    """Lines ``first`` to ``first + count - 1`` of a manifest, as JSON: a regular file only, each line
    at most :data:`_LINE_LIMIT` bytes (``/dev/zero`` or a FIFO is refused, never read without end)."""
    try:
        fd = open_run_file(manifest)
    except FileNotFoundError:
        raise SubmitError(f"manifest {manifest}: no such file") from None
    except ValueError as exc:
        raise SubmitError(f"manifest {manifest} {exc}") from None
    with os.fdopen(fd, "rb") as lines:
        found = []
        for number in itertools.count(1):
            line = lines.readline(_LINE_LIMIT + 1)
            if not line or number >= first + count + 1:
                break
            if len(line) > _LINE_LIMIT:
                raise SubmitError(f"{manifest}:{number}: a line longer than {_LINE_LIMIT} bytes")
            if number > first:
                try:
                    found.append(json.loads(line))
                except (ValueError, RecursionError):
                    raise SubmitError(f"{manifest}:{number}: not a JSON line") from None
        return found


def _request(entry: Any, record: dict[str, Any], manifest: Path) -> RunRequest:
    """One point of the manifest, checked: where it runs (index, commit) and its values."""
    if not isinstance(entry, dict):
        raise SubmitError(f"{manifest}: a line is not a JSON object")
    index, commit, params, texts = (entry.get(k) for k in ("index", "commit", "params", "texts"))
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < record["count"]:
        raise SubmitError(f"{manifest}: point index {shown(index)} is not one of the sweep's")
    try:
        commit = check_object_id(commit, "commit")
    except ValueError as exc:
        raise SubmitError(f"{manifest}: point {index}: {exc}") from None
    if not isinstance(params, dict) or not isinstance(texts, dict) or params.keys() != texts.keys():
        raise SubmitError(f"{manifest}: point {index}: 'params' and 'texts' must name the same params")
    if not all(isinstance(t, str) for t in texts.values()):
        raise SubmitError(f"{manifest}: point {index}: 'texts' must be strings")
    return RunRequest(record["sweep"], index, record["count"], commit, params, texts)


class _Task:
    def __init__(self, record: dict[str, Any], requests: list[RunRequest]) -> None:
        self.record, self.requests = record, requests
        self.job = os.environ.get("GITGRID_JOB_ID")
        self.table = ProcessTable()
        self.stopped: int | None = None
        self.commands = 0.0  # seconds spent in the user's command
        self.began: float | None = None
        self.scratch = Path(record.get("scratch") or os.environ.get("TMPDIR") or "/tmp")
        self.how = Execution(
            command=tuple(record["command"]), runs_root=Path(record["runs_root"]), host=host(),
            base_env=dict(os.environ), job=self.job, build=record.get("build"),
        )  # fmt: skip

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # SIGHUP: its terminal closed
            signal.signal(signum, self._on_signal)
        start = time.monotonic()
        failures = 0
        files = tuple(self.record.get("files") or ())
        with node_checkout_for(self.record["repo"], self.scratch, files) as checkout, self.table.ticking():
            for request in self.requests:
                if self.stopped is not None:
                    break
                try:
                    run = execute_point(request, checkout, self.how, self.table, self)
                except OSError as exc:  # the runs root cannot be written: no later point could be recorded
                    print(
                        f"gitgrid task {self.job}: cannot write {exc.filename}: {exc.strerror}",
                        file=sys.stderr,
                    )
                    return 1
                failures += run.status != "success"
        elapsed = time.monotonic() - start
        print(
            f"gitgrid task {self.job}: {len(self.requests)} points, {failures} failed, {elapsed:.3f} s, "
            f"of which gitgrid (checkout, bookkeeping) {elapsed - self.commands:.3f} s",
            file=sys.stderr,
        )
        if self.stopped is not None:
            return 128 + self.stopped
        return 1 if failures else 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = signum
        self.table.stop_all(f"stopped by the scheduler (signal {signum})")

    # the ledger execute_point records runs in: meta.json only (the store is the submitting side's)
    def started(self, run: Run) -> None:
        write_meta(run)
        self.began = time.monotonic()

    def ended(self, run: Run) -> None:
        if self.began is not None:
            self.commands += time.monotonic() - self.began
            self.began = None
        write_meta(run)
