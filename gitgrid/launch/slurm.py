"""SLURM: ``sbatch --array``, states from ``squeue``, ``sacct`` and ``scontrol``, ``scancel``.

Complete and tested against a real single-node cluster (``tests/slurm/``).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

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
    directive_value,
    expand_tasks,
    query,
    task_lines,
)
from gitgrid.launch.arrays import ArrayLauncher

__all__ = ["Slurm", "SlurmScheduler"]

_SLURM_STATES = {
    "PENDING": PENDING, "CONFIGURING": PENDING, "REQUEUED": PENDING, "RESIZING": PENDING,
    "SUSPENDED": PENDING,
    "RUNNING": RUNNING, "COMPLETING": RUNNING, "STAGE_OUT": RUNNING,
    "COMPLETED": DONE,
    "FAILED": FAILED, "OUT_OF_MEMORY": FAILED, "NODE_FAIL": FAILED, "BOOT_FAIL": FAILED, "DEADLINE": TIMEOUT,
    "TIMEOUT": TIMEOUT, "PREEMPTED": CANCELLED, "CANCELLED": CANCELLED, "REVOKED": CANCELLED,
}  # fmt: skip
_CLOCK_SLACK = 600  # seconds: the submitting host's clock may run ahead of the controller's
_SLURM_OPTIONS = {"cpus": "cpus-per-task", "mem": "mem", "time": "time", "partition": "partition"}


class SlurmScheduler(Scheduler):
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

    def states(self, jobs: Sequence[JobRef]) -> dict[tuple[str, int], TaskState]:
        """From ``squeue`` (queued and running tasks), then ``sacct``, else ``scontrol show job``."""
        job_ids = [job.job_id for job in jobs]
        if not job_ids:
            return {}
        found = self._scontrol(job_ids)  # also tasks sacct has not heard of yet, or at all (no accounting)
        found.update(self._sacct(jobs))
        found.update(self._squeue(job_ids))
        return found

    def _squeue(self, job_ids: Sequence[str]) -> dict[tuple[str, int], TaskState]:
        out = query(["squeue", "-h", "-r", "-j", ",".join(job_ids), "-o", "%i %T"])
        return {key: TaskState(_SLURM_STATES.get(state, RUNNING), state) for key, state in task_lines(out)}

    def _sacct(self, jobs: Sequence[JobRef]) -> dict[tuple[str, int], TaskState]:
        """The tasks' states in the accounting, from the jobs' submission on. Job ids come round again
        (a counter that wraps, a controller started afresh) while the accounting keeps every job it saw:
        without ``-S``, ``sacct -j`` reports an earlier job of the same id too (a 'COMPLETED' task of
        this morning for one cancelled now), so only jobs alive since the earliest submission (less
        ``_CLOCK_SLACK`` for the clocks of submitting host and controller) are read."""
        since = time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime(min(j.submitted for j in jobs) - _CLOCK_SLACK)
        )
        job_ids = ",".join(job.job_id for job in jobs)
        out = query(["sacct", "-n", "-P", "-X", "-S", since, "-j", job_ids, "-o", "JobID,State"])
        lines = [line.replace("|", " ") for line in out.splitlines()]
        return {key: _slurm_state(state) for key, state in task_lines("\n".join(lines))}

    def _scontrol(self, job_ids: Sequence[str]) -> dict[tuple[str, int], TaskState]:
        found = {}
        for job_id in job_ids:
            out = query(["scontrol", "-o", "show", "job", job_id])
            for line in out.splitlines():
                array = re.search(r"ArrayJobId=(\d+) ArrayTaskId=([\d,\-]+)", line)
                state = re.search(r"JobState=(\S+)", line)
                if array and state:
                    for task in expand_tasks(array.group(2)):
                        found[(array.group(1), task)] = _slurm_state(state.group(1))
        return found

    def cancel_args(self, job_ids: Sequence[str]) -> list[str]:
        return ["scancel", *job_ids]


def _slurm_state(raw: str) -> TaskState:
    word = raw.split(maxsplit=1)[0] if raw else ""
    return TaskState(_SLURM_STATES.get(word, FAILED if word else PENDING), raw)


class Slurm(ArrayLauncher):
    name = "slurm"
    description = "SLURM array jobs (`sbatch --array`); states from `squeue`, `sacct`, `scontrol`"
    scheduler = SlurmScheduler
