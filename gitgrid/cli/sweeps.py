"""The commands that make and read sweeps: ``create``, ``list``, ``show``, ``sweeps``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gitgrid.cli.app import SweepName, app, context_of, progress_bar, reported
from gitgrid.cli.output import cell, render_rows, write_blocks, write_rows
from gitgrid.errors import SweepError
from gitgrid.sweep.catalog import describe_sweep, find_sweep, list_commits, list_sweeps, render_points

if TYPE_CHECKING:
    from gitgrid.sweep.chain import PointRow
    from gitgrid.sweep.create import Plan

__all__ = ["ListFormat", "ShowFormat", "Writer", "create", "list_", "show", "sweeps"]


# create -------------------------------------------------------------------------------------------------
class Writer(StrEnum):
    auto = "auto"
    pack = "pack"
    fast_import = "fast-import"


@app.command()
@reported
def create(
    ctx: typer.Context,
    spec: Annotated[Path | None, typer.Argument(help="The spec file (YAML).", show_default=False)] = None,
    like: Annotated[
        str | None,
        typer.Option(
            "--like",
            help="The spec recorded by this sweep's tag, instead of SPEC (give --branch).",
            metavar="SWEEP",
        ),
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option("--branch", "-b", help="Base ref of the sweep (default: the spec's base, or HEAD)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="Branch name (default: the spec's, or grid_search-DATE)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing branch of that --name.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the count, first points and diff; write nothing."),
    ] = False,
    writer: Annotated[
        Writer, typer.Option("--writer", help="Write objects as one pack file, or through git fast-import.")
    ] = Writer.auto,
) -> None:
    """Create a sweep: one commit per point of SPEC (or of the spec of --like SWEEP) on a new branch; the
    working tree is not touched."""
    from gitgrid.sweep.create import plan_sweep, spec_like, write_sweep

    context = context_of(ctx)
    repo = context.repo()
    if (spec is None) == (like is None):
        raise SweepError(
            "give a SPEC file or --like SWEEP (the spec another sweep was made from), one of them"
        )
    source = context.path(spec) if spec is not None else spec_like(repo, str(like))
    plan = plan_sweep(source, repo, base=branch, name=name, force=force)
    if dry_run:
        _print_preview(plan)
        return
    with progress_bar(enabled=plan.count >= 2000) as advance:
        sweep = write_sweep(plan, lambda done, total: advance(done, total, "creating"), writer=writer.value)
    print(f"{sweep.name}: {sweep.count} points on {sweep.base_ref} ({sweep.base[:10]})")


def _print_preview(plan: Plan) -> None:
    from gitgrid.sweep.create import preview_sweep

    preview = preview_sweep(plan)
    print(f"would create {preview.name}: {preview.count} points on {preview.base_ref} ({preview.base[:10]})")
    for point in preview.points:
        values = " ".join(f"{k}={cell(v)}" for k, v in point.params.items())
        print(f"  {point.index}: {values}")
    if preview.count > len(preview.points):
        print(f"  ... {preview.count - len(preview.points)} more")
    print(f"diff of point 0:\n{preview.diff}", end="" if preview.diff.endswith("\n") else "\n")


# list / show / sweeps -----------------------------------------------------------------------------------
class ListFormat(StrEnum):
    hash = "hash"
    tsv = "tsv"
    csv = "csv"
    json = "json"


class ShowFormat(StrEnum):
    text = "text"
    json = "json"


@app.command("list")
@reported
def list_(
    ctx: typer.Context,
    sweep: SweepName = None,
    fmt: Annotated[
        ListFormat, typer.Option("--format", "-f", help="hash: one commit id a line.")
    ] = ListFormat.hash,
    where: Annotated[
        str | None, typer.Option("--where", help="Only points where this holds, e.g. 'dt < 0.1'.")
    ] = None,
    short: Annotated[bool, typer.Option("--short", help="Abbreviated commit ids (12 characters).")] = False,
) -> None:
    """List a sweep's points in index order: one commit id a line, ready for `| xargs -n1 submit.sh`."""
    repo = context_of(ctx).repo()
    chosen = find_sweep(repo, sweep)
    width = 12 if short else 40
    if fmt is ListFormat.hash and where is None:
        sys.stdout.writelines(c[:width] + "\n" for c in list_commits(repo, chosen))
        return
    if fmt is ListFormat.hash:
        sys.stdout.writelines(
            render_points(repo, chosen, lambda rows: "".join([c[:width] + "\n" for _, c, _ in rows]), where)
        )
        return
    columns, names = ["index", "commit", *chosen.params], chosen.params

    def render(rows: list[PointRow]) -> str:
        return render_rows(
            [(i, c[:width], *[p.get(n) for n in names]) for i, c, p in rows], columns, fmt.value
        )

    write_blocks(render_points(repo, chosen, render, where), columns, fmt.value, sys.stdout)


@app.command()
@reported
def show(
    ctx: typer.Context,
    sweep: SweepName = None,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f")] = ShowFormat.text,
) -> None:
    """Describe a sweep: base, point count, params and their values, and the spec it was made from."""
    chosen = find_sweep(context_of(ctx).repo(), sweep)
    summary = describe_sweep(chosen)
    if fmt is ShowFormat.json:
        params = [p.__dict__ for p in summary.params]
        record = {**chosen.__dict__, "params": params, "where": summary.where, "sample": summary.sample}
        print(json.dumps(record, indent=2, ensure_ascii=False))
        return
    print(f"sweep    {chosen.name}  (branch {chosen.branch}, tag {chosen.tag})")
    print(f"base     {chosen.base_ref} ({chosen.base})")
    print(f"tip      {chosen.tip}")
    print(f"points   {chosen.count}")
    print(f"created  {chosen.created} by gitgrid {chosen.gitgrid_version}")
    print("params")
    width = max(len(p.name) for p in summary.params)
    for p in summary.params:
        shown = ", ".join(cell(v) for v in p.values) + (", ..." if p.size > len(p.values) else "")
        target = f"  -> {p.target}" if p.target != p.name else ""
        zipped = f"  (zipped with {', '.join(p.zipped)})" if p.zipped else ""
        print(f"  {p.name.ljust(width)}  {p.kind} of {p.size}: {shown}{target}{zipped}")
    if summary.where is not None:
        print(f"where    {summary.where}  (points kept: {chosen.count})")
    if summary.sample is not None:
        print(f"sample   {summary.sample}")
    print(f"spec     {chosen.spec_path}")
    print("".join(f"  | {line}\n" for line in chosen.spec_text.splitlines()), end="")


@app.command()
@reported
def sweeps(ctx: typer.Context) -> None:
    """List every sweep in the repository, newest first."""
    rows = [
        {
            "sweep": s.name,
            "points": s.count,
            "base": s.base_ref,
            "created": s.created,
            "params": " ".join(s.params),
        }
        for s in list_sweeps(context_of(ctx).repo())
    ]
    write_rows(rows, ["sweep", "points", "base", "created", "params"], "table", sys.stdout)
