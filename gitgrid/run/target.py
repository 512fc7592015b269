"""What a launch runs: a sweep's points, or a stage's (``gitgrid analyze``), found, planned, checked and
checked out the same way by every launcher (the local runner, array jobs, Dask).

A stage's runs are recorded as the runs of its records, the sweep ``SWEEP:STAGE``
(:mod:`gitgrid.sweep.stages`), so a launcher given a :class:`~gitgrid.run.stage.StageOrder` launches
those records' points: the ones whose analysis is not current (:meth:`gitgrid.store.stages.Stages.plan`),
each in a checkout of the analysis code. Everything else (locks, attempts, collecting, the scheduler's
verdicts) is what it is for a sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from gitgrid.errors import RunError, SweepError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.run.checkouts import sweep_files
from gitgrid.run.collect import catch_up, refresh
from gitgrid.run.preflight import check_command, check_command_elsewhere, command_file_warnings
from gitgrid.run.reuse import Choice, Planned, plan_runs
from gitgrid.run.stage import StageOrder
from gitgrid.store import Plan, Store, open_store
from gitgrid.sweep.catalog import find_sweep, list_points
from gitgrid.sweep.record import Sweep
from gitgrid.sweep.stages import split_records, stage_records

__all__ = [
    "Planning",
    "checkout_files",
    "launch_target",
    "plan_for",
    "planned_points",
    "preflight",
    "start_commit",
]


def launch_target(repo: Repository, sweep: str | None, stage: StageOrder | None) -> Sweep:
    """The sweep whose points a launch runs and records: ``sweep`` (default: the newest) itself, or with
    a ``stage``, that stage's records. A stage's records are refused without a stage to run."""
    chosen = find_sweep(repo, sweep)
    _, named = split_records(chosen.name)
    if stage is None:
        if named is not None:
            raise RunError(
                f"'{chosen.name}' holds the runs of stage {named}: run that stage with "
                f"'gitgrid analyze {chosen.name.partition(':')[0]} --stage {named} -- CMD'"
            )
        return chosen
    if named is None:
        return stage_records(chosen, stage.name)
    if named != stage.name:
        raise RunError(f"'{chosen.name}' holds the runs of stage {named}, not of stage {stage.name}")
    return chosen


def plan_for(
    repo: Repository,
    store: Store,
    runs_root: Path,
    chosen: Sweep,
    options: Choice,
    stage: StageOrder | None,
    command: Sequence[str],
    *,
    record: bool = True,
) -> Planned:
    """The points to run now: for a sweep, :func:`~gitgrid.run.reuse.plan_runs` (those a stored success
    stands for recorded as reused, unless not ``record``); for a stage's records, those whose analysis is
    not current (after collecting the sweep's finished runs, which it reads), with ``rerun`` every point
    whose simulation succeeded. A stage's run is never reused nor keyed: its analysis key says whether it
    is current."""
    if stage is None:
        return plan_runs(repo, store, chosen, options, command, record=record)
    sweep = replace(chosen, name=split_records(chosen.name)[0])
    refresh(store, repo, sweep, runs_root)
    plan = store.stages.plan(
        sweep,
        stage.name,
        stage.analysis,
        options.where,
        retry_failed=options.retry_failed,
        again=options.rerun,
    )
    return Planned(plan, "")


class Planning(Choice, Protocol):
    """What :func:`planned_points` needs of a run's options: :class:`~gitgrid.run.reuse.Choice`'s, and the
    stage to run, if any (:class:`gitgrid.run.runner.RunOptions` has it all)."""

    @property
    def stage(self) -> StageOrder | None: ...


def planned_points(
    sweep: str | None, repo: Repository | Path | str, options: Planning, command: Sequence[str] = ()
) -> tuple[Sweep, Plan]:
    """The points a run (or a stage) of ``command`` with ``options`` would run now (those it would reuse
    left out), and how many it would skip (``--dry-run``): the store is brought up to date as a run does
    first; nothing runs, nothing is recorded as reused."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = launch_target(repo, sweep, options.stage)
    layout, store = open_store(repo, options.runs_root)
    try:
        if not store.sweeps.sync(chosen, list_points(repo, chosen)):
            raise SweepError(f"sweep '{chosen.name}' has no points (are its commits in this clone?)")
        catch_up(store, chosen, layout.runs_root)
        planned = plan_for(
            repo, store, layout.runs_root, chosen, options, options.stage, command, record=False
        )
        return chosen, planned.plan
    finally:
        store.close()


def preflight(
    repo: Repository,
    chosen: Sweep,
    command: Sequence[str],
    stage: StageOrder | None,
    builds: bool,
    warn: Callable[[str], None],
    elsewhere: bool = False,
) -> None:
    """Refuse a command that cannot start where it will run, and warn of files it names that the points
    would not see as you do (:mod:`gitgrid.run.preflight`). A stage's command runs in a checkout of the
    analysis code: it is looked for there, and names nothing stale (the code is the working tree's)."""
    where = replace(chosen, tip=stage.code) if stage is not None else chosen
    (check_command_elsewhere if elsewhere else check_command)(repo, where, command, builds)
    if stage is None:
        for warning in command_file_warnings(repo, chosen, command, builds):
            warn(warning)


def start_commit(chosen: Sweep, stage: StageOrder | None) -> str:
    """Where a worker's checkout starts: the sweep's tip, or the stage's analysis code."""
    return stage.code if stage is not None else chosen.tip


def checkout_files(chosen: Sweep, stage: StageOrder | None) -> tuple[str, ...]:
    """The files a checkout moves by from point to point: the sweep's; none for a stage, whose every
    point runs in the same code."""
    return () if stage is not None else sweep_files(chosen)
