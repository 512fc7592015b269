"""Moving a checkout from point to point: the git calls a runner's worker and a cluster task share.

A checkout is a directory with its own ``.git``: a worktree of the repository (local runs) or a
``git clone --shared`` of it in node-local scratch (cluster tasks, no objects copied). Moving it is one
``git checkout --force --detach``: only the files that differ are rewritten, so build products stay.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from pathlib import Path

from gitgrid.errors import GitFailure
from gitgrid.git.repository import run_git

__all__ = ["checkout", "checkout_git_dir", "clean", "clear_stale_locks", "clone_shared", "head_of"]


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


# The lock files a checkout's move takes in its git dir (``git checkout``, and the mover's own writes).
_MOVE_LOCKS = ("index.lock", "HEAD.lock")


def clear_stale_locks(worktree: Path, grace: float = 5.0) -> list[str]:
    """Remove the lock files a killed move left in ``worktree``'s own git dir; the names removed.

    Only for a checkout whose gitgrid lock the caller holds: nothing else moves it then, so a lock file
    there is left by a process that was killed mid-move (``kill -9``, ``scancel`` killing a task's
    processes, a node's reboot). Git refuses every later checkout while it exists ("Unable to create
    index.lock: File exists"), and the checkout would stay unusable until someone deleted it by hand.
    A ``git checkout`` runs in its own process group, so it can outlive a killed gitgrid for a moment:
    a lock younger than ``grace`` seconds is given that long to go by itself first.

    Only the checkout's own git dir is cleared (:func:`checkout_git_dir`).
    """
    git_dir = checkout_git_dir(worktree)
    if git_dir is None:
        return []
    removed = []
    for name in _MOVE_LOCKS:
        lock = git_dir / name
        deadline = time.monotonic() + grace
        while True:
            try:
                age = time.time() - lock.lstat().st_mtime
            except OSError:
                break  # no lock (or it went meanwhile)
            if age >= grace or time.monotonic() >= deadline:
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                    removed.append(name)
                break
            time.sleep(0.05)
    return removed


def checkout_git_dir(worktree: Path) -> Path | None:
    """A checkout's own git dir, where gitgrid makes it, or None: ``.git`` itself (a node's clone), or
    the folder a ``.git`` file names whose ``gitdir`` file points back at this checkout (a worktree, as
    git links them). A ``.git`` file a run rewrote to name another repository's git dir is not taken:
    gitgrid writes lock files, the index and HEAD there (the mover), and removes stale locks."""
    dot_git = worktree / ".git"
    try:
        if dot_git.is_symlink():
            return None
        if dot_git.is_dir():
            return dot_git
        text = dot_git.read_bytes()[:4096].decode()
        if not text.startswith("gitdir: "):
            return None
        found = Path(text[8:].strip())
        found = found if found.is_absolute() else worktree / found
        if found.is_symlink() or not found.is_dir():
            return None
        back = (found / "gitdir").read_bytes()[:4096].decode().strip()
        return found if Path(back).resolve() == dot_git.resolve() else None
    except (OSError, UnicodeDecodeError):
        return None
