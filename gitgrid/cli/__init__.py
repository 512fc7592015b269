"""The ``gitgrid`` command: parses arguments, calls one library function, prints. Nothing else.

``app`` holds the typer app and what commands share; ``sweeps``, ``runs``, ``analyze``, ``cluster``,
``report``, ``optimize`` and ``share`` register their commands on it (importing them here is what
makes the app whole); ``output`` writes rows as text.
"""

from __future__ import annotations

from gitgrid.cli import analyze, cluster, optimize, report, runs, share, sweeps
from gitgrid.cli.app import app

__all__ = ["app", "main"]

_COMMANDS = (
    sweeps,
    runs,
    analyze,
    cluster,
    report,
    optimize,
    share,
)  # imported for the commands they register on the app


def main() -> None:
    """Entry point of the ``gitgrid`` script."""
    app()
