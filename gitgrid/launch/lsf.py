"""LSF: ``bsub`` with the script on standard input (``#BSUB`` lines are only read there), task states
from ``bjobs -a -o``, ``bkill``.

No LSF cluster was at hand: the job script is checked against a golden file and the state reader
against recorded ``bjobs`` output (``tests/cluster/golden/``), in the format LSF documents.
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

__all__ = ["BJOBS_FORMAT", "Lsf", "LsfScheduler", "bjobs_states"]

BJOBS_FORMAT = "jobid jobindex stat exit_code exit_reason delimiter='|'"
_ACTIVE = {
    "PEND": PENDING, "PSUSP": PENDING, "WAIT": PENDING,
    "RUN": RUNNING, "USUSP": RUNNING, "SSUSP": RUNNING, "PROV": RUNNING, "UNKWN": RUNNING,
}  # fmt: skip
# LSF's termination reasons (TERM_*), as keywords or in the words bjobs may show them in
_TIMEOUT = re.compile(r"TERM_RUNLIMIT|TERM_DEADLINE|run ?time limit|deadline", re.IGNORECASE)
_CANCELLED = re.compile(
    r"TERM_(FORCE_)?(OWNER|ADMIN)|killed by (owner|root|LSF administrator)", re.IGNORECASE
)


class LsfScheduler(Scheduler):
    name = "lsf"
    submit_program = "bsub"
    directive = "#BSUB"
    first_task = 1
    script_on_stdin = True

    def directives(self, options: Mapping[str, str]) -> list[str]:
        flags = {"partition": "-q", "cpus": "-n", "time": "-W", "account": "-P", "mem": "-M"}
        return [f"#BSUB {flags.get(key, '-' + key)} {directive_value(v)}" for key, v in options.items()]

    def submit_args(self, script: Path, argument: str, tasks: int, limit: int | None) -> list[str]:
        array = f"gitgrid[1-{tasks}]" + (f"%{limit}" if limit else "")
        return ["bsub", "-J", array, "-env", f"all,GITGRID_MANIFEST={argument}"]

    def parse_job_id(self, output: str) -> str:
        match = re.search(r"Job <(\d+)>", output)
        return match.group(1) if match else ""

    def states(self, jobs: Sequence[JobRef]) -> dict[tuple[str, int], TaskState]:
        """Every element of each array, finished ones too (``-a``)."""
        ids = [job.job_id for job in jobs]
        if not ids:
            return {}
        return bjobs_states(query(["bjobs", "-a", "-noheader", "-o", BJOBS_FORMAT, *ids]))

    def cancel_args(self, job_ids: Sequence[str]) -> list[str]:
        return ["bkill", *job_ids]


def bjobs_states(out: str) -> dict[tuple[str, int], TaskState]:
    """``jobid|jobindex|stat|exit_code|exit_reason`` lines (``-`` where a field has no value)."""
    found = {}
    for line in out.splitlines():
        fields = [field.strip() for field in line.split("|")]
        if len(fields) < 3 or not fields[0].isdigit() or not fields[1].isdigit():
            continue
        job_id, index, word = fields[:3]
        code = fields[3] if len(fields) > 3 else "-"
        reason = fields[4] if len(fields) > 4 and fields[4] != "-" else ""
        found[(job_id, int(index))] = _state(word, code, reason)
    return found


def _state(word: str, code: str, reason: str) -> TaskState:
    if word in _ACTIVE:
        return TaskState(_ACTIVE[word], word)
    detail = (
        word + (f" (exit code {code})" if code not in ("-", "") else "") + (f": {reason}" if reason else "")
    )
    if word == "DONE":
        return TaskState(DONE, detail)
    if _TIMEOUT.search(reason):
        return TaskState(TIMEOUT, detail)
    if _CANCELLED.search(reason):
        return TaskState(CANCELLED, detail)
    return TaskState(FAILED, detail)


class Lsf(ArrayLauncher):
    name = "lsf"
    description = "LSF job arrays (`bsub -J name[1-N]`); states from `bjobs -a -o`"
    scheduler = LsfScheduler
