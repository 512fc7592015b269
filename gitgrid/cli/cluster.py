"""The cluster commands: ``submit``, ``cancel``, ``clean``, and ``task`` (what job scripts run on nodes).

Each command parses, calls one library function, prints.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gitgrid.cli.app import RUNS_ROOT_HELP, CommandAfterDashes, SweepName, app, context_of, reported
from gitgrid.cli.runs import (
    ON_HELP,
    ArrayLimit,
    Chunk,
    Opt,
    Poll,
    RunsRoot,
    Template,
    Wait,
    launch_points,
    launch_settings,
)
from gitgrid.launch.registry import LAUNCHERS

__all__ = ["cancel", "clean", "submit", "task"]


@app.command(cls=CommandAfterDashes)
@reported
def submit(
    ctx: typer.Context,
    sweep: SweepName = None,
    scheduler: Annotated[
        str, typer.Option("--scheduler", "--on", help=ON_HELP.format(", ".join(LAUNCHERS)))
    ] = "slurm",
    array_limit: ArrayLimit = None,
    chunk: Chunk = 1,
    template: Template = None,
    opt: Opt = None,
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", help="Also points that failed or timed out (submit always does)."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the job script and commands; submit nothing.")
    ] = False,
    runs_root: RunsRoot = None,
    build: Annotated[
        str | None,
        typer.Option(help="Shell command each task runs in its checkout before every point (make)."),
    ] = None,
    setup: Annotated[
        str | None, typer.Option(help="Shell command run once in each node checkout (a venv, pip install).")
    ] = None,
    clean_build: Annotated[
        bool, typer.Option("--clean-build", help="git clean -fdx in the checkout before each --build.")
    ] = False,
    where: Annotated[str | None, typer.Option(help="Only points where this holds.")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds before a run is stopped as timed out.")
    ] = None,
    halt_after: Annotated[
        int | None, typer.Option(help="Start no new point after N failed or timed-out runs.")
    ] = None,
    rerun: Annotated[bool, typer.Option("--rerun", help="Run every point again, as new attempts.")] = False,
    wait: Wait = False,
    poll: Poll = 5.0,
) -> None:
    """Submit a sweep as array jobs: gitgrid submit [SWEEP] -- CMD. The same as gitgrid run --on slurm.

    Kept for the scripts that use it: every point without a success is submitted (failed ones too).
    """
    from gitgrid.run.runner import RunOptions

    del retry_failed  # submit has always submitted failed and timed-out points again
    context = context_of(ctx)
    options = RunOptions(
        where=where, setup=setup, build=build, clean_build=clean_build, timeout=timeout, retry_failed=True,
        rerun=rerun,
        runs_root=context.path(runs_root) if runs_root else None, halt_after=halt_after,
    )  # fmt: skip
    settings = launch_settings(ctx, opt, array_limit, chunk, template, poll)
    launch_points(ctx, sweep, scheduler, settings, options, dry_run=dry_run, wait=wait)


@app.command()
@reported
def cancel(
    ctx: typer.Context,
    sweep: SweepName = None,
) -> None:
    """Stop the sweep wherever it runs: its queued and running jobs, and a gitgrid run of it here."""
    from gitgrid.launch.registry import cancel_sweep

    cancelled = cancel_sweep(context_of(ctx).repo(), sweep)
    print(f"cancelled {', '.join(cancelled)}" if cancelled else "nothing queued or running")


@app.command()
@reported
def clean(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
    scratch: Annotated[
        Path | None, typer.Option(help="The scratch folder of node checkouts (default: $TMPDIR, else /tmp).")
    ] = None,
    runs_root: Annotated[Path | None, typer.Option(help=RUNS_ROOT_HELP)] = None,
) -> None:
    """Remove what crashed runs left: your unused node checkouts in scratch, empty attempt folders."""
    from gitgrid.cluster.clean import clean as clean_up

    context = context_of(ctx)
    found = clean_up(
        context.repo(), context.path(runs_root) if runs_root else None,
        context.path(scratch) if scratch else None, dry_run,
    )  # fmt: skip
    verb = "would remove" if dry_run else "removed"
    for path in found.removed:
        print(f"{verb} {path}")
    for path, why in found.kept:
        print(f"kept {path} ({why})", file=sys.stderr)
    done = "to remove" if dry_run else "removed"
    print(f"{len(found.removed)} {done}, {len(found.kept)} kept", file=sys.stderr)


@app.command(hidden=True)
@reported
def task(
    submission: Annotated[Path, typer.Argument(help="The submission folder.")],
    manifest: Annotated[Path, typer.Argument(help="The manifest of this task's array.")],
    task_id: Annotated[
        int | None, typer.Option("--task", help="Task id (default: $GITGRID_TASK_ID).")
    ] = None,
) -> None:
    """Run one array task's points on this node (called by job scripts)."""
    from gitgrid.cluster.task import run_task

    summary = run_task(submission, manifest, task_id)
    for warning in summary.warnings:
        print(f"gitgrid: warning: {warning}", file=sys.stderr)
    print(summary.line(), file=sys.stderr)
    raise typer.Exit(summary.exit_code)
