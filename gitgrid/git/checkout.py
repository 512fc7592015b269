"""Moving a checkout from point to point: the git calls a runner's worker and a cluster task share.

A checkout is a directory with its own ``.git``: a worktree of the repository (local runs) or a
``git clone --shared`` of it in node-local scratch (cluster tasks, no objects copied). Moving it is one
``git checkout --force --detach``: only the files that differ are rewritten, so build products stay.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from gitgrid.errors import GitFailure
from gitgrid.git.repository import run_git

__all__ = ["checkout", "clean", "clone_shared", "head_of"]


def checkout(worktree: Path, commit: str) -> None:
    """Move ``worktree`` to ``commit``: only files that differ are rewritten; untracked files stay.

    ``--force`` drops edits a previous run made to tracked files, so one point cannot leak into the next.
    """
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: this runs once per point (measured)
        code = subprocess.call(
            ["git", "-C", str(worktree), "checkout", "--quiet", "--force", "--detach", commit],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            process_group=0,  # Ctrl-C goes to gitgrid, which stops cleanly, not to a half-done checkout
        )
        if code != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            raise GitFailure(f"git checkout {commit[:12]} in {worktree} failed: {message}")


def clean(worktree: Path) -> None:
    """Remove every untracked and ignored file of ``worktree`` (``git clean -fdx``): build products
    included, so the next build starts from the point's files alone (``--clean-build``)."""
    result = run_git(["clean", "-q", "-f", "-d", "-x"], worktree)
    if result.returncode != 0:
        raise GitFailure(f"git clean in {worktree} failed: {result.stderr.strip()}")


def head_of(worktree: Path) -> str | None:
    """The commit a checkout is at, or None when it has none (or is no checkout)."""
    result = run_git(["rev-parse", "--verify", "--quiet", "HEAD"], worktree)
    return result.stdout.strip() if result.returncode == 0 else None


def clone_shared(source: Path, target: Path) -> None:
    """A clone of ``source`` (a git dir) at ``target`` that borrows its objects and checks nothing out."""
    result = run_git(["clone", "-q", "--shared", "--no-checkout", "--", str(source), str(target)], Path("/"))
    if result.returncode != 0:
        raise GitFailure(f"git clone of {source} into {target} failed: {result.stderr.strip()}")
