"""What a stage (``gitgrid analyze``) adds to the run contract: the point's simulation run to read, the
analysis code to run it in, its own stage directory, and the promise that the simulation's outputs stay
as they were.

A stage's run is run by the same :func:`~gitgrid.run.execute.execute_point` as a simulation's, wherever
it runs; its :class:`~gitgrid.run.contract.RunRequest` carries a :class:`StageInput`, which says which
commit to check out (the analysis code, not the point's), what goes into the environment
(:func:`stage_variables`) and which run directories it must leave unchanged (:class:`Snapshot`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitgrid.layout import STAGE_MANIFEST

__all__ = ["STAGE_CONTRACT", "Snapshot", "StageInput", "StageOrder", "stage_variables"]

STAGE_CONTRACT = 1  # the version of what a stage is given; part of every analysis key
_SHOWN = 3  # changed files named in a reason, at most


@dataclass(frozen=True)
class StageOrder:
    """A stage to run (``RunOptions.stage``): its name, the commit of its analysis code (checked out for
    every point) and its analysis key (the code, the command and :data:`STAGE_CONTRACT`, hashed)."""

    name: str
    code: str
    analysis: str


@dataclass(frozen=True)
class StageInput:
    """A stage's part of one point's request: the order, the simulation run it reads (its directory,
    ``<commit>/<attempt>`` and metrics as JSON) or, for a stage over every point, none and the run
    directories it reads (``watch``, left unchanged as one's ``run_dir`` is)."""

    stage: str
    code: str
    analysis: str
    run_dir: str | None = None
    reads: str | None = None
    metrics: str = "{}"
    watch: tuple[str, ...] = ()
    every: bool = False

    @property
    def watched(self) -> tuple[str, ...]:
        """The simulation run directories this stage must leave as they are."""
        return (self.run_dir,) if self.run_dir else self.watch


def stage_variables(stage: StageInput, sweep: str, stage_dir: Path) -> dict[str, str]:
    """The ``GITGRID_*`` variables a stage's command gets on top of a point's (``docs/run.md``,
    Post-processing); ``sweep`` is the sweep's name (not its stage's records)."""
    env = {
        "GITGRID_SWEEP": sweep,
        "GITGRID_STAGE": stage.stage,
        "GITGRID_STAGE_DIR": str(stage_dir),
        "GITGRID_METRICS": stage.metrics,
        "GITGRID_CODE": stage.code,
    }
    if stage.run_dir is not None:
        env["GITGRID_RUN_DIR"] = stage.run_dir
    if stage.every:
        env["GITGRID_MANIFEST"] = str(stage_dir / STAGE_MANIFEST)
    return env


_Seen = dict[str, tuple[int, int, int, int]]  # relative path: (mode, size, mtime ns, inode)


@dataclass(frozen=True)
class Snapshot:
    """What run directories held (each file's size, time, inode and mode), to tell afterwards whether a
    stage wrote in them. Symbolic links are not followed."""

    folders: Mapping[str, _Seen]

    @classmethod
    def of(cls, folders: tuple[str, ...]) -> Snapshot:
        return cls({folder: _seen(Path(folder)) for folder in folders})

    def changed(self) -> str | None:
        """Why the run directories are not as they were (what changed, in one line), or None."""
        for folder, before in self.folders.items():
            after = _seen(Path(folder))
            if after == before:
                continue
            names = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
            shown = ", ".join(names[:_SHOWN]) + (
                f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
            )
            return (
                f"the stage changed its simulation's run directory {folder} ({shown}): a stage writes only "
                "in $GITGRID_STAGE_DIR, and the simulation's outputs are never to change"
            )
        return None


def _seen(folder: Path) -> _Seen:
    seen: _Seen = {}
    for top, folders, files in os.walk(folder):
        for name in (*folders, *files):
            path = Path(top, name)
            try:
                info = path.lstat()
            except OSError:
                continue
            size = 0 if stat.S_ISDIR(info.st_mode) else info.st_size
            mtime = 0 if stat.S_ISDIR(info.st_mode) else info.st_mtime_ns
            seen[str(path.relative_to(folder))] = (info.st_mode, size, mtime, info.st_ino)
    return seen
