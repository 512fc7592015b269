"""PBS Pro: ``qsub -J``, ``qdel``. Rendered scripts are checked against golden files; no PBS cluster was
at hand, so its task states are not read (``gitgrid status`` shows what the run directories say).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gitgrid.cluster.scheduler import Scheduler, directive_value

__all__ = ["Pbs"]


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
