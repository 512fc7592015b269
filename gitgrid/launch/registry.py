"""The launchers gitgrid knows, by the name ``--on`` takes: the one list of them.

The command line's choices (``run --on``, ``submit --scheduler``, ``optimize --on``), ``optimize``, the
table in ``docs/cluster.md`` and the tests all read :data:`LAUNCHERS`; adding a place to run points is a
module in this package and one entry here. Each entry names its class (``module:Class``), loaded on
first use, so that the command line can list the names without importing every launcher (and Dask).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from gitgrid.errors import RunError

if TYPE_CHECKING:
    from gitgrid.cluster.scheduler import Scheduler
    from gitgrid.git.repository import Repository
    from gitgrid.launch.launcher import Launcher, LaunchSettings

__all__ = ["LAUNCHERS", "cancel_sweep", "get_launcher", "launcher_class", "scheduler_of"]

LAUNCHERS: dict[str, str] = {
    "local": "gitgrid.launch.local:Local",
    "slurm": "gitgrid.launch.slurm:Slurm",
    "pbs": "gitgrid.launch.pbs:Pbs",
    "lsf": "gitgrid.launch.lsf:Lsf",
    "local-array": "gitgrid.launch.local_array:LocalArray",
    "dask": "gitgrid.launch.dask:Dask",
}


def launcher_class(name: str) -> type[Launcher]:
    """The class of the launcher called ``name``; an error listing the known names if there is none."""
    from gitgrid.launch.launcher import Launcher

    try:
        module, _, attribute = LAUNCHERS[name].partition(":")
    except KeyError:
        raise RunError(f"--on {name}: unknown (known: {', '.join(LAUNCHERS)})") from None
    found = getattr(importlib.import_module(module), attribute)
    assert isinstance(found, type) and issubclass(found, Launcher) and found.name == name, name
    return found


def get_launcher(name: str, settings: LaunchSettings | None = None) -> Launcher:
    """The launcher called ``name``, made with ``settings`` (checked: a setting it cannot use is an
    error naming it)."""
    from gitgrid.launch.launcher import LaunchSettings

    return launcher_class(name)(settings or LaunchSettings())


def scheduler_of(name: str) -> Scheduler:
    """The batch scheduler of the array launcher called ``name`` (to read back the states of jobs
    recorded under that name)."""
    scheduler = getattr(launcher_class(name), "scheduler", None)
    if scheduler is None:
        raise RunError(f"'{name}' submits no array jobs")
    made: Scheduler = scheduler()
    return made


def cancel_sweep(repo: Repository | Path | str = ".", sweep: str | None = None) -> list[str]:
    """Stop whatever runs the points of ``sweep``, wherever: its queued and running array jobs, and
    the gitgrid process running it here; what was stopped, in words."""
    stopped: list[str] = []
    for name in LAUNCHERS:
        stopped += [what for what in get_launcher(name).cancel(repo, sweep) if what not in stopped]
    return stopped
