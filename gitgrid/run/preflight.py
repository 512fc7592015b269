"""Checks made before the first point runs, to catch a whole sweep failing (or lying) for one reason.

Points run in checkouts of the sweep's commits, not in your working tree. A script the command names
that is not committed is missing there (every point fails, one by one); one you edited since the sweep's
base runs in its committed version (every point quietly runs old code). Both are worth a warning before
anything runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from gitgrid.git.repository import Repository
from gitgrid.sweep.record import Sweep

__all__ = ["command_file_warnings", "replace_sweep"]

_COMPARED = 64 * 2**20  # bytes: larger files are not compared with the base


def command_file_warnings(
    repo: Repository, sweep: Sweep, command: Sequence[str], builds: bool = False
) -> list[str]:
    """Warnings about files of the working tree that ``command`` names by a relative path (an argument,
    or the value of ``--opt=value``) and that the checkouts will not have as they are here.

    ``builds``: a ``--build`` or ``--setup`` is given, which may make untracked files (``./prog``), so
    untracked ones are not reported then.
    """
    tree = repo.tree(sweep.base)
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
