"""One array task on a cluster node: run its points exactly as ``gitgrid run`` would.

The job script calls ``gitgrid task SUBMISSION MANIFEST``. The task reads its points from the manifest
(lines ``task * chunk`` to ``task * chunk + chunk - 1``), takes a free checkout slot in node-local
scratch (a ``git clone --shared`` of the submitting repository, made by the first task on the node and
kept for the next: no objects are copied) and moves it from point to point, and runs the command
under the same environment contract and run-directory layout as ``gitgrid run``, writing ``meta.json``
when a run starts and when it ends. It needs git and gitgrid on the node, and the repository and runs
root on storage the node can read and write; it never writes the results store (``gitgrid collect`` on
the submitting side does), so SQLite is never shared over a network filesystem.

SIGTERM (time limit, ``scancel``, preemption) stops the running command's process group and records the
run as interrupted; the scheduler's own word (TIMEOUT, CANCELLED) is added by ``gitgrid status``.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from gitgrid.runs import (
    PointRun,
    Run,
    claim_attempt,
    environment,
    host,
    outcome,
    point_dir,
    spawn,
    write_meta,
)
from gitgrid.workers import stop_group

__all__ = ["run_task"]

SUBMISSION = "submission.json"


def run_task(submission: Path, manifest: Path, task: int | None = None) -> int:
    """Run the points of array task ``task`` (default: ``$GITGRID_TASK_ID``); the exit status to use."""
    record: dict[str, Any] = json.loads((submission / SUBMISSION).read_text())
    task = int(os.environ["GITGRID_TASK_ID"]) if task is None else task
    chunk = int(record["chunk"])
    with manifest.open() as lines:
        points = [
            _point(json.loads(line), record)
            for line in itertools.islice(lines, task * chunk, task * chunk + chunk)
        ]
    if not points:
        print(f"gitgrid task: no points for task {task} in {manifest}", file=sys.stderr)
        return 2
    return _Task(record, points).run()


def _point(entry: dict[str, Any], record: dict[str, Any]) -> PointRun:
    return PointRun(
        record["sweep"], entry["index"], record["count"], entry["commit"], entry["params"], entry["texts"]
    )


class _Task:
    def __init__(self, record: dict[str, Any], points: list[PointRun]) -> None:
        self.record, self.points = record, points
        self.runs_root = Path(record["runs_root"])
        self.command: list[str] = record["command"]
        self.job = os.environ.get("GITGRID_JOB_ID")
        self.process: subprocess.Popen[bytes] | None = None
        self.stopped: int | None = None
        self.commands = 0.0  # seconds spent in the user's command
        scratch = Path(record.get("scratch") or os.environ.get("TMPDIR") or "/tmp")
        self.slots = scratch / f"gitgrid-{hashlib.sha1(record['repo'].encode()).hexdigest()[:12]}"
        self.checkout = self.slots / "unclaimed"

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        start = time.monotonic()
        failures = 0
        with self._slot():
            for point in self.points:
                if self.stopped is not None:
                    break
                failures += self._run_point(point) != "success"
        elapsed = time.monotonic() - start
        print(
            f"gitgrid task {self.job}: {len(self.points)} points, {failures} failed, {elapsed:.3f} s, "
            f"of which gitgrid (checkout, bookkeeping) {elapsed - self.commands:.3f} s",
            file=sys.stderr,
        )
        if self.stopped is not None:
            return 128 + self.stopped
        return 1 if failures else 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = signum
        if self.process is not None:
            stop_group(self.process.pid, signal.SIGTERM)

    @contextmanager
    def _slot(self) -> Iterator[None]:
        """A checkout in node-local scratch, kept for the next task on this node (locked while in use).

        Like ``gitgrid run``'s workers: only the first task on a node pays for a clone (``--shared``: no
        objects are copied); later ones move the checkout, rewriting only the files that differ.
        """
        self.slots.mkdir(parents=True, exist_ok=True)
        for number in itertools.count():
            lock = (self.slots / f"slot-{number}.lock").open("a")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            break
        try:
            self.checkout = self.slots / f"slot-{number}"
            if not (self.checkout / ".git").exists():
                shutil.rmtree(self.checkout, ignore_errors=True)
                clone = [
                    "git",
                    "clone",
                    "-q",
                    "--shared",
                    "--no-checkout",
                    self.record["repo"],
                    str(self.checkout),
                ]
                subprocess.run(clone, check=True, stdin=subprocess.DEVNULL)
            yield
        finally:
            lock.close()

    def _run_point(self, point: PointRun) -> str:
        folder = point_dir(self.runs_root, point.sweep, point.index, point.commit, point.count)
        attempt, run_dir = claim_attempt(folder)
        run = Run(
            sweep=point.sweep, index=point.index, commit=point.commit, attempt=attempt, status="running",
            run_dir=str(run_dir), params=point.params, host=host(), started=time.time(),
            command=tuple(self.command), job=self.job,
        )  # fmt: skip
        write_meta(run)
        checkout = [
            "git",
            "-C",
            str(self.checkout),
            "checkout",
            "--quiet",
            "--force",
            "--detach",
            point.commit,
        ]
        moved = subprocess.run(
            checkout, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if moved.returncode != 0:
            status = "interrupted" if self.stopped is not None else "failed"
            write_meta(run.ending(status, reason=f"git checkout failed: {moved.stderr.strip()}"))
            return status
        try:
            self.process = spawn(self.command, self.checkout, environment(point, run_dir), run_dir)
        except OSError as exc:
            why = "command not found" if isinstance(exc, FileNotFoundError) else exc.strerror
            write_meta(run.ending("failed", reason=f"{why}: {self.command[0]}"))
            return "failed"
        run = replace(run, pid=self.process.pid)
        write_meta(run)
        began = time.monotonic()
        code = self.process.wait()
        self.commands += time.monotonic() - began
        self.process = None
        stopped = "interrupted" if self.stopped is not None else None
        final = outcome(run, code, stopped, run_dir)
        if stopped:
            final = replace(final, reason=f"stopped by the scheduler (signal {self.stopped})")
        write_meta(final)
        return final.status
