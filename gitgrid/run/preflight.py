"""Checks made before the first point runs, to catch a whole sweep failing (or lying) for one reason.

Points run in checkouts of the sweep's commits, not in your working tree. A command that cannot start
there (a script beside the repository, one never committed, a name not on PATH) would fail every point,
one by one: :func:`check_command` refuses it before any point runs. A script the command names that is
not committed is missing there; one you edited since the sweep's base runs in its committed version
(every point quietly runs old code): :func:`command_file_warnings` warns. Every launcher (the local
runner, a cluster submission) calls both before the first point.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitgrid.errors import RunError
from gitgrid.git.repository import CommitTree, Repository
from gitgrid.sweep.record import Sweep

__all__ = [
    "CannotStartError",
    "check_command",
    "check_command_elsewhere",
    "command_file_warnings",
    "replace_sweep",
]

_WHERE = "commands run inside each point's checkout (a checkout of its commit), not where gitgrid was started"


class CannotStartError(RunError):
    """The command cannot start in a point's checkout: refused before any point runs (exit status 2)."""


def check_command(
    repo: Repository,
    sweep: Sweep,
    command: Sequence[str],
    builds: bool = False,
    env: Mapping[str, str] | None = None,
    started_in: Path | None = None,
) -> None:
    """Raise :class:`CannotStartError` when ``command[0]`` cannot start as it will run: a relative path
    is taken in the tree of the sweep's points (the tip has every file a point has), a name without
    ``/`` on the ``PATH`` of ``env`` (default: this process's environment).

    ``builds``: a ``--build`` or ``--setup`` is given. It may make the program (``./model`` by ``make``,
    a console script by ``pip install``) or its mode, so what is missing or not executable inside the
    checkout, and names not on PATH yet, are not refused then; a path that leaves the checkout still is.
    ``started_in`` (default: the current directory) is where a path the user meant may exist instead.
    """
    program = command[0]
    place = _Place(repo, sweep, program, started_in or Path.cwd())
    if "/" not in program:
        problem = None if builds else place.not_on_path(env if env is not None else os.environ)
    elif program.startswith("/"):
        problem = None if builds else _not_runnable(Path(program))
    else:
        problem = place.not_in_checkout(builds)
    if problem is not None:
        raise CannotStartError(f"cannot start '{program}': {problem}")


def _not_runnable(path: Path) -> str | None:
    if not path.exists():
        return "no such file"
    if path.is_dir():
        return "it is a folder"
    return None if os.access(path, os.X_OK) else "it is not executable"


@dataclass(frozen=True)
class _Place:
    """Where a command's program is looked for, and where the user may have meant."""

    repo: Repository
    sweep: Sweep
    program: str
    started_in: Path

    def not_in_checkout(self, builds: bool) -> str | None:
        """Why a relative path cannot start in a point's checkout; None if it can (or a build may see
        to it)."""
        path = posixpath.normpath(self.program)
        if path == ".." or path.startswith("../"):
            return f"it is outside the checkout; {_WHERE}{self.hint()}"
        mode = self.repo.tree(self.sweep.tip).mode(path)
        if mode is None:
            return None if builds else f"the sweep's commits have no file {path}; {_WHERE}{self.hint()}"
        if mode == "040000":
            return f"{path} is a folder in the sweep's commits"
        if mode == "100644" and not builds:
            return (
                f"{path} is not executable in the sweep's commits; make it executable and commit that "
                f"(git update-index --chmod=+x {path}), then {replace_sweep(self.sweep)}, or run it through "
                f"its interpreter (-- sh {self.program} ..., -- python {self.program} ...)"
            )
        return None

    def not_on_path(self, env: Mapping[str, str]) -> str | None:
        search = env.get("PATH", os.defpath)
        if any(not folder.startswith("/") for folder in search.split(os.pathsep)):
            return None  # a relative entry (".", ""): found, or not, in each point's checkout
        if shutil.which(self.program, path=search) is not None:
            return None
        where = f"{_WHERE}, and a name without '/' is looked up on PATH"
        return f"no program of that name on PATH; {where}{self.hint()}"

    def hint(self) -> str:
        """Where the program is when it exists relative to where gitgrid was started: a file of the
        sweep's commits under its path from the repository's top, an uncommitted file of the working
        tree, or a file outside the repository (whose absolute path works in every checkout)."""
        there = self.started_in / self.program
        if not there.is_file():
            return ""
        found = there.resolve()
        use = f"give its absolute path: -- {found}"
        top = self.repo.root.resolve()
        inside = found.relative_to(top).as_posix() if found.is_relative_to(top) else None
        if inside is None or inside.startswith(".git/"):
            return f"; '{self.program}' exists relative to where gitgrid was started: to run that file, {use}"
        if self.repo.tree(self.sweep.tip).mode(inside) is not None:
            return (
                f"; it is {inside} of the repository: give its path from the repository's top, -- ./{inside}"
            )
        return (
            f"; '{self.program}' is a file of your working tree that is not committed: commit it and "
            f"{replace_sweep(self.sweep)}, or {use} (your working copy then runs for every point)"
        )


_COMPARED = 64 * 2**20  # bytes: larger files are not compared with the base


def command_file_warnings(
    repo: Repository, sweep: Sweep, command: Sequence[str], builds: bool = False
) -> list[str]:
    """Warnings about files of the working tree that ``command`` names by a relative path (an argument,
    or the value of ``--opt=value``) and that the checkouts will not have as they are here.

    ``builds``: a ``--build`` or ``--setup`` is given, which may make untracked files (``./prog``), so
    untracked ones are not reported then.
    """
    tree: CommitTree | None = (
        None  # read only when the command names a file here: opening GitPython costs ~0.3 s
    )
    found = []
    for name in _named_paths(command):
        path = repo.root / name
        try:
            inside = path.resolve().is_relative_to(repo.root.resolve())
            regular = inside and path.is_file() and path.stat().st_size <= _COMPARED
        except OSError:
            continue
        if not regular:
            continue
        relative = path.resolve().relative_to(repo.root.resolve()).as_posix()
        tree = tree or repo.tree(sweep.base)
        committed = tree.read(relative)
        if committed is None and not builds:
            found.append(
                f"the command names {name}, which is not committed (untracked): points run in checkouts of "
                f"the sweep's commits, where it does not exist; commit it and {replace_sweep(sweep)}, or "
                f"give its absolute path ({path.resolve()})"
            )
        elif committed is not None and committed[1] != path.read_bytes():
            found.append(
                f"the command names {name}, which differs from its version in the sweep's base "
                f"({sweep.base[:12]}): points run the committed version, not your edit; commit it and "
                f"{replace_sweep(sweep)}, or give its absolute path ({path.resolve()}) to run this copy"
            )
    return found


def check_command_elsewhere(repo: Repository, sweep: Sweep, command: Sequence[str], builds: bool) -> None:
    """:func:`check_command` for points that run on other machines (array jobs, Dask): a program named
    by a path relative to the checkout is checked as here (the checkout is the same everywhere); a name
    looked up on ``PATH`` or an absolute path is the node's to find (its modules, its software)."""
    program = command[0]
    if "/" in program and not program.startswith("/"):
        check_command(repo, sweep, command, builds)


def replace_sweep(sweep: Sweep) -> str:
    """The command that makes the sweep again on the commit just made, in place of this one (not a
    second sweep beside it): ``create --force --name`` with the same spec and base ref."""
    branch = f" --branch {shlex.quote(sweep.base_ref)}" if sweep.base_ref not in ("", "HEAD") else ""
    spec = shlex.quote(sweep.spec_path) if sweep.spec_path else "SPEC"
    return f"replace the sweep: gitgrid create --force --name {shlex.quote(sweep.name)}{branch} {spec}"


def _named_paths(command: Sequence[str]) -> list[str]:
    """Arguments that may be relative paths: whole arguments, and what follows ``=`` in ``--opt=value``."""
    names = []
    for argument in command:
        value = argument.partition("=")[2] if argument.startswith("-") else argument
        if value and not value.startswith(("/", "-", "~")) and "\0" not in value:
            names.append(value)
    return list(dict.fromkeys(names))
