"""The commands that show results: ``report`` (one self-contained HTML file) and ``dashboard`` (live).

Each command parses, calls one library function and prints.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gitgrid.cli.app import app, context_of, reported

__all__ = ["dashboard", "report"]

MetricOption = Annotated[
    str | None, typer.Option("--metric", help="The metric shown first (default: the sweep's first).")
]
MaximizeOption = Annotated[bool, typer.Option("--maximize", help="Higher values of the metric are better.")]
RepeatOption = Annotated[
    str | None,
    typer.Option(
        "--repeat-param", help="A param such as 'seed': points differing only in it show as mean and spread."
    ),
]


@app.command()
@reported
def report(
    ctx: typer.Context,
    sweeps: Annotated[
        list[str] | None, typer.Argument(help="Sweeps to show (default: the newest).", show_default=False)
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    metric: MetricOption = None,
    maximize: MaximizeOption = False,
    repeat_param: RepeatOption = None,
    details: Annotated[
        int, typer.Option(help="Points whose diff, logs and meta the report carries (the best first).")
    ] = 500,
) -> None:
    """Write one self-contained HTML file of a sweep's results: every view, all data inline, no network."""
    from gitgrid.report.data import ViewOptions
    from gitgrid.report.write import write_report

    context = context_of(ctx)
    options = ViewOptions(metric=metric, maximize=maximize, repeat_param=repeat_param, details=details)
    written = write_report(context.path(output), sweeps or (), context.repo(), options)
    size = written.size / 1e6
    print(f"{', '.join(written.sweeps)}: {written.points} points, {size:.1f} MB", file=sys.stderr)
    print(written.path.resolve())


@app.command()
@reported
def dashboard(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8050,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but 127.0.0.1 lets others read every result.")
    ] = "127.0.0.1",
    metric: MetricOption = None,
    maximize: MaximizeOption = False,
    repeat_param: RepeatOption = None,
) -> None:
    """Serve the report's views live on 127.0.0.1, updating as results arrive; read-only. Ctrl-C stops it."""
    from gitgrid.report.data import ViewOptions
    from gitgrid.report.server import LOOPBACK, Dashboard, make_server

    if host not in LOOPBACK:  # said now, not when the server stops
        print(
            f"gitgrid: warning: listening on {host}: anyone who can reach this machine can read every "
            "result of the repository; on a cluster prefer 127.0.0.1 and 'ssh -L'",
            file=sys.stderr,
        )
    options = ViewOptions(metric=metric, maximize=maximize, repeat_param=repeat_param)
    board = Dashboard(context_of(ctx).repo(), options)
    if board.warning is not None:  # said now, not when the server stops
        print(f"gitgrid: warning: {board.warning}", file=sys.stderr)
    server = make_server(board, host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"gitgrid dashboard: http://{shown}:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("gitgrid dashboard: stopped", file=sys.stderr)
    finally:
        server.server_close()
        board.close()
