"""The interface every batch scheduler implements: submit an array job, read its tasks' states, cancel.

Each scheduler is a :class:`Scheduler` in the module of its launcher (:mod:`gitgrid.launch.slurm`,
``pbs``, ``lsf``, ``local_array``); :mod:`gitgrid.launch.registry` names them. Every call shells out
without a shell (argument lists), so job ids and options are never interpreted by one; a script a
scheduler reads on its standard input (LSF) is given there, not through a ``<`` in the arguments.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gitgrid.errors import SubmitError

__all__ = [
    "CANCELLED",
    "DONE",
    "FAILED",
    "PENDING",
    "RUNNING",
    "TIMEOUT",
    "JobRef",
    "Scheduler",
    "TaskState",
    "directive_value",
    "expand_tasks",
    "one_line",
    "query",
    "task_lines",
]

# What a task's scheduler state means for its points.
PENDING, RUNNING, DONE, FAILED, TIMEOUT, CANCELLED = (
    "pending",
    "running",
    "done",
    "failed",
    "timeout",
    "cancelled",
)


@dataclass(frozen=True)
class TaskState:
    """One array task as the scheduler sees it: a coarse state and the scheduler's own word for it."""

    state: str
    detail: str = ""


class JobRef(Protocol):
    """A submitted array job as the store keeps it: its id, submission folder, number of tasks, and when
    it was submitted (seconds since the epoch)."""

    @property
    def job_id(self) -> str: ...
    @property
    def submission(self) -> str: ...
    @property
    def tasks(self) -> int: ...
    @property
    def submitted(self) -> float: ...


class Scheduler:
    """Base: subclasses say how their commands look; ``name`` is their launcher's (``--on``).

    ``options`` are the ``--opt`` pairs of a submission (those a scheduler reads itself, such as the
    local array's ``time``; the others become directives in the script)."""

    name = ""
    submit_program = ""
    directive = "#"
    first_task = 0  # LSF numbers array tasks from 1
    script_on_stdin = False  # LSF reads #BSUB lines only from a script given on standard input

    def __init__(self, options: Sequence[tuple[str, str]] = ()) -> None:
        self.options = dict(options)

    def check_available(self) -> None:
        if shutil.which(self.submit_program) is None:
            raise SubmitError(
                f"{self.submit_program} not found: no {self.name.upper()} here. On any other scheduler "
                "submit points yourself: gitgrid list | xargs -n1 your-submit-script (see docs/cluster.md)"
            )

    def directives(self, options: Mapping[str, str]) -> list[str]:
        """Script header lines for user options (``--opt KEY=VALUE``)."""
        raise NotImplementedError

    def submit_args(self, script: Path, argument: str, tasks: int, limit: int | None) -> list[str]:
        raise NotImplementedError

    def parse_job_id(self, output: str) -> str:
        return output.strip().split(";")[0].split()[-1] if output.strip() else ""

    def max_array_size(self) -> int | None:
        """The largest task id plus one the scheduler accepts (None: unknown)."""
        return None

    def states(self, jobs: Sequence[JobRef]) -> dict[tuple[str, int], TaskState]:
        """State of every known array task of ``jobs``: (job id, task id) -> state."""
        return {}

    def cancel_args(self, job_ids: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def shown(self, script: Path, argument: str, tasks: int, limit: int | None) -> str:
        """The submit command as a shell would be given it (``--dry-run``)."""
        text = shlex.join(self.submit_args(script, argument, tasks, limit))
        return f"{text} < {shlex.quote(str(script))}" if self.script_on_stdin else text

    def submit(self, script: Path, argument: str, tasks: int, limit: int | None, cwd: Path) -> str:
        """Submit one array job; its id, or the scheduler's own refusal as a SubmitError."""
        args = self.submit_args(script, argument, tasks, limit)
        stdin = script.open() if self.script_on_stdin else None
        try:
            result = subprocess.run(
                args, cwd=cwd, stdin=stdin or subprocess.DEVNULL, capture_output=True, text=True, check=False
            )
        finally:
            if stdin is not None:
                stdin.close()
        job_id = self.parse_job_id(result.stdout) if result.returncode == 0 else ""
        if not job_id:
            why = (
                one_line(result.stderr or result.stdout, self.submit_program)
                or f"exit status {result.returncode}"
            )
            raise SubmitError(f"{self.submit_program} refused the job: {why}")
        return job_id

    def cancel(self, jobs: Sequence[JobRef]) -> None:
        job_ids = [job.job_id for job in jobs]
        if job_ids:
            result = subprocess.run(self.cancel_args(job_ids), capture_output=True, text=True, check=False)
            if result.returncode != 0 and "already completed" not in result.stderr.lower():
                raise SubmitError(f"cancelling {' '.join(job_ids)} failed: {result.stderr.strip()}")


def one_line(message: str, program: str) -> str:
    """A scheduler's message on one line: its lines joined, each without the ``sbatch: error:`` prefix."""
    prefix = re.compile(rf"^\s*{re.escape(program)}:\s*(error:\s*)?", re.IGNORECASE)
    lines = [prefix.sub("", line).strip() for line in message.splitlines()]
    return "; ".join(line for line in lines if line)


def directive_value(value: str) -> str:
    """A value in a ``#SBATCH``-style line: quoted when it has spaces or quotes (the scheduler unquotes)."""
    if value and not any(c.isspace() or c in "\"'\\" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def query(args: list[str]) -> str:
    """A query's output; empty when the tool is missing, fails or hangs (the caller falls back)."""
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout if result.returncode == 0 else ""


def task_lines(out: str) -> list[tuple[tuple[str, int], str]]:
    """``JOBID_TASK STATE`` lines (squeue -r, sacct) as ((job id, task id), state).

    Tasks that never started appear in sacct as one line for a range, ``12_[3-9,11%2]``: expanded.
    """
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        if match := re.fullmatch(r"(\d+)_(\d+)", parts[0]):
            found.append(((match.group(1), int(match.group(2))), parts[1]))
        elif match := re.fullmatch(r"(\d+)_\[([\d,\-]+)(?:%\d+)?\]", parts[0]):
            found += [((match.group(1), task), parts[1]) for task in expand_tasks(match.group(2))]
    return found


def expand_tasks(ranges: str) -> list[int]:
    tasks: list[int] = []
    for part in ranges.split(","):
        first, _, last = part.partition("-")
        tasks += range(int(first), int(last or first) + 1)
    return tasks
