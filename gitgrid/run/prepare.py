"""``gitgrid prepare``: one point as a plain folder, for submit scripts that run the command themselves.

The folder gets the point's files (``git archive`` of its commit, no ``.git``) and ``gitgrid.env``, a
file to ``source`` that sets the same ``GITGRID_*`` variables ``gitgrid run`` sets. The run directory is
claimed under the runs root with a ``meta.json`` of status ``prepared``; when the command has written
``$GITGRID_RESULT``, ``gitgrid collect`` takes the run in.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from gitgrid.errors import RunError, SweepError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import ENV_FILE, claim_attempt
from gitgrid.run.contract import Run, RunRequest, environment, host, run_requests, write_meta
from gitgrid.store import open_store
from gitgrid.sweep.catalog import find_sweep, list_points

__all__ = ["Prepared", "prepare_point"]


@dataclass(frozen=True)
class Prepared:
    """A prepared point: where its files, its environment file and its run directory are."""

    point: RunRequest
    folder: Path
    env_file: Path
    run_dir: Path


def prepare_point(
    commit: str,
    folder: Path,
    repo: Repository | Path | str = ".",
    sweep: str | None = None,
    runs_root: Path | None = None,
) -> Prepared:
    """Materialise the point whose commit is ``commit`` (an id or a prefix) into the new folder ``folder``."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise RunError(f"{folder}: exists and is not a folder; prepare writes into a fresh folder")
    if folder.exists() and any(folder.iterdir()):
        raise RunError(f"{folder}: exists and is not empty; prepare writes into a fresh folder")
    full = repo.resolve_commit(commit)
    chosen = find_sweep(repo, sweep)
    record = next((p for p in list_points(repo, chosen) if p.commit == full), None)
    if record is None:
        raise SweepError(
            f"commit {commit} is not a point of sweep '{chosen.name}' (give the sweep with --sweep)"
        )
    point = run_requests(chosen, [record])[0]
    layout, store = open_store(repo, runs_root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        repo.export(full, folder)
        attempt, run_dir = claim_attempt(layout.point_dir(chosen.name, point.index, full, chosen.count))
        run = Run(
            chosen.name, point.index, full, attempt, "prepared", str(run_dir), params=point.params,
            host=host(), started=time.time(),
        )  # fmt: skip
        write_meta(run)
        store.scans.add_pending([(str(run_dir), chosen.name, point.index)])  # status and results collect it
    finally:
        store.close()
    env_file = folder / ENV_FILE
    contract = environment(point, run_dir, base={})
    env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in contract.items()))
    return Prepared(point, folder, env_file, run_dir)
