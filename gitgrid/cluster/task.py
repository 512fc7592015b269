"""One array task on a cluster node: run its points exactly as ``gitgrid run`` would.

The job script calls ``gitgrid task SUBMISSION MANIFEST``. The task reads its points from the manifest
(lines ``task * chunk`` to ``task * chunk + chunk - 1``), takes a free checkout in node-local scratch
(:func:`~gitgrid.run.checkouts.node_checkout_for`), and runs each point through the same
:func:`~gitgrid.run.execute.execute_point` as ``gitgrid run``, writing ``meta.json`` when a run starts and
when it ends. It needs git and gitgrid on the node, and the repository and runs root on storage the node
can read and write; it never writes the results store (``gitgrid collect`` on the submitting side does),
so SQLite is never shared over a network filesystem.

SIGTERM (time limit, ``scancel``, preemption) stops the running command's process group (SIGKILL to what
is left of it after the grace period) and records the run as interrupted; the scheduler's own word
(TIMEOUT, CANCELLED) is added by ``gitgrid status``. ``--build`` (from the submission) runs before every
point, as with ``gitgrid run``.
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

from gitgrid.layout import Submission
from gitgrid.run.checkouts import node_checkout_for
from gitgrid.run.contract import Run, RunRequest, host, read_json_file, write_meta
from gitgrid.run.execute import Execution, execute_point
from gitgrid.run.processes import ProcessTable

__all__ = ["run_task"]


def run_task(submission: Path, manifest: Path, task: int | None = None) -> int:
    """Run the points of array task ``task`` (default: ``$GITGRID_TASK_ID``); the exit status to use."""
    record: dict[str, Any] = read_json_file(Submission(submission).record)
    task = int(os.environ["GITGRID_TASK_ID"]) if task is None else task
    chunk = int(record["chunk"])
    with manifest.open() as lines:
        requests = [
            _request(json.loads(line), record)
            for line in itertools.islice(lines, task * chunk, task * chunk + chunk)
        ]
    if not requests:
        print(f"gitgrid task: no points for task {task} in {manifest}", file=sys.stderr)
        return 2
    return _Task(record, requests).run()


def _request(entry: dict[str, Any], record: dict[str, Any]) -> RunRequest:
    return RunRequest(
        record["sweep"], entry["index"], record["count"], entry["commit"], entry["params"], entry["texts"]
    )


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
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
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
