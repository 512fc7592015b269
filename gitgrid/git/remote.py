"""Talking to remotes: which of some refs a remote has, fetching refs from it, pushing refs to it.

Any remote git accepts works (a configured name, a path to a bare repository, an ``ssh://`` or
``host:path`` URL). Every call puts the remote after ``--end-of-options``, so a remote name that starts
with ``-`` is never read as an option; refspecs are built by gitgrid from names it checked. What a remote
sends back (ref names, object ids) is compared with what was asked for and never passed to git.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gitgrid.errors import GitFailure, RepoError, excerpt
from gitgrid.git.repository import Repository, run_git

__all__ = ["PushedRef", "check_remote", "fetch", "push", "remote_refs"]

_HEX40 = re.compile(r"[0-9a-f]{40}")
_REFUSED = re.compile(r"\S+ -> (\S+)")  # a refused ref in git fetch's summary line: its local name


@dataclass(frozen=True)
class PushedRef:
    """What a push did to one ref (``git push --porcelain``): its flag (``!`` rejected, ``=`` up to date,
    ``*`` new, `` `` fast-forward, ``+`` forced), the remote ref and git's summary."""

    flag: str
    ref: str
    summary: str

    @property
    def rejected(self) -> bool:
        return self.flag == "!"


def check_remote(repo: Repository, remote: str) -> None:
    """Refuse a remote git could mistake for an option, or a name that is neither a configured remote
    nor a URL or path."""
    if not remote or remote.startswith("-") or any(c in remote for c in "\n\r\0"):
        raise RepoError(f"remote '{excerpt(remote)}': not a remote name, URL or path")
    names = run_git(["remote"], repo.root).stdout.split()
    if remote in names or "/" in remote or ":" in remote or remote.startswith("."):
        return
    known = ", ".join(names) or "none"
    raise RepoError(f"no remote named '{excerpt(remote)}' in {repo.root} (remotes: {known})")


def remote_refs(repo: Repository, remote: str, refs: Sequence[str]) -> dict[str, str]:
    """Which of ``refs`` (patterns as ``git ls-remote`` takes them) the remote has, and their ids."""
    result = run_git(["ls-remote", "--end-of-options", remote, *refs], repo.root)
    if result.returncode != 0:
        raise RepoError(f"cannot reach remote '{excerpt(remote)}': {_first_line(result.stderr)}")
    found: dict[str, str] = {}
    for line in result.stdout.splitlines():
        oid, _, ref = line.partition("\t")
        if _HEX40.fullmatch(oid) and ref:
            found[ref] = oid
    return found


def fetch(repo: Repository, remote: str, refspecs: Sequence[str]) -> list[str]:
    """Fetch ``refspecs`` from the remote (no tags besides, no FETCH_HEAD); the local refs git refused to
    move (a local tag that differs: ``would clobber existing tag``), else an empty list. A remote that
    cannot be reached, or a fetch that failed outright, raises."""
    args = ["fetch", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules"]  # not --quiet: it
    # hides the "! [rejected] SRC -> DST (would clobber existing tag)" lines a refused ref is told by
    result = run_git([*args, "--end-of-options", remote, *refspecs], repo.root)
    if result.returncode == 0:
        return []
    refused = [m.group(1) for line in result.stderr.splitlines()
               if ("rejected" in line or "clobber" in line) and (m := _REFUSED.search(line))]  # fmt: skip
    if refused:
        return refused
    raise RepoError(f"cannot fetch from '{excerpt(remote)}': {_first_line(result.stderr)}")


def push(repo: Repository, remote: str, refspecs: Sequence[str], atomic: bool = True) -> list[PushedRef]:
    """Push ``refspecs`` (never forced) in one transaction on the remote with ``atomic``: all refs move
    or none does. What happened to each ref; a push that failed before any ref was judged raises."""
    args = ["push", "--porcelain", *(["--atomic"] if atomic else [])]
    result = run_git([*args, "--end-of-options", remote, *refspecs], repo.root)
    pushed = [_pushed(line) for line in result.stdout.splitlines() if line.count("\t") >= 2]
    if result.returncode != 0 and not pushed:
        raise RepoError(f"cannot push to '{excerpt(remote)}': {_first_line(result.stderr)}")
    if result.returncode != 0 and not any(p.rejected for p in pushed):
        raise GitFailure(f"git push to '{excerpt(remote)}' failed: {_first_line(result.stderr)}")
    return pushed


def _pushed(line: str) -> PushedRef:
    flag, refs, summary = line.split("\t", 2)
    return PushedRef(flag, refs.rpartition(":")[2], summary.strip())


def _first_line(stderr: str) -> str:
    lines = [line.removeprefix("fatal: ").removeprefix("error: ") for line in stderr.splitlines() if line]
    return excerpt(lines[0], 300) if lines else "no message from git"
