"""Batch schedulers: how to submit an array job, read its tasks' states, and cancel it.

SLURM is complete and tested against a real cluster. PBS (Pro, ``qsub -J``) and LSF (``bsub``) render
and submit the same way but are only checked by their rendered scripts (no such cluster is at hand); their
state reading is best effort. Every call shells out without a shell (argument lists), so job ids and
options are never interpreted by one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitgrid.errors import SubmitError

__all__ = ["SCHEDULERS", "Scheduler", "TaskState", "get_scheduler"]

# What a task's scheduler state means for its points.
PENDING, RUNNING, DONE, FAILED, TIMEOUT, CANCELLED = (
    "pending",
    "running",
    "done",
    "failed",
    "timeout",
    "cancelled",
)
_SLURM_STATES = {
    "PENDING": PENDING, "CONFIGURING": PENDING, "REQUEUED": PENDING, "RESIZING": PENDING,
    "SUSPENDED": PENDING,
    "RUNNING": RUNNING, "COMPLETING": RUNNING, "STAGE_OUT": RUNNING,
    "COMPLETED": DONE,
    "FAILED": FAILED, "OUT_OF_MEMORY": FAILED, "NODE_FAIL": FAILED, "BOOT_FAIL": FAILED, "DEADLINE": TIMEOUT,
    "TIMEOUT": TIMEOUT, "PREEMPTED": CANCELLED, "CANCELLED": CANCELLED, "REVOKED": CANCELLED,
}  # fmt: skip
_SLURM_OPTIONS = {"cpus": "cpus-per-task", "mem": "mem", "time": "time", "partition": "partition"}


@dataclass(frozen=True)
class TaskState:
    """One array task as the scheduler sees it: a coarse state and the scheduler's own word for it."""

    state: str
    detail: str = ""


class Scheduler:
    """Base: subclasses say how their commands look; ``name`` selects them on the command line."""

    name = ""
    submit_program = ""
    directive = "#"
    first_task = 0  # LSF numbers array tasks from 1

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

    def states(self, job_ids: Sequence[str]) -> dict[tuple[str, int], TaskState]:
        """State of every known array task of ``job_ids``: (job id, task id) -> state."""
        return {}

    def cancel_args(self, job_ids: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def submit(self, script: Path, argument: str, tasks: int, limit: int | None, cwd: Path) -> str:
        """Submit one array job; its id, or the scheduler's own refusal as a SubmitError."""
        args = self.submit_args(script, argument, tasks, limit)
        if args[-2:] == ["<", str(script)]:  # the script goes on stdin (LSF reads #BSUB lines only there)
            with script.open() as stdin:
                result = subprocess.run(
                    args[:-2], cwd=cwd, stdin=stdin, capture_output=True, text=True, check=False
                )
        else:
            result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
        job_id = self.parse_job_id(result.stdout) if result.returncode == 0 else ""
        if not job_id:
            why = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
            raise SubmitError(f"{self.submit_program} refused the job: {why}")
        return job_id

    def cancel(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            result = subprocess.run(self.cancel_args(job_ids), capture_output=True, text=True, check=False)
            if result.returncode != 0 and "already completed" not in result.stderr.lower():
                raise SubmitError(f"cancelling {' '.join(job_ids)} failed: {result.stderr.strip()}")


class Slurm(Scheduler):
    name = "slurm"
    submit_program = "sbatch"
    directive = "#SBATCH"

    def directives(self, options: Mapping[str, str]) -> list[str]:
        return [
            f"#SBATCH --{_SLURM_OPTIONS.get(key, key)}={directive_value(v)}" for key, v in options.items()
        ]

    def submit_args(self, script: Path, argument: str, tasks: int, limit: int | None) -> list[str]:
        array = f"0-{tasks - 1}" + (f"%{limit}" if limit else "")
        return ["sbatch", "--parsable", f"--array={array}", str(script), argument]

    def max_array_size(self) -> int | None:
        result = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=False)
        match = re.search(r"^MaxArraySize\s*=\s*(\d+)", result.stdout, re.MULTILINE)
        return int(match.group(1)) if match else None

    def states(self, job_ids: Sequence[str]) -> dict[tuple[str, int], TaskState]:
        """From ``squeue`` (queued and running tasks), then ``sacct``, else ``scontrol show job``."""
        if not job_ids:
            return {}
        found = self._scontrol(job_ids)  # also tasks sacct has not heard of yet, or at all (no accounting)
        found.update(self._sacct(job_ids))
        found.update(self._squeue(job_ids))
        return found

    def _squeue(self, job_ids: Sequence[str]) -> dict[tuple[str, int], TaskState]:
        out = _run(["squeue", "-h", "-r", "-j", ",".join(job_ids), "-o", "%i %T"])
        return {key: TaskState(_SLURM_STATES.get(state, RUNNING), state) for key, state in _tasks(out)}

    def _sacct(self, job_ids: Sequence[str]) -> dict[tuple[str, int], TaskState]:
        out = _run(["sacct", "-n", "-P", "-X", "-j", ",".join(job_ids), "-o", "JobID,State"])
        lines = [line.replace("|", " ") for line in out.splitlines()]
        return {key: _slurm_state(state) for key, state in _tasks("\n".join(lines))}

    def _scontrol(self, job_ids: Sequence[str]) -> dict[tuple[str, int], TaskState]:
        found = {}
        for job_id in job_ids:
            out = _run(["scontrol", "-o", "show", "job", job_id])
            for line in out.splitlines():
                array = re.search(r"ArrayJobId=(\d+) ArrayTaskId=([\d,\-]+)", line)
                state = re.search(r"JobState=(\S+)", line)
                if array and state:
                    for task in _expand(array.group(2)):
                        found[(array.group(1), task)] = _slurm_state(state.group(1))
        return found

    def cancel_args(self, job_ids: Sequence[str]) -> list[str]:
        return ["scancel", *job_ids]


class Pbs(Scheduler):
    name = "pbs"
    submit_program = "qsub"
    directive = "#PBS"

    def directives(self, options: Mapping[str, str]) -> list[str]:
        resources = {"cpus": "ncpus", "mem": "mem", "time": "walltime"}
        lines = []
        for key, value in options.items():
            if key == "partition":
                lines.append(f"#PBS -q {directive_value(value)}")
            elif key == "account":
                lines.append(f"#PBS -A {directive_value(value)}")
            else:
                lines.append(f"#PBS -l {resources.get(key, key)}={directive_value(value)}")
        return lines

    def submit_args(self, script: Path, argument: str, tasks: int, limit: int | None) -> list[str]:
        array = f"0-{tasks - 1}" + (f"%{limit}" if limit else "")
        return ["qsub", "-J", array, "-v", f"GITGRID_MANIFEST={argument}", str(script)]

    def cancel_args(self, job_ids: Sequence[str]) -> list[str]:
        return ["qdel", *job_ids]


class Lsf(Scheduler):
    name = "lsf"
    submit_program = "bsub"
    directive = "#BSUB"
    first_task = 1

    def directives(self, options: Mapping[str, str]) -> list[str]:
        flags = {"partition": "-q", "cpus": "-n", "time": "-W", "account": "-P", "mem": "-M"}
        return [f"#BSUB {flags.get(key, '-' + key)} {directive_value(v)}" for key, v in options.items()]

    def submit_args(self, script: Path, argument: str, tasks: int, limit: int | None) -> list[str]:
        array = f"gitgrid[1-{tasks}]" + (f"%{limit}" if limit else "")
        return ["bsub", "-J", array, "-env", f"all,GITGRID_MANIFEST={argument}", "<", str(script)]

    def parse_job_id(self, output: str) -> str:
        match = re.search(r"Job <(\d+)>", output)
        return match.group(1) if match else ""

    def cancel_args(self, job_ids: Sequence[str]) -> list[str]:
        return ["bkill", *job_ids]


SCHEDULERS: dict[str, type[Scheduler]] = {"slurm": Slurm, "pbs": Pbs, "lsf": Lsf}


def get_scheduler(name: str) -> Scheduler:
    try:
        return SCHEDULERS[name]()
    except KeyError:
        raise SubmitError(f"unknown scheduler '{name}' (expected {', '.join(SCHEDULERS)})") from None


def directive_value(value: str) -> str:
    """A value in a ``#SBATCH``-style line: quoted when it has spaces or quotes (the scheduler unquotes)."""
    if value and not any(c.isspace() or c in "\"'\\" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run(args: list[str]) -> str:
    """A query's output; empty when the tool is missing, fails or hangs (the caller falls back)."""
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout if result.returncode == 0 else ""


def _tasks(out: str) -> list[tuple[tuple[str, int], str]]:
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
            found += [((match.group(1), task), parts[1]) for task in _expand(match.group(2))]
    return found


def _expand(ranges: str) -> list[int]:
    tasks: list[int] = []
    for part in ranges.split(","):
        first, _, last = part.partition("-")
        tasks += range(int(first), int(last or first) + 1)
    return tasks


def _slurm_state(raw: str) -> TaskState:
    word = raw.split(maxsplit=1)[0] if raw else ""
    return TaskState(_SLURM_STATES.get(word, FAILED if word else PENDING), raw)
