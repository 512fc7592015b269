"""The schedulers gitgrid knows, by the name ``--scheduler`` takes."""

from __future__ import annotations

from gitgrid.cluster.lsf import Lsf
from gitgrid.cluster.pbs import Pbs
from gitgrid.cluster.scheduler import Scheduler
from gitgrid.cluster.slurm import Slurm
from gitgrid.errors import SubmitError

__all__ = ["SCHEDULERS", "get_scheduler"]

SCHEDULERS: dict[str, type[Scheduler]] = {"slurm": Slurm, "pbs": Pbs, "lsf": Lsf}


def get_scheduler(name: str) -> Scheduler:
    try:
        return SCHEDULERS[name]()
    except KeyError:
        raise SubmitError(f"unknown scheduler '{name}' (expected {', '.join(SCHEDULERS)})") from None
