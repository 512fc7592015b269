"""The run-side commands: ``run``, ``results``, ``status``, ``collect``, ``prepare``.

Each command parses, calls one library function and prints.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitgrid.cli.app import (
    RUNS_ROOT_HELP,
    CommandAfterDashes,
    SweepName,
    app,
    context_of,
    progress_bar,
    reported,
)
from gitgrid.cli.output import DIGITS, write_tuples
from gitgrid.errors import RunError
from gitgrid.launch.registry import LAUNCHERS

if TYPE_CHECKING:
    from gitgrid.launch.launcher import Launch, Launcher, LaunchSettings, Progress, Warn
    from gitgrid.run.runner import RunOptions, RunSummary

__all__ = [
    "ARRAY_LIMIT_HELP",
    "ON_HELP",
    "OPT_HELP",
    "ArrayLimit",
    "Chunk",
    "Maximize",
    "Opt",
    "Poll",
    "ResultFormat",
    "RunsRoot",
    "Template",
    "Wait",
    "Watch",
    "collect_runs",
    "follow_launch",
    "launch_points",
    "launch_settings",
    "parse_options",
    "prepare_point",
    "results",
    "run",
    "status",
]

OPT_HELP = "KEY=VALUE for where points run: a scheduler option (partition, time, mem), a Dask address."
ARRAY_LIMIT_HELP = "Array jobs: tasks running at once (%M of the array)."
ON_HELP = "Where points run: {} (docs/cluster.md)."

# The options of where points run, the same for run, submit and analyze (read by launch_settings).
Opt = Annotated[list[str] | None, typer.Option("--opt", help=OPT_HELP)]
ArrayLimit = Annotated[int | None, typer.Option(help=ARRAY_LIMIT_HELP)]
Chunk = Annotated[int, typer.Option(help="Array jobs: points per array task.")]
Template = Annotated[Path | None, typer.Option(help="Array jobs: your own job script template (Jinja).")]
Wait = Annotated[bool, typer.Option("--wait", help="Array jobs: wait until the points ended, and say how.")]
Poll = Annotated[float, typer.Option(help="Seconds between looks at a scheduler while waiting.")]
# What a local run shows as it goes, and where its run directories go (run and analyze).
Watch = Annotated[str | None, typer.Option(help="Show the best value so far of this metric.")]
Maximize = Annotated[bool, typer.Option("--maximize", help="With --watch: higher is better.")]
RunsRoot = Annotated[Path | None, typer.Option(help=RUNS_ROOT_HELP)]


@app.command(cls=CommandAfterDashes)
@reported
def run(
    ctx: typer.Context,
    sweep: SweepName = None,
    on: Annotated[str, typer.Option("--on", help=ON_HELP.format(", ".join(LAUNCHERS)))] = "local",
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", help="Points at a time (default: cores; array jobs: --array-limit)."),
    ] = None,
    where: Annotated[str | None, typer.Option(help="Only points where this holds.")] = None,
    setup: Annotated[
        str | None,
        typer.Option(
            help="Shell command run once in each worker's checkout (again if the base changes): "
            "for what no param changes (a venv, pip install -e ., data)."
        ),
    ] = None,
    build: Annotated[
        str | None,
        typer.Option(
            help="Shell command run in the checkout before every point, after its files changed "
            "(make, cmake --build build, cargo build); a failing build fails the point."
        ),
    ] = None,
    clean_build: Annotated[
        bool,
        typer.Option(
            "--clean-build",
            help="Run git clean -fdx in the checkout before each --build: every point built from scratch.",
        ),
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds before a run is stopped as timed out.")
    ] = None,
    halt_after: Annotated[
        int | None,
        typer.Option(help="Start no new point after N failed or timed-out runs (running ones finish)."),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run failed and timed-out points again.")
    ] = False,
    rerun: Annotated[bool, typer.Option("--rerun", help="Run every point again, as new attempts.")] = False,
    no_reuse: Annotated[
        bool,
        typer.Option(
            "--no-reuse",
            help="Run points even when a stored success has the same run key (tree, command, --build, "
            "--setup): for a command that reads what git does not hold (data files, the clock).",
        ),
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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would run (array jobs: the script); run nothing.")
    ] = False,
) -> None:
    """Run a command once per point, each in its point's checkout: run [SWEEP] -- CMD [ARGS].

    Here by default, -j at a time; --on slurm|pbs|lsf submits array jobs, --on dask runs on a Dask cluster.
    """
    from gitgrid.run.runner import RunOptions

    context = context_of(ctx)
    options = RunOptions(
        jobs=jobs, where=where, setup=setup, build=build, clean_build=clean_build, timeout=timeout,
        retry_failed=retry_failed, rerun=rerun, runs_root=context.path(runs_root) if runs_root else None,
        watch=watch, maximize=maximize, halt_after=halt_after, reuse=not no_reuse,
    )  # fmt: skip
    settings = launch_settings(ctx, opt, array_limit, chunk, template, poll)
    launch_points(ctx, sweep, on, settings, options, dry_run=dry_run, wait=wait)


def launch_settings(
    ctx: typer.Context,
    opt: list[str] | None,
    array_limit: int | None,
    chunk: int,
    template: Path | None,
    poll: float,
) -> LaunchSettings:
    """The launcher's settings from the options of where points run (``--opt`` checked, the template's
    path taken from where gitgrid was started)."""
    from gitgrid.launch.launcher import LaunchSettings

    path = context_of(ctx).path(template) if template else None
    return LaunchSettings(parse_options(opt or []), array_limit, chunk, path, poll)


def parse_options(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    """``--opt KEY=VALUE`` values as pairs, in the order given."""
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RunError(
                f"--opt {pair!r}: expected KEY=VALUE, e.g. --opt partition=short --opt time=1:00:00"
            )
        parsed.append((key.strip(), value))
    return tuple(parsed)


def launch_points(
    ctx: typer.Context,
    sweep: str | None,
    on: str,
    settings: LaunchSettings,
    options: RunOptions,
    *,
    dry_run: bool,
    wait: bool,
) -> None:
    """The front door of ``run`` and ``submit``: launch with the launcher ``on``, then say what happened
    (and, for points that outlive the launch, wait for them when asked)."""
    from gitgrid.launch.registry import get_launcher

    launcher = get_launcher(on, settings)
    command = ctx.meta.get("gitgrid.command", [])
    repo = context_of(ctx).repo()

    def start(progress: Progress, warn: Warn) -> Launch:
        return launcher.launch(
            command, sweep, repo, options, dry_run=dry_run, on_progress=progress, on_warning=warn
        )

    follow_launch(launcher, start, options, wait)


def follow_launch(
    launcher: Launcher, start: Callable[[Progress, Warn], Launch], options: RunOptions, wait: bool
) -> None:
    """Start a launch (``start`` given the progress line and the warnings' printer), then say what
    happened, waiting for points that outlive it when asked."""
    describe = _describe(options.watch)
    with progress_bar(transient=False) as advance:
        progress = lambda s: advance(s.done, s.total, describe(s))  # noqa: E731
        launch = start(progress, _warn)
        if launch.dry_run:
            _print_dry_run(launch)
            return
        if launch.summary is None and not wait:
            _print_submitted(launch)
            return
        summary = launcher.wait(launch, progress)
    _print_summary(summary, options)


def _warn(message: str) -> None:
    print(f"gitgrid: warning: {message}", file=sys.stderr, flush=True)


def _print_dry_run(launch: Launch) -> None:
    submission = launch.submission
    if submission is None:
        count = len(launch.points)
        shown = ", ".join(map(str, launch.points[:20])) + (", ..." if count > 20 else "")
        skipped = f"{launch.skipped} skipped (done before)"
        print(f"{launch.sweep}: would run {count} points ({shown}); {skipped}; nothing ran")
        return
    if not submission.arrays:
        _print_submitted(launch)
        return
    print(submission.script, end="" if submission.script.endswith("\n") else "\n")
    for array in submission.arrays:
        print(f"# {array.command}")
    points = sum(len(a.points) for a in submission.arrays)
    print(f"# would submit {points} points in {len(submission.arrays)} array job(s); nothing was submitted")


def _print_submitted(launch: Launch) -> None:
    reused = _reused(launch.reused)
    if not launch.points:
        print(f"{launch.sweep}: nothing to submit ({_left(launch)}{reused})")
        return
    ids = ", ".join(launch.jobs)
    print(f"{launch.sweep}: submitted {len(launch.points)} points as {launch.launcher} job(s) {ids}{reused}")
    print(f"follow with: gitgrid status {launch.sweep}", file=sys.stderr)


def _left(launch: Launch) -> str:
    """Why the points not launched were left alone, by what they are: ``10 done before, 2 failed before:
    --retry-failed runs them``."""
    left = dict(launch.left)
    done, failed = left.pop("success", 0), left.pop("failed", 0) + left.pop("timeout", 0)
    parts = [f"{done} done before"] if done else []
    if failed:
        again = "" if launch.options.retry_failed else ": --retry-failed runs them"
        parts.append(f"{failed} failed before{again}")
    if rest := sum(left.values()):
        parts.append(f"{rest} not chosen by --where" if launch.options.where else f"{rest} left alone")
    return ", ".join(parts) or "the sweep has no points"


def _print_summary(summary: RunSummary, options: RunOptions) -> None:
    state = summary.state
    print(f"{summary.sweep}: {_counts(state)}", file=sys.stderr)
    if state.halted:
        print(f"halted after {options.halt_after} failed runs (--halt-after): points not started are left "
              "to run later", file=sys.stderr)  # fmt: skip
    if state.first_failure is not None:
        index, reason = state.first_failure
        print(f"first failure: point {index}: {reason}", file=sys.stderr)
    if state.best is not None:
        print(f"best {options.watch}: {state.best[0]!r} (point {state.best[1]})", file=sys.stderr)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


def _counts(state: Any) -> str:
    """The summary's counts; the points skipped because they failed before are never hidden among those
    done before (#16), nor those under way elsewhere."""
    text = (
        f"{state.succeeded} succeeded, {state.failed} failed, {state.timed_out} timed out, "
        f"{state.interrupted} interrupted, {state.done_before} skipped (done before)"
    )
    if state.failed_before:
        text += f", {state.failed_before} skipped (failed before: --retry-failed runs them)"
    if state.underway:
        text += f", {state.underway} skipped (under way elsewhere: running or prepared)"
    if state.unread:
        text += f", {state.unread} not analysed (no successful simulation run to read)"
    return text + _reused(state.reused)


def _reused(reused: Mapping[str, int]) -> str:
    """``, 8 reused (runs of grid_search-2026-11-22 with the same run key)``, or nothing."""
    if not reused:
        return ""
    return f", {sum(reused.values())} reused (runs of {', '.join(sorted(reused))} with the same run key)"


def _describe(watch: str | None) -> Callable[[Any], str]:
    """The live line of a run: running, failed, remaining, and the best watched value."""

    def describe(state: Any) -> str:
        text = f"running {state.running} · failed {state.failed + state.timed_out} · left {state.remaining}"
        if watch and state.best is not None:
            text += f" · best {watch} {state.best[0]:.6g} (point {state.best[1]})"
        return text

    return describe


class ResultFormat(StrEnum):
    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"


@app.command()
@reported
def results(
    ctx: typer.Context,
    sweep: SweepName = None,
    fmt: Annotated[ResultFormat, typer.Option("--format", "-f")] = ResultFormat.table,
    sort: Annotated[str | None, typer.Option(help="Sort by this metric or param (ascending).")] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    where: Annotated[
        str | None, typer.Option(help="Only rows where this holds (params and metrics).")
    ] = None,
    best: Annotated[int | None, typer.Option(help="Only the first N rows (after sorting).")] = None,
    include_all: Annotated[bool, typer.Option("--all", help="Also points without a successful run.")] = False,
    all_attempts: Annotated[bool, typer.Option("--all-attempts", help="One row per attempt.")] = False,
    digits: Annotated[
        int, typer.Option(min=1, max=17, help="Significant digits of numbers in tables (csv/tsv/json: all).")
    ] = DIGITS,
) -> None:
    """Params and metrics of a sweep, one row per point (its latest successful run)."""
    from gitgrid.query.tables import stream_results

    text = fmt.value if fmt in (ResultFormat.csv, ResultFormat.tsv) else None
    with stream_results(
        context_of(ctx).repo(), sweep, where=where, sort=sort, descending=desc, best=best,
        include_all=include_all, all_attempts=all_attempts, as_text=text,
    ) as found:  # fmt: skip
        for note in found.notes:
            print(f"gitgrid: {note}", file=sys.stderr)
        if found.text:  # lines made by SQLite
            write_tuples([], found.columns, fmt.value, sys.stdout)
            sys.stdout.writelines(found.lines())
        elif fmt is ResultFormat.json:
            write_tuples(found, found.columns, fmt.value, sys.stdout)  # NaN as null
        elif fmt is ResultFormat.table:
            rows = ((index, commit[:12], *rest) for index, commit, *rest in found.raw)
            write_tuples(rows, found.columns, fmt.value, sys.stdout, digits)
        else:
            write_tuples(found.raw, found.columns, fmt.value, sys.stdout)  # NaN as "nan", as Python writes it


@app.command()
@reported
def status(
    ctx: typer.Context,
    sweep: SweepName = None,
    lines: Annotated[int, typer.Option(min=0, help="Last lines of stderr shown per failure.")] = 5,
) -> None:
    """How many points succeeded, failed, timed out, ... and the failures, grouped, with their stderr."""
    from gitgrid.query.status import sweep_status

    report = sweep_status(context_of(ctx).repo(), sweep, lines)
    for message in report.messages:
        print(f"gitgrid: {message}", file=sys.stderr)
    print(f"{report.sweep.name}: {report.sweep.count} points")
    for state, count in sorted(report.counts.items()):
        if count:
            print(f"  {state:<12} {count}")
    if report.reused:
        sources = ", ".join(f"{count} from {source}" for source, count in report.reused.items())
        print(f"  of the successes, reused: {sources}")
    _print_failures(report.failures)
    for index, note in report.notes:
        print(f"point {index}: success, but {note}")
    for stage in report.stages:
        _print_stage(stage)


def _print_failures(groups: Any) -> None:
    for group in groups:
        if group.count == 1:
            where = "the whole sweep" if group.points == "-1" else f"point {group.points}"
            print(f"{where}: {group.status}: {group.reason}")
        else:
            print(f"{group.count} points: {group.status}: {group.reason} (points {group.points})")
        if group.stderr is not None and (group.errors or group.tail):
            print(f"    {group.stderr}")
        print("".join(f"    | {line}\n" for line in group.errors), end="")
        if group.errors and group.tail:
            print("    | ...")
        print("".join(f"    | {line}\n" for line in group.tail), end="")


def _print_stage(stage: Any) -> None:
    """A stage's section of ``gitgrid status``: where its points' analyses stand, its failures, and for
    a stage over every point its last run and the files it wrote."""
    record = stage.stage
    kind = " (--all: once with every point)" if record.every else ""
    print(f"stage {record.stage}{kind}: {' '.join(record.command)}")
    for state, count in sorted(stage.counts.items()):
        if count:
            print(f"  {state:<12} {count}")
    _print_failures(stage.failures)
    if stage.latest is not None and stage.outputs:
        print(f"  wrote {', '.join(stage.outputs)} in {stage.latest.run_dir}")


@app.command("collect")
@reported
def collect_runs(
    ctx: typer.Context,
    sweep: SweepName = None,
    runs_root: Annotated[Path | None, typer.Argument(help=RUNS_ROOT_HELP, show_default=False)] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild", help="Make a new store from the run directories of every sweep (a damaged store)."
        ),
    ] = False,
) -> None:
    """Store the finished runs found in run directories made elsewhere (cluster jobs, prepare), once each."""
    from gitgrid.run.collect import collect_runs, rebuild_store

    context = context_of(ctx)
    if rebuild:  # every sweep: one argument is the runs root (`gitgrid collect --rebuild RUNS_ROOT`)
        if sweep is not None and runs_root is not None:
            raise typer.BadParameter("--rebuild rebuilds the store for every sweep: give no SWEEP")
        given = runs_root or (Path(sweep) if sweep is not None else None)
        found = rebuild_store(context.repo(), context.path(given) if given else None)
    else:
        found = collect_runs(context.repo(), sweep, context.path(runs_root) if runs_root else None)
    for problem in found.problems:
        print(f"gitgrid: warning: {problem}", file=sys.stderr)
    if found.moved is not None:
        print(f"the old store was kept as {found.moved}", file=sys.stderr)
    print(f"stored {found.stored} new runs ({found.known} already known, {len(found.pending)} not finished)")


@app.command("prepare")
@reported
def prepare_point(
    ctx: typer.Context,
    commit: Annotated[str, typer.Argument(help="A point's commit (id or prefix).", show_default=False)],
    folder: Annotated[Path, typer.Argument(help="A new folder for the point's files.", show_default=False)],
    sweep: Annotated[str | None, typer.Option(help="The sweep of the commit (default: the newest).")] = None,
    runs_root: Annotated[Path | None, typer.Option(help=RUNS_ROOT_HELP)] = None,
) -> None:
    """Put one point's files, a run directory and its environment (gitgrid.env) in a fresh folder."""
    from gitgrid.run.prepare import prepare_point

    context = context_of(ctx)
    ready = prepare_point(
        commit, context.path(folder), context.repo(), sweep, context.path(runs_root) if runs_root else None
    )
    print(f"point {ready.point.index} of {ready.point.sweep} in {ready.folder}")
    print(f"run directory {ready.run_dir}")
    print(f"next: cd {ready.folder} && source {ready.env_file.name} && <your command>; then gitgrid collect")
