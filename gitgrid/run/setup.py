"""``--setup``: a command run once in each worker's checkout, for what no param changes (a venv,
``pip install -e .``, data fetched once).

It runs once per worker, in the checkout as the sweep's tip has it, so anything it makes from a file the
sweep rewrites keeps that one point's values for every later point of the worker: ``--setup make`` on a
compiled model runs 7 of 8 points with a binary built for another point (#16). The setup is traced like a
build (:mod:`gitgrid.run.stale`), with the sweep's files touched first (as a move leaves them, so a
``make`` whose rules depend on them does not skip them as up to date): one that opened a file the sweep
rewrites is refused, naming the file and pointing to ``--build``, before any point runs. That is the
whole rule: a setup gets no ``GITGRID_PARAM_*``, so a file the sweep rewrites is the only way a param
reaches what it makes. Writing into the checkout is allowed (a venv, ``pip install -e .``'s egg-info),
and so is reading every other file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from gitgrid.errors import RunError, excerpt
from gitgrid.layout import Layout
from gitgrid.run.checkouts import Checkout
from gitgrid.run.processes import ProcessTable, spawn
from gitgrid.run.stale import BuildGuard, touch
from gitgrid.sweep.record import Sweep

__all__ = ["SetupFailed", "SetupRefused", "run_setup", "setup_once"]


class SetupFailed(RunError):
    """The ``--setup`` command failed in a worker's checkout: nothing can run there."""

    exit_code = 1


class SetupRefused(RunError):
    """The ``--setup`` command read a file the sweep rewrites: what it made would be one point's."""


def setup_once(
    layout: Layout,
    sweep: Sweep,
    checkout: Checkout,
    command: str,
    table: ProcessTable,
    guard: BuildGuard | None,
) -> bool:
    """Run ``--setup`` in a checkout unless it ran there, traced, for this base and these swept files
    (its stamp says so); False if stopped."""
    stamp = layout.setup_stamp(checkout.number)
    done = {
        "command": command,
        "base": sweep.base,
        "files": sorted(checkout.files),
        "traced": guard is not None,
    }
    if _read_json(stamp) == done:
        return True
    env = {**os.environ, "GITGRID_SWEEP": sweep.name, "GITGRID_WORKER": str(checkout.number)}
    log = layout.setup_log(sweep.name, checkout.number)
    if not run_setup(checkout, command, env, log, table, guard):
        return False
    stamp.write_text(json.dumps(done))
    return True


def run_setup(
    checkout: Checkout,
    command: str,
    env: Mapping[str, str],
    log: Path,
    table: ProcessTable,
    guard: BuildGuard | None,
) -> bool:
    """Run ``--setup`` in a checkout (through the shell: it is one string), traced by ``guard`` when
    there is one; False if stopped. Raises :class:`SetupRefused` or :class:`SetupFailed`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    if guard is not None:  # touched, as a move leaves them: a make whose rules depend on them rebuilds
        touch(checkout.path, checkout.files)
        guard.tracer.begin()
    try:
        process = spawn(["/bin/sh", "-c", command], checkout.path, env, log)
        table.add(process, None)
        code = process.wait()
        stopped = table.finish(process)
    finally:
        opened = sorted(guard.tracer.end().opened) if guard is not None else []
    if opened:
        raise SetupRefused(_refusal(command, opened))
    if stopped is not None:
        return False
    if code != 0:
        raise SetupFailed(f"--setup failed in worker {checkout.number} (exit status {code}); see {log}")
    return True


def _refusal(command: str, opened: list[str]) -> str:
    more = f" (and {len(opened) - 1} more of the sweep's files)" if len(opened) > 1 else ""
    return (
        f"--setup '{excerpt(command)}' read {opened[0]}{more}, which the sweep rewrites for every point: "
        "--setup runs once per worker, so what it makes from that file would keep one point's values for "
        f"every later point; give it as --build '{excerpt(command)}' (run before every point, after the "
        "point's files changed), and keep --setup for what no param changes (a venv, pip install -e .)"
    )


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
