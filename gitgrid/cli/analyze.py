"""``gitgrid analyze``: post-processing as a stage of its own (:mod:`gitgrid.stages`).

It parses, calls :func:`gitgrid.stages.analyze.analyze` and says what happened as ``gitgrid run`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gitgrid.cli.app import CommandAfterDashes, SweepName, app, context_of, reported
from gitgrid.cli.runs import (
    ON_HELP,
    ArrayLimit,
    Chunk,
    Maximize,
    Opt,
    Poll,
    RunsRoot,
    Template,
    Wait,
    Watch,
    follow_launch,
    launch_settings,
)
from gitgrid.launch.registry import LAUNCHERS

if TYPE_CHECKING:
    from gitgrid.launch.launcher import Launch, Progress, Warn

__all__ = ["analyze"]


@app.command(cls=CommandAfterDashes)
@reported
def analyze(
    ctx: typer.Context,
    sweep: SweepName = None,
    stage: Annotated[
        str | None, typer.Option(help="The stage's name (default: the script's, e.g. spikes for spikes.py).")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Run once with every point (a manifest), for a figure or a table.")
    ] = False,
    code: Annotated[
        str | None, typer.Option(help="Run the analysis code of this commit (default: the working tree).")
    ] = None,
    uses: Annotated[
        list[str] | None,
        typer.Option("--uses", help="A file or folder the analysis depends on (default: the whole tree)."),
    ] = None,
    on: Annotated[str, typer.Option("--on", help=ON_HELP.format(", ".join(LAUNCHERS)))] = "local",
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Points at a time (default: cores).")
    ] = None,
    where: Annotated[str | None, typer.Option(help="Only points where this holds (params).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds before a stage's run is stopped.")] = None,
    halt_after: Annotated[
        int | None, typer.Option(help="Start no new point after N failed or timed-out runs.")
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Analyse again points whose analysis failed.")
    ] = False,
    rerun: Annotated[
        bool, typer.Option("--rerun", help="Analyse every point again, current or not.")
    ] = False,
    watch: Watch = None,
    maximize: Maximize = False,
    runs_root: RunsRoot = None,
    opt: Opt = None,
    array_limit: ArrayLimit = None,
    chunk: Chunk = 1,
    template: Template = None,
    wait: Wait = False,
    poll: Poll = 5.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run; run nothing.")] = False,
) -> None:
    """Analyse each point's finished run (or, --all, the whole sweep): analyze [SWEEP] -- CMD [ARGS].

    The analysis code is your working tree's; its metrics join the results as STAGE.METRIC. Points whose
    analysis is current are skipped: editing the analysis, or running a simulation again, makes it stale.
    """
    from gitgrid.launch.registry import get_launcher
    from gitgrid.run.runner import RunOptions
    from gitgrid.stages.analyze import StageOptions
    from gitgrid.stages.analyze import analyze as analyze_stage

    context = context_of(ctx)
    options = RunOptions(
        jobs=jobs, where=where, timeout=timeout, retry_failed=retry_failed, rerun=rerun, watch=watch,
        maximize=maximize, halt_after=halt_after, runs_root=context.path(runs_root) if runs_root else None,
    )  # fmt: skip
    launcher = get_launcher(on, launch_settings(ctx, opt, array_limit, chunk, template, poll))
    chosen = StageOptions(stage, every, code, tuple(str(context.path(Path(p))) for p in uses or ()))
    command = ctx.meta.get("gitgrid.command", [])
    repo = context.repo()

    def start(progress: Progress, warn: Warn) -> Launch:
        return analyze_stage(
            command, sweep, repo, chosen, options, launcher, dry_run=dry_run, on_progress=progress,
            on_warning=warn,
        )  # fmt: skip

    follow_launch(launcher, start, options, wait)
