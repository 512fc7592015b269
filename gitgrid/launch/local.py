"""This machine: ``-j`` points at a time, each in a worker checkout of its own (:mod:`gitgrid.run.runner`).

The points live as long as the process that launched them, so :meth:`Local.launch` runs them to their
end (with the runner's progress, signals and ``--halt-after``), and there is nothing left to wait for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitgrid.git.repository import Repository
from gitgrid.launch.launcher import Launch, Launcher, Progress, Warn
from gitgrid.run.runner import RunOptions, check_options, run_sweep
from gitgrid.run.target import planned_points

__all__ = ["Local"]


class Local(Launcher):
    name = "local"
    description = "this machine, `-j` points at a time, each in a worker checkout of its own (the default)"

    def launch(
        self,
        command: Sequence[str],
        sweep: str | None = None,
        repo: Repository | Path | str = ".",
        options: RunOptions | None = None,
        *,
        dry_run: bool = False,
        on_progress: Progress | None = None,
        on_warning: Warn | None = None,
    ) -> Launch:
        options = options or RunOptions()
        if dry_run:
            check_options(command, options)
            chosen, plan = planned_points(sweep, repo, options, command)
            points = tuple(p.index for p in plan.points)
            return Launch(self.name, chosen.name, points, plan.skipped, dry_run=True)
        summary = run_sweep(command, sweep, repo, options, on_progress, on_warning)
        return Launch(self.name, summary.sweep, skipped=summary.state.skipped, summary=summary)
