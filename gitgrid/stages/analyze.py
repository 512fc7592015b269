"""``gitgrid analyze``: a stage run once per point whose simulation succeeded, by any launcher, or once with
every point (``--all``, :mod:`gitgrid.stages.every`).

The stage's code is snapshot first (:mod:`gitgrid.stages.code`) and the stage remembered in the store;
then the launcher runs the points of the stage's records whose analysis is not current, as it runs a
sweep's points (:mod:`gitgrid.run.target`): locally ``-j`` at a time, as array jobs, on Dask. Resume,
``--retry-failed``, ``--where``, ``--timeout``, ``--halt-after``, stopping and collecting are theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gitgrid.errors import RunError
from gitgrid.git.repository import Repository
from gitgrid.launch.launcher import Launch, Launcher, Progress, Warn, as_repository
from gitgrid.launch.registry import get_launcher
from gitgrid.run.runner import RunOptions, check_options
from gitgrid.stages.code import Analysis, analysis_of, default_stage
from gitgrid.stages.every import analyze_every
from gitgrid.store import open_store
from gitgrid.sweep.catalog import find_sweep
from gitgrid.sweep.record import Sweep
from gitgrid.sweep.stages import split_records

__all__ = ["StageOptions", "analyze"]


@dataclass(frozen=True)
class StageOptions:
    """What is particular to a stage: its name (default: from the command), whether it runs once with
    every point (``--all``), the code (``--code REF``; default: the working tree) and the paths it depends
    on (``--uses``; default: the whole tree)."""

    stage: str | None = None
    every: bool = False
    code: str | None = None
    uses: tuple[str, ...] = ()


def analyze(
    command: Sequence[str],
    sweep: str | None = None,
    repo: Repository | Path | str = ".",
    stage: StageOptions = StageOptions(),
    options: RunOptions | None = None,
    launcher: Launcher | None = None,
    *,
    dry_run: bool = False,
    on_progress: Progress | None = None,
    on_warning: Warn | None = None,
) -> Launch:
    """Run stage ``command`` on ``sweep`` (default: the newest): once per point whose simulation succeeded
    and whose analysis is not current, with ``launcher`` (default: here, ``-j`` at a time); or, with
    ``stage.every``, once with every point, here. The stage's metrics join the points' results as
    ``STAGE.METRIC``."""
    options = options or RunOptions()
    check_options(command, options)
    if options.setup or options.build:
        raise RunError("gitgrid analyze takes no --setup or --build: the analysis runs in your code as it is")
    repo = as_repository(repo)
    chosen, name = _stage_of(repo, sweep, stage.stage, command)
    layout, store = open_store(repo, options.runs_root)
    try:
        analysis = analysis_of(
            repo, layout, chosen.name, name, command, every=stage.every, code_ref=stage.code,
            uses=stage.uses, keep=not dry_run,
        )  # fmt: skip
        known = {s.stage: s.every for s in store.stages.of(chosen.name)}
        if known.get(name, stage.every) != stage.every:
            kind = "once with every point (--all)" if known[name] else "once per point"
            raise RunError(f"stage {name} of '{chosen.name}' runs {kind}: give this one another --stage")
        if not dry_run:
            store.stages.record(analysis.record)
    finally:
        store.close()
    if stage.every:
        if launcher is not None and launcher.name != "local":
            raise RunError("analyze --all runs here, once: give no --on")
        return analyze_every(command, chosen, repo, analysis, options, dry_run=dry_run)
    return _per_point(command, chosen, repo, analysis, options, launcher, dry_run, on_progress, on_warning)


def _per_point(
    command: Sequence[str],
    sweep: Sweep,
    repo: Repository,
    analysis: Analysis,
    options: RunOptions,
    launcher: Launcher | None,
    dry_run: bool,
    on_progress: Progress | None,
    on_warning: Warn | None,
) -> Launch:
    run = replace(options, stage=analysis.order)
    launcher = launcher or get_launcher("local")
    return launcher.launch(
        command, sweep.name, repo, run, dry_run=dry_run, on_progress=on_progress, on_warning=on_warning
    )


def _stage_of(
    repo: Repository, sweep: str | None, stage: str | None, command: Sequence[str]
) -> tuple[Sweep, str]:
    """The sweep analysed and the stage's name: ``--stage``, the stage of a ``SWEEP:STAGE`` given as the
    sweep, or one made from the command."""
    named: str | None = None
    if sweep is not None:
        sweep, named = split_records(sweep)
        sweep = sweep or None
    if named is not None and stage is not None and named != stage:
        raise RunError(f"--stage {stage}: the sweep was given as the records of stage {named}")
    chosen = find_sweep(repo, sweep)
    return chosen, stage or named or default_stage(command, repo)
