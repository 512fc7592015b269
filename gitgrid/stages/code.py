"""What a stage runs: its name, its analysis code as a commit, and its analysis key.

The analysis code is taken from the working tree (or the commit ``--code`` names), never from a point's
commit: it evolves after the sweep. gitgrid cannot tell before a command runs which files it will read
(``import`` follows no list), so by default a stage depends on the whole tree: every tracked file as it
is on disk and every untracked file that is not ignored (:func:`gitgrid.git.snapshot.working_tree`);
``--uses PATH`` narrows that to the files and folders named. The analysis key hashes that code, the
command and the stage contract's version: a stage's result is current while the key and the
simulation run it read are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitgrid.errors import RepoError, RunError
from gitgrid.git.repository import Repository
from gitgrid.git.snapshot import CODE_REFS, Code, code_of, paths_key, tree_of
from gitgrid.layout import Layout
from gitgrid.run.stage import STAGE_CONTRACT, StageOrder
from gitgrid.store import StageRecord
from gitgrid.sweep.stages import check_stage

__all__ = ["Analysis", "analyses_now", "analysis_of", "default_stage"]


@dataclass(frozen=True)
class Analysis:
    """A stage as one ``gitgrid analyze`` runs it: its order for the launchers, the code, and the record
    the store keeps of it."""

    order: StageOrder
    code: Code
    record: StageRecord


def analysis_of(
    repo: Repository,
    layout: Layout,
    sweep: str,
    stage: str,
    command: Sequence[str],
    *,
    every: bool = False,
    code_ref: str | None = None,
    uses: Sequence[str] = (),
    keep: bool = True,
) -> Analysis:
    """The analysis ``command`` makes of stage ``stage`` of ``sweep``, with the code of the working tree
    (or ``code_ref``); ``keep`` points ``refs/gitgrid/analysis/<stage>`` at the code's commit."""
    check_stage(stage)
    paths = _checked_paths(repo, uses)
    code = code_of(repo, code_ref, layout.code_index, f"{CODE_REFS}{stage}" if keep else None)
    analysis = _key(repo, command, code.tree, paths, every)
    record = StageRecord(
        sweep, stage, every, tuple(command), code_ref, paths, analysis, code.commit, code.dirty
    )
    return Analysis(StageOrder(stage, code.commit, analysis), code, record)


def default_stage(command: Sequence[str], repo: Repository, started_in: Path | None = None) -> str:
    """The name of a stage run by ``command`` when ``--stage`` is not given: the first argument that is a
    file (``python spikes.py`` → ``spikes``), else the program's name, as a valid stage name."""
    places = [started_in or Path.cwd(), repo.root]
    named = next(
        (a for a in command[1:] if not a.startswith("-") and any((p / a).is_file() for p in places)), None
    )
    base = Path(named).stem if named is not None else Path(command[0]).name
    name = re.sub(r"[^A-Za-z0-9_-]", "_", base).lstrip("-")[:64]
    return name or "analysis"


def _checked_paths(repo: Repository, uses: Sequence[str]) -> tuple[str, ...]:
    """``--uses`` paths as paths of the tree (relative to its top, without ``..``): a path outside the
    repository could not be part of the analysis code."""
    found = []
    for given in uses:
        path = Path(given)
        absolute = (path if path.is_absolute() else Path.cwd() / path).resolve()
        try:
            inside = absolute.relative_to(repo.root)
        except ValueError:
            raise RunError(f"--uses {given}: not inside the repository {repo.root}") from None
        found.append(inside.as_posix() if str(inside) != "." else ".")
    return tuple(sorted(set(found)))


def analyses_now(repo: Repository, layout: Layout, stages: Sequence[StageRecord]) -> dict[str, str | None]:
    """What each stage's analysis key would be now (None where it cannot be told: a ``--code`` ref that
    is gone), with the working tree hashed once; nothing is written but git's objects."""
    found: dict[str, str | None] = {}
    tree: str | None = None
    for record in stages:
        if record.code_ref is None:
            tree = tree or code_of(repo, None, layout.code_index).tree
            now = tree
        else:
            try:
                now = tree_of(repo, repo.resolve_commit(record.code_ref))
            except RepoError:
                found[record.stage] = None
                continue
        found[record.stage] = _key(repo, record.command, now, record.uses, record.every)
    return found


def _key(repo: Repository, command: Sequence[str], tree: str, uses: Sequence[str], every: bool) -> str:
    depends = paths_key(repo, tree, uses) if uses else tree
    key = {"contract": STAGE_CONTRACT, "command": list(command), "code": depends, "every": every}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
