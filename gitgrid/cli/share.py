"""The commands that move a study between clones: ``push`` and ``pull``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gitgrid.cli.app import app, context_of, reported

__all__ = ["pull", "push"]

Remote = Annotated[
    str,
    typer.Argument(help="The remote: a name (git remote), a path or a URL (ssh, ...).", show_default=True),
]


@app.command()
@reported
def push(
    ctx: typer.Context,
    remote: Remote = "origin",
    sweeps: Annotated[
        list[str] | None, typer.Argument(help="Sweeps to push (default: every sweep).", show_default=False)
    ] = None,
    series: Annotated[
        bool, typer.Option("--series", help="Push the runs' series too (refs/notes/gitgrid-series).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be pushed; write and send nothing.")
    ] = False,
) -> None:
    """Push sweeps (branch and tag) and their results to REMOTE; refused if REMOTE has results this
    clone lacks (pull first)."""
    from gitgrid.share.sync import push_results

    done = push_results(remote, sweeps or (), context_of(ctx).repo(), series=series, dry_run=dry_run)
    if done.dry_run:
        print(f"would push {_sweeps(len(done.sweeps))} ({', '.join(done.sweeps)}) and {done.runs} new run "
              f"records to {remote}")  # fmt: skip
        return
    moved = [p for p in done.refs if p.flag != "="]
    if not moved:  # as git says "Everything up-to-date": not "pushed 3 sweeps (0 refs updated)"
        print(f"{remote}: up to date ({_sweeps(len(done.sweeps))} and results, there already)")
        return
    print(f"{remote}: pushed {_sweeps(len(done.sweeps))} and results ({done.runs} new run records; "
          f"{len(moved)} refs updated)")  # fmt: skip


@app.command()
@reported
def pull(
    ctx: typer.Context,
    remote: Remote = "origin",
    series: Annotated[
        bool, typer.Option("--series", help="Pull the runs' series too, for runs without theirs.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what REMOTE has; fetch and write nothing.")
    ] = False,
) -> None:
    """Fetch REMOTE's sweeps and results, merge the results with this clone's, and store them."""
    from gitgrid.share.sync import pull_results

    done = pull_results(remote, context_of(ctx).repo(), series=series, dry_run=dry_run)
    if dry_run:
        print(f"{remote} has {_sweeps(len(done.sweeps))} and {'results' if done.notes else 'no results'}")
        return
    for message in done.messages:
        print(f"gitgrid: {message}", file=sys.stderr)
    gained = f", series of {done.series} runs" if series else ""
    print(f"{remote}: {done.stored} runs stored, {done.known} already here, {done.skipped} skipped "
          f"({_sweeps(len(done.sweeps))}{gained})")  # fmt: skip


def _sweeps(count: int) -> str:
    """``1 sweep``, ``2 sweeps``: the summaries are read by people (scripts read the store)."""
    return f"{count} sweep" if count == 1 else f"{count} sweeps"
