"""The analysis code of ``gitgrid analyze`` as git objects: the working tree as a tree (uncommitted and
untracked files included), a commit of it to check out, and a key of the part a stage depends on.

The working tree is hashed as ``git add -A`` would stage it, into an index of gitgrid's own (never the
user's): tracked files as they are on disk, untracked files that are not ignored (but Python's byte
code), deletions. That index is
kept between calls, so git re-reads only files whose size or time changed. The tree gets a commit with a
fixed identity and date on top of ``HEAD``, so the same code gives the same commit id every time; a ref
(``refs/gitgrid/analysis/<stage>``) keeps the latest from ``git gc`` while nodes may still check it out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitgrid.errors import GitFailure, RepoError
from gitgrid.git.repository import Repository

__all__ = ["CODE_REFS", "Code", "code_of", "paths_key", "tree_of", "working_tree"]

CODE_REFS = "refs/gitgrid/analysis/"
# Python's byte code, written beside any module imported from the working tree: never analysis code, and
# counting it would make every analysis stale whenever Python ran there
_JUNK = (":(exclude,glob)**/__pycache__/**", ":(exclude,glob)**/*.pyc")
_IDENT = {
    "GIT_AUTHOR_NAME": "gitgrid", "GIT_AUTHOR_EMAIL": "gitgrid@localhost",
    "GIT_COMMITTER_NAME": "gitgrid", "GIT_COMMITTER_EMAIL": "gitgrid@localhost",
    "GIT_AUTHOR_DATE": "946684800 +0000", "GIT_COMMITTER_DATE": "946684800 +0000",
}  # fmt: skip


@dataclass(frozen=True)
class Code:
    """Analysis code: the commit to check out, its tree, the commit it was made on (``HEAD`` or the
    ``--code`` ref's), and whether it differs from that commit (uncommitted or untracked files)."""

    commit: str
    tree: str
    base: str | None
    dirty: bool


def working_tree(repo: Repository, index: Path) -> str:
    """The tree id of the working tree as ``git add -A`` would commit it, hashed with ``index`` (gitgrid's
    own copy of an index, made from the repository's on first use)."""
    if repo.root == repo.git_dir:
        raise RepoError(f"{repo.root} is a bare repository: it has no working tree to analyse with")
    index.parent.mkdir(parents=True, exist_ok=True)
    scratch = index.with_name(f".{index.name}.{os.getpid()}")
    own = repo.git_dir / "index"
    try:
        if index.exists():
            shutil.copyfile(index, scratch)
        elif own.exists():
            shutil.copyfile(own, scratch)
        env = {"GIT_INDEX_FILE": str(scratch)}
        _git(repo, ["add", "--all", "--", ".", *_JUNK], env)
        tree = _git(repo, ["write-tree"], env).strip()
        scratch.replace(index)
        return tree
    finally:
        scratch.unlink(missing_ok=True)


def code_of(repo: Repository, ref: str | None, index: Path, keep: str | None = None) -> Code:
    """The analysis code: the working tree (``ref`` None) on top of ``HEAD``, or the commit ``ref`` names;
    ``keep`` is a ref to point at the code's commit (so ``git gc`` keeps it while it may be checked out)."""
    if ref is not None:
        commit = repo.resolve_commit(ref)
        code = Code(commit, tree_of(repo, commit), commit, False)
    else:
        head = _head(repo)
        tree = working_tree(repo, index)
        if head is not None and tree_of(repo, head) == tree:
            code = Code(head, tree, head, False)
        else:
            parents = ["-p", head] if head is not None else []
            message = f"gitgrid analyze: the working tree on {head[:12] if head else 'no commit'}\n"
            commit = _git(repo, ["commit-tree", tree, *parents], _IDENT, message).strip()
            code = Code(commit, tree, head, True)
    if keep is not None:
        _git(repo, ["update-ref", "--no-deref", keep, code.commit], {})
    return code


def paths_key(repo: Repository, tree: str, paths: Sequence[str]) -> str:
    """A hash of what ``paths`` (files or folders of ``tree``) hold: equal exactly when none of them
    changed. A path ``tree`` lacks counts as absent (its key changes when it appears)."""
    listing = _git(repo, ["ls-tree", "-r", "--full-tree", "--end-of-options", tree, "--", *paths], {})
    named = "\n".join(sorted(paths))
    return hashlib.sha256(f"{named}\n\n{listing}".encode()).hexdigest()


def tree_of(repo: Repository, commit: str) -> str:
    """The id of the root tree of ``commit`` (a full commit id), by one short ``git`` call."""
    return _git(repo, ["rev-parse", "--verify", "--end-of-options", f"{commit}^{{tree}}"], {}).strip()


def _head(repo: Repository) -> str | None:
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=repo.root, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _git(repo: Repository, args: Sequence[str], env: Mapping[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo.root, input=stdin, capture_output=True, text=True, check=False,
        env={**os.environ, **env},
    )  # fmt: skip
    if result.returncode != 0:
        raise GitFailure(f"git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout
