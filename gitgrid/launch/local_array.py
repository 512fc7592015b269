"""A batch scheduler of this machine's own, so the array path (job script, manifests, ``gitgrid task``,
states read back, verdicts, cancel) runs anywhere: in the tests, or to try a job template before a
cluster sees it.

Submitting an array starts a host process (``python -m gitgrid.launch.local_array``) in a session of its
own, which outlives the submitting one as a scheduler's daemon would: it runs the job script once per
task, ``--array-limit`` at a time, with ``GITGRID_TASK_ID`` and ``GITGRID_JOB_ID`` set, and keeps one
state file per task in the submission's ``tasks/`` folder (``running``, ``done <exit status>``,
``timeout``, ``cancelled``). ``--opt time=`` is the task's time limit (seconds, or ``[[H:]M:]S``): past
it the task gets SIGTERM, then SIGKILL, and ends ``timeout``; cancelling sends the host SIGTERM, which
passes it on to the running tasks and marks the others ``cancelled``. The host holds a lock while it
lives, so a host that died is known as such: its unfinished tasks end ``failed``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from gitgrid.cluster.scheduler import (
    CANCELLED,
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    TIMEOUT,
    JobRef,
    Scheduler,
    TaskState,
)
from gitgrid.errors import SubmitError
from gitgrid.launch.arrays import ArrayLauncher
from gitgrid.layout import Submission
from gitgrid.run.locks import Held, hold, try_lock

__all__ = ["LocalArray", "LocalArrayScheduler", "time_limit"]

_GRACE = 2.0  # seconds between SIGTERM and SIGKILL for a task past its time limit or cancelled
_TICK = 0.05


class LocalArrayScheduler(Scheduler):
    name = "local-array"
    submit_program = sys.executable
    directive = "#"

    def directives(self, options: Mapping[str, str]) -> list[str]:
        return []  # ``time`` is read by the host process, not by the script

    def submit_args(self, script: Path, argument: str, tasks: int, limit: int | None) -> list[str]:
        seconds = time_limit(self.options.get("time"))
        return [
            sys.executable, "-m", "gitgrid.launch.local_array", str(script), argument, str(tasks),
            str(limit or 0), str(seconds or 0),
        ]  # fmt: skip

    def submit(self, script: Path, argument: str, tasks: int, limit: int | None, cwd: Path) -> str:
        files = Submission(script.parent)
        job = _new_job(files)
        args = [*self.submit_args(script, argument, tasks, limit), job]
        with files.logs.joinpath(f"local-array-{job}.log").open("wb") as log:
            host = subprocess.Popen(
                args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while _lock_free(files.array_host(job)):  # until the host holds its lock: it runs
            if host.poll() is not None or time.monotonic() > deadline:
                raise SubmitError(f"the local array did not start; see {files.logs}/local-array-{job}.log")
            time.sleep(_TICK)
        return job

    def states(self, jobs: Sequence[JobRef]) -> dict[tuple[str, int], TaskState]:
        found = {}
        for job in jobs:
            files = Submission(Path(job.submission))
            alive = not _lock_free(files.array_host(job.job_id))
            for task in range(job.tasks):
                found[(job.job_id, task)] = _task_state(files.task_state(job.job_id, task), alive)
        return found

    def cancel(self, jobs: Sequence[JobRef]) -> None:
        for job in jobs:
            lock = Submission(Path(job.submission)).array_host(job.job_id)
            if _lock_free(lock):
                continue  # ended already
            try:
                os.kill(int(lock.read_text().strip()), signal.SIGTERM)
            except (ValueError, OSError):
                continue


def time_limit(text: str | None) -> float | None:
    """``--opt time=``: seconds, or ``[[H:]M:]S``; None when not given."""
    if not text:
        return None
    try:
        parts = [float(part) for part in text.split(":")]
    except ValueError:
        raise SubmitError(f"--opt time={text}: give seconds or [[H:]M:]S") from None
    if len(parts) > 3 or any(part < 0 for part in parts):
        raise SubmitError(f"--opt time={text}: give seconds or [[H:]M:]S")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds or None


def _lock_free(path: Path) -> bool:
    """Whether nobody holds the lock at ``path`` (a host process that died released it)."""
    if not path.exists():
        return True
    handle = try_lock(path)
    if handle is None:
        return False
    handle.close()
    return True


def _new_job(files: Submission) -> str:
    """A job id no other local array has (microseconds since the epoch; made unique by its lock file)."""
    folder = files.array_host("x").parent
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        job = str(time.time_ns() // 1000)
        try:
            os.close(os.open(files.array_host(job), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return job
        except FileExistsError:
            time.sleep(0.001)


def _task_state(path: Path, alive: bool) -> TaskState:
    try:
        word, _, rest = path.read_text().strip().partition(" ")
    except OSError:
        word, rest = "", ""
    if word == "done":
        return TaskState(DONE if rest == "0" else FAILED, f"exit status {rest}" if rest != "0" else "done")
    if word in ("timeout", "cancelled"):
        return TaskState(TIMEOUT if word == "timeout" else CANCELLED, word.upper())
    if alive:
        return TaskState(RUNNING if word == "running" else PENDING, word or "pending")
    return TaskState(FAILED if word == "running" else CANCELLED, "the local array's host process ended")


# the host process ---------------------------------------------------------------------------------------
@dataclass
class _Running:
    task: int
    process: subprocess.Popen[bytes]
    started: float
    stopping: str | None = None  # "timeout" or "cancelled" once signalled
    signalled: float = 0.0


class _Host:
    """Runs the tasks of one array, ``limit`` at a time, and writes their state files."""

    def __init__(self, script: Path, manifest: str, tasks: int, limit: int, seconds: float, job: str) -> None:
        self.script, self.manifest, self.job = script, manifest, job
        self.files = Submission(script.parent)
        self.waiting = list(range(tasks))
        self.limit = limit or tasks
        self.seconds = seconds or None
        self.running: list[_Running] = []
        self.cancelled = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._cancel)
        signal.signal(signal.SIGINT, self._cancel)
        while self.waiting or self.running:
            while self.waiting and len(self.running) < self.limit and not self.cancelled:
                self._start(self.waiting.pop(0))
            if self.cancelled:
                for task in self.waiting:
                    self._write(task, "cancelled")
                self.waiting = []
            self._watch()
            time.sleep(_TICK)
        return 0

    def _start(self, task: int) -> None:
        env = {**os.environ, "GITGRID_TASK_ID": str(task), "GITGRID_JOB_ID": f"{self.job}_{task}"}
        with self.files.task_log(self.job, task).open("wb") as log:
            process = subprocess.Popen(
                ["/bin/bash", str(self.script), self.manifest], cwd=self.files.folder, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, process_group=0,
            )  # fmt: skip
        self.running.append(_Running(task, process, time.monotonic()))
        self._write(task, "running")

    def _watch(self) -> None:
        now = time.monotonic()
        for entry in list(self.running):
            code = entry.process.poll()
            if code is not None:
                self.running.remove(entry)
                self._write(entry.task, entry.stopping or f"done {code}")
            elif entry.stopping is None and self.cancelled:
                self._signal(entry, "cancelled", now)
            elif entry.stopping is None and self.seconds and now - entry.started > self.seconds:
                self._signal(entry, "timeout", now)
            elif entry.stopping is not None and now - entry.signalled > _GRACE:
                _kill(entry.process.pid, signal.SIGKILL)

    def _signal(self, entry: _Running, why: str, now: float) -> None:
        entry.stopping, entry.signalled = why, now
        _kill(entry.process.pid, signal.SIGTERM)

    def _cancel(self, signum: int, frame: FrameType | None) -> None:
        self.cancelled = True

    def _write(self, task: int, state: str) -> None:
        path = self.files.task_state(self.job, task)
        partial = path.with_name(path.name + ".part")
        partial.write_text(state + "\n")
        partial.replace(path)


def _kill(pgid: int, signum: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signum)


def _main(argv: Sequence[str]) -> int:
    script, manifest, tasks, limit, seconds, job = argv
    host = _Host(Path(script), manifest, int(tasks), int(limit), float(seconds), job)
    for _ in range(100):  # the submitting process looks at the lock until it is held: try again
        try:
            with hold(host.files.array_host(job)):
                return host.run()
        except Held:
            time.sleep(_TICK)
    return 2


class LocalArray(ArrayLauncher):
    name = "local-array"
    description = (
        "this machine, through the array path (job script, `gitgrid task`, states read back): "
        "for tests, and to try a job template"
    )
    option_keys = frozenset({"time", "prologue", "scratch", "job-name", "keep-scratch"})
    scheduler = LocalArrayScheduler


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
