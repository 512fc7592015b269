"""Paths in a spec: checked against the base commit's tree and kept inside the repository.

A path may not be absolute, climb out with ``..``, enter ``.git``, or pass through a symlink that leads
outside the repository; a symlink that stays inside is followed, so the file it points to is rewritten.
Every path component git itself refuses is refused here too, before a commit ``git fsck --strict``
would reject exists (#9): ``.git`` in any case and in its NTFS (``.git.``, ``git~1``, ``.git::$DATA``)
and HFS+ (``.g\u200cit``) spellings, ``.gitmodules`` likewise, backslashes and control characters.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from typing import Protocol

from gitgrid.errors import RewriteError, excerpt

__all__ = [
    "EXECUTABLE",
    "REGULAR",
    "SYMLINK",
    "TREE",
    "TreeReader",
    "check_parents",
    "normalise",
    "read_file",
    "resolve_path",
]

REGULAR, EXECUTABLE, SYMLINK, TREE = "100644", "100755", "120000", "040000"


class TreeReader(Protocol):
    """Read access to the base commit's tree: ``(mode, bytes)`` of a path, or None when absent."""

    def read(self, path: str) -> tuple[str, bytes] | None: ...


def read_file(path: str, tree: TreeReader, shown: str) -> tuple[str, bytes]:
    shown = excerpt(shown, 200)
    entry = tree.read(path)
    if entry is None:
        raise RewriteError(f"{shown}: no such file in the base commit")
    mode, data = entry
    if mode not in (REGULAR, EXECUTABLE):
        raise RewriteError(f"{shown}: not a regular file in the base commit")
    return mode, data


def check_parents(path: str, tree: TreeReader) -> None:
    parts = path.split("/")
    for depth in range(1, len(parts)):
        entry = tree.read("/".join(parts[:depth]))
        if entry is not None and entry[0] != TREE:
            raise RewriteError(
                f"{path}: '{'/'.join(parts[:depth])}' is a file in the base commit, not a folder"
            )


def resolve_path(path: str, tree: TreeReader) -> str:
    """``path`` as a clean path inside the repository, following symlinks that stay inside it."""
    parts = _normalise(path, path)
    for _ in range(40):
        resolved = _follow_once(parts, tree, path)
        if resolved is None:
            return "/".join(parts)
        parts = resolved
    raise RewriteError(f"{excerpt(path, 200)}: too many levels of symbolic links")


def normalise(path: str) -> str:
    """``path`` without ``.`` and ``..`` steps (refused when it climbs out of the repository)."""
    return "/".join(_normalise(path, path))


def _normalise(path: str, shown: str) -> list[str]:
    shown = excerpt(shown, 200)
    if not path or PurePosixPath(path).is_absolute() or path.startswith("~"):
        raise RewriteError(f"{shown}: paths in a spec are relative to the repository's top")
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part == "..":
            if not parts:
                raise RewriteError(f"{shown}: leads outside the repository")
            parts.pop()
        elif part != ".":
            parts.append(part)
    if not parts:
        raise RewriteError(f"{shown}: names the repository itself, not a file")
    for part in parts:
        problem = _git_refuses(part)
        if problem is not None:
            raise RewriteError(f"{excerpt(shown)}: {problem}")
    return parts


# Code points HFS+ ignores when it compares names (git's is_hfs_dotgit): ".g\u200cit" is ".git" there.
_HFS_IGNORED = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")
# NTFS drops trailing dots and spaces, and names a stream after ':' (git's is_ntfs_dotgit).
_NTFS_TAIL = re.compile(r"[. ]*(?::.*)?")
_NTFS_GIT = re.compile(r"(?:\.git|git~1)" + _NTFS_TAIL.pattern, re.IGNORECASE)
_NTFS_GITMODULES = re.compile(
    r"(?:\.gitmodules|gitmod~[1-4]|gi7eba~[1-9])" + _NTFS_TAIL.pattern, re.IGNORECASE
)


def _git_refuses(part: str) -> str | None:
    """Why git would refuse ``part`` as a path component of a commit, or None."""
    if any(unicodedata.category(c) == "Cc" for c in part) or "\\" in part:
        return "a path may not hold a backslash or a control character"
    folded = _HFS_IGNORED.sub("", part)
    if _NTFS_GIT.fullmatch(part) or folded.lower() == ".git":
        return "gitgrid does not write inside .git (git refuses this name in any spelling)"
    if _NTFS_GITMODULES.fullmatch(part) or folded.lower() == ".gitmodules":
        return (
            "gitgrid does not write .gitmodules (git checks its content; a sweep has no submodules to change)"
        )
    return None


def _follow_once(parts: list[str], tree: TreeReader, shown: str) -> list[str] | None:
    """Replace the first symlink on ``parts`` by its target; None when there is none."""
    for depth in range(1, len(parts) + 1):
        entry = tree.read("/".join(parts[:depth]))
        if entry is None or entry[0] != SYMLINK:
            continue
        link = entry[1].decode("utf-8", "surrogateescape")
        outside = RewriteError(
            f"{excerpt(shown, 200)}: goes through symlink {excerpt('/'.join(parts[:depth]), 200)} -> "
            f"{excerpt(link, 200)}, outside the repository"
        )
        if PurePosixPath(link).is_absolute():
            raise outside
        joined = "/".join([*parts[: depth - 1], link, *parts[depth:]])
        try:
            return _normalise(joined, shown)
        except RewriteError:
            raise outside from None
    return None
