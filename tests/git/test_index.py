"""The index entries the mover writes in-process (#18): git reads them as its own, in a whole index and
in a split one whose replaced entries span several words of its bitmap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitgrid.git.index import IndexPatcher
from tests.helpers import git, make_repo

NAMES = [f"f{n:03}.txt" for n in range(150)]


@pytest.mark.parametrize("split", [False, True])
def test_patched_entries_are_what_git_reads(tmp_path: Path, split: bool) -> None:
    repo = make_repo(tmp_path / "r", {name: f"{name} 0\n" for name in NAMES})
    if split:  # files written this second stay in the split index (racily clean): kept as git wrote them
        git(repo, "-c", "core.splitIndex=true", "update-index", "--split-index")
    moved = ("f001.txt", "f070.txt", "f140.txt")  # positions in three words of the replace bitmap
    for content in ("one\n", "two, longer\n"):
        patcher = IndexPatcher.of(repo / ".git/index", moved)
        assert patcher is not None
        entries = {}
        for name in moved:
            (repo / name).write_text(content)
            oid = bytes.fromhex(git(repo, "hash-object", "-w", name).strip())
            entries[name] = (0o100644, oid, os.lstat(repo / name))
        assert patcher.write(entries)
        assert (b"link" in (repo / ".git/index").read_bytes()) == split
        status = git(repo, "--no-optional-locks", "status", "--porcelain").splitlines()
        assert status == [f"M  {name}" for name in moved]  # staged as written: the work tree is the index
        assert git(repo, "diff") == ""  # the index has the files' new contents
        staged = git(repo, "diff", "--cached", "--name-only").split()
        assert staged == list(moved)
        assert len(git(repo, "ls-files").split()) == len(NAMES)
        git(repo, "fsck", "--no-dangling")


def test_a_file_the_index_lacks_is_left_to_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "a\n"})
    patcher = IndexPatcher.of(repo / ".git/index", ("a.txt", "new.txt"))
    assert patcher is not None
    (repo / "new.txt").write_text("new\n")
    before = (repo / ".git/index").read_bytes()
    assert not patcher.write({"new.txt": (0o100644, bytes(20), os.lstat(repo / "new.txt"))})
    assert (repo / ".git/index").read_bytes() == before
