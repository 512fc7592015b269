"""PBS Pro (and OpenPBS): ``qsub -J``, task states from ``qstat -t -f -x``, ``qdel``.

No PBS cluster was at hand: the job script is checked against a golden file and the state reader
against recorded ``qstat`` output (``tests/cluster/golden/``), in the format PBS Pro documents.
"""

from __future__ import annotations

import re
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
    query,
)
from gitgrid.launch.arrays import ArrayLauncher

__all__ = ["Pbs", "PbsScheduler", "qstat_states"]

_ACTIVE = {
    "Q": PENDING, "H": PENDING, "W": PENDING, "T": PENDING, "S": PENDING, "M": PENDING,
    "R": RUNNING, "E": RUNNING, "B": RUNNING, "U": RUNNING,
}  # fmt: skip
_WALLTIME, _MEMORY = -29, -27  # PBS Pro's JOB_EXEC_KILL_WALLTIME and JOB_EXEC_KILL_MEM
_SUBJOB = re.compile(r"^(?P<number>\d+)\[(?P<task>\d+)\](?P<server>.*)$")


class PbsScheduler(Scheduler):
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

    def states(self, jobs: Sequence[JobRef]) -> dict[tuple[str, int], TaskState]:
        """Every subjob of each array, finished ones too (``-x``: the server's job history)."""
        found: dict[tuple[str, int], TaskState] = {}
        for job in jobs:
            found.update(qstat_states(query(["qstat", "-t", "-f", "-x", job.job_id]), job.job_id))
        return found

    def cancel_args(self, job_ids: Sequence[str]) -> list[str]:
        return ["qdel", *job_ids]


def qstat_states(out: str, job_id: str) -> dict[tuple[str, int], TaskState]:
    """The subjobs of array ``job_id`` (``1234[].server``) in ``qstat -f`` output: one block per job,
    ``Job Id: 1234[5].server`` then indented ``key = value`` lines."""
    found = {}
    for block in re.split(r"^Job Id:\s*", out, flags=re.MULTILINE)[1:]:
        lines = block.splitlines()
        match = _SUBJOB.match(lines[0].strip()) if lines else None
        if match is None or f"{match['number']}[]{match['server']}" != job_id:
            continue  # the array itself, or another job
        attributes = dict(_attribute(line) for line in lines[1:] if " = " in line)
        found[(job_id, int(match["task"]))] = _state(attributes)
    return found


def _attribute(line: str) -> tuple[str, str]:
    key, _, value = line.strip().partition(" = ")
    return key, value.strip()


def _state(attributes: Mapping[str, str]) -> TaskState:
    """A subjob's state: ``job_state`` while it is queued or runs; once finished (``F``, ``X``), what its
    ``Exit_status`` says (none: deleted before it ran; 256 + a signal: killed, as ``qdel`` does)."""
    word = attributes.get("job_state", "")
    if word in _ACTIVE:
        return TaskState(_ACTIVE[word], word)
    text = attributes.get("Exit_status")
    if text is None or not re.fullmatch(r"-?\d+", text):
        return TaskState(CANCELLED, f"{word} (deleted before it ran)")
    status = int(text)
    detail = f"{word} (Exit_status {status})"
    if status == 0:
        return TaskState(DONE, detail)
    if status == _WALLTIME:
        return TaskState(TIMEOUT, f"{word} (Exit_status {status}: walltime exceeded)")
    if status == _MEMORY:
        return TaskState(FAILED, f"{word} (Exit_status {status}: memory limit exceeded)")
    if status > 256 and status - 256 in (9, 15):
        return TaskState(CANCELLED, f"{word} (Exit_status {status}: killed by signal {status - 256})")
    return TaskState(FAILED, detail)


class Pbs(ArrayLauncher):
    name = "pbs"
    description = "PBS Pro / OpenPBS array jobs (`qsub -J`); states from `qstat -t -f -x`"
    scheduler = PbsScheduler
