"""Where gitgrid keeps what is not history: run directories, the results store, worker checkouts.

Defaults: ``.gitgrid/`` at the repository's top holds ``runs/`` and ``results.db`` (and the run locks);
it is added to ``.git/info/exclude`` on first use so it is never committed. Worker checkouts live in the
git dir (``.git/gitgrid/worktrees/``), beside git's own bookkeeping. The runs root moves with
``--runs-root`` or ``git config gitgrid.runsRoot DIR`` (relative to the repository's top); on a cluster it
must be on storage every node can reach.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitgrid.errors import RunError
from gitgrid.git import Repository

__all__ = ["Places", "find_places"]

HOME = ".gitgrid"
STORE = "results.db"
RUNS_ROOT_KEY = "gitgrid.runsRoot"


@dataclass(frozen=True)
class Places:
    """The folders and files of one repository's runs."""

    home: Path
    runs_root: Path
    store: Path
    locks: Path
    worktrees: Path

    def ensure(self, repo: Repository) -> None:
        """Create ``.gitgrid/`` (excluded from git) and the runs root; refuse a runs root we cannot write."""
        self.home.mkdir(exist_ok=True)
        self.locks.mkdir(exist_ok=True)
        _exclude(repo, f"/{HOME}/")
        try:
            self.runs_root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"runs root {self.runs_root} cannot be created: {exc.strerror}") from None
        if not os.access(self.runs_root, os.W_OK | os.X_OK):
            raise RunError(f"runs root {self.runs_root} is not writable (set --runs-root or {RUNS_ROOT_KEY})")


def find_places(repo: Repository, runs_root: Path | None = None) -> Places:
    """The places of ``repo``; ``runs_root`` (from the command line) wins over the config key."""
    home = repo.root / HOME
    configured = repo.config(RUNS_ROOT_KEY)
    root = runs_root or (Path(configured) if configured else home / "runs")
    if not root.is_absolute():
        root = (repo.root / root) if runs_root is None else root.resolve()
    return Places(
        home=home,
        runs_root=root,
        store=home / STORE,
        locks=home / "locks",
        worktrees=repo.git_dir / "gitgrid" / "worktrees",
    )


def _exclude(repo: Repository, pattern: str) -> None:
    exclude = repo.git_dir / "info" / "exclude"
    text = exclude.read_text() if exclude.exists() else ""
    if pattern not in text.splitlines():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("a") as out:
            out.write(("\n" if text and not text.endswith("\n") else "") + f"{pattern}\n")
