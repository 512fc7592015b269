"""LSF: ``bsub`` with the script on stdin (``#BSUB`` lines are only read there), ``bkill``. Rendered
scripts are checked against golden files; no LSF cluster was at hand, so its task states are not read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitgrid.cluster.scheduler import Scheduler, directive_value

__all__ = ["Lsf"]


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
