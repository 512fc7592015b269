"""The cluster commands: ``submit``, ``cancel``, and ``task`` (what job scripts run on the nodes).

Each command parses, calls one library function, prints.
"""

from __future__ import annotations

import shlex
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gitgrid.cli.app import RUNS_ROOT_HELP, CommandAfterDashes, SweepName, app, context_of, reported
from gitgrid.errors import SubmitError

__all__ = ["SchedulerName", "cancel", "parse_options", "submit", "task"]


class SchedulerName(StrEnum):
    slurm = "slurm"
    pbs = "pbs"
    lsf = "lsf"


def parse_options(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    """``--opt KEY=VALUE`` values as pairs, in the order given."""
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SubmitError(
                f"--opt {pair!r}: expected KEY=VALUE, e.g. --opt partition=short --opt time=1:00:00"
            )
        parsed.append((key.strip(), value))
    return tuple(parsed)


@app.command(cls=CommandAfterDashes)
@reported
def submit(
    ctx: typer.Context,
    sweep: SweepName = None,
    scheduler: Annotated[SchedulerName, typer.Option(help="The batch scheduler.")] = SchedulerName.slurm,
    array_limit: Annotated[int | None, typer.Option(help="Tasks running at once (%M of the array).")] = None,
    chunk: Annotated[int, typer.Option(help="Points per array task.")] = 1,
    template: Annotated[Path | None, typer.Option(help="Your own job script template (Jinja).")] = None,
    opt: Annotated[
        list[str] | None,
        typer.Option("--opt", help="Scheduler option KEY=VALUE (partition, time, mem, ...)."),
    ] = None,
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", help="Submit only points that failed, timed out or were stopped."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the job script and commands; submit nothing.")
    ] = False,
    runs_root: Annotated[Path | None, typer.Option(help=RUNS_ROOT_HELP)] = None,
    build: Annotated[
        str | None,
        typer.Option(help="Shell command each task runs in its checkout before every point (make)."),
    ] = None,
) -> None:
    """Submit a sweep as array jobs (one per MaxArraySize points): gitgrid submit [SWEEP] -- CMD [ARGS...]."""
    from gitgrid.cluster.submit import SubmitOptions, submit_sweep

    context = context_of(ctx)
    options = SubmitOptions(
        scheduler=scheduler.value, array_limit=array_limit, chunk=chunk,
        template=context.path(template) if template else None, options=parse_options(opt or []),
        retry_failed=retry_failed, runs_root=context.path(runs_root) if runs_root else None, build=build,
    )  # fmt: skip
    command = ctx.meta.get("gitgrid.command", [])
    done = submit_sweep(command, sweep, context.repo(), options, dry_run)
    points = sum(len(a.points) for a in done.arrays)
    if not done.arrays:
        print(f"{done.sweep.name}: nothing to submit ({done.skipped} points already done)")
        return
    if dry_run:
        print(done.script, end="" if done.script.endswith("\n") else "\n")
        for array in done.arrays:
            print(f"# {shlex.join(array.command)}")
        print(f"# would submit {points} points in {len(done.arrays)} array job(s); nothing was submitted")
        return
    ids = ", ".join(done.job_ids)
    print(f"{done.sweep.name}: submitted {points} points as {done.scheduler} job(s) {ids}")
    print(f"follow with: gitgrid status {done.sweep.name}", file=sys.stderr)


@app.command()
@reported
def cancel(
    ctx: typer.Context,
    sweep: SweepName = None,
) -> None:
    """Cancel the sweep's queued and running jobs."""
    from gitgrid.cluster.submit import cancel_sweep

    cancelled = cancel_sweep(context_of(ctx).repo(), sweep)
    print(f"cancelled job(s) {', '.join(cancelled)}" if cancelled else "no queued or running jobs")


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

    raise typer.Exit(run_task(submission, manifest, task_id))
