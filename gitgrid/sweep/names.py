"""Sweep names: what may name a sweep, checked without starting git.

A sweep's name is a branch (``refs/heads/<name>``), a tag (``refs/tags/gitgrid/<name>``) and a folder of
run directories, and it is read back from records in repositories someone else made (#9). So a name must
be what ``git check-ref-format --branch`` accepts (no ``..``, no leading ``-`` that git would take for an
option, no ``HEAD``), and more: nothing git would resolve to another ref first (``refs/...``,
``tags/...``), nothing in gitgrid's own tag namespace (``gitgrid/...``, which ``list`` strips), no
object id, printable and short. The rules run in Python because ``list`` checks every record it reads; a
property test holds them to git's own.
"""

from __future__ import annotations

import re

from gitgrid.errors import SweepError, excerpt

__all__ = ["MAX_NAME", "check_name", "name_problem"]

MAX_NAME = 200  # characters: a branch, a tag and a folder name (file systems allow 255 bytes)
_RESERVED_FIRST = frozenset({"refs", "heads", "tags", "remotes", "gitgrid"})
_BAD_CHARACTERS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_PSEUDO_REF = re.compile(r"[A-Z_]*HEAD")
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a sweep, or None when it can."""
    if not isinstance(name, str) or not name:
        return "a sweep name is a non-empty string"
    if len(name) > MAX_NAME:
        return f"longer than {MAX_NAME} characters"
    if name.startswith("-"):
        return "it starts with '-', so git would read it as an option"
    return _ref_format_problem(name) or _gitgrid_problem(name)


def check_name(name: str) -> str:
    """``name`` when it may name a sweep, else :class:`~gitgrid.errors.SweepError` saying why."""
    problem = name_problem(name)
    if problem is not None:
        raise SweepError(f"'{excerpt(name)}' is not a valid sweep name: {problem}")
    return name


def _ref_format_problem(name: str) -> str | None:
    """git's check-ref-format rules for a branch name (see ``git help check-ref-format``)."""
    bad = _BAD_CHARACTERS.search(name)
    if bad is not None:
        return f"git refuses {bad.group()!r} in a branch name"
    if ".." in name or "@{" in name or name == "@":
        return "git refuses '..', '@{' and '@' in a branch name"
    if name.startswith("/") or name.endswith(("/", ".")) or "//" in name:
        return "git refuses a name that starts or ends with '/', ends with '.', or holds '//'"
    if any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        return "git refuses a part that starts with '.' or ends with '.lock'"
    return None


def _gitgrid_problem(name: str) -> str | None:
    if _PSEUDO_REF.fullmatch(name):
        return f"'{name}' is one of git's own names (HEAD, FETCH_HEAD, ...)"
    if "/" in name and name.split("/", 1)[0] in _RESERVED_FIRST:
        return (
            "names starting with refs/, heads/, tags/, remotes/ or gitgrid/ would be mistaken for other refs"
        )
    if _OBJECT_ID.fullmatch(name):
        return "it looks like a commit id"
    if not name.isprintable():
        return "it holds a character that is not printable"
    return None
