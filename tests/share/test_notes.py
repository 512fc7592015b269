"""The results notes as git sees them: written by gitgrid's pack writer and read by plain git, read back
whatever fan-out git used, and merged as git's own ``cat_sort_uniq`` merges them."""

from __future__ import annotations

from pathlib import Path

from gitgrid.git.notes import Notes, read_notes, write_notes
from gitgrid.git.repository import open_repository
from gitgrid.share.notes import MAX_NOTES, merge, union
from tests.helpers import git, make_repo


def commits(repo: Path, count: int) -> list[str]:
    for n in range(count):
        git(repo, "commit", "-q", "--allow-empty", "-m", f"point {n}")
    return git(repo, "rev-list", "--reverse", "HEAD").split()[1:]


def test_notes_gitgrid_writes_are_what_git_shows(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "r", {"f": "x\n"})
    targets = commits(path, 3)
    repo = open_repository(path)
    contents = {targets[0]: b'{"a":1}\n', targets[2]: b'{"a":2}\n{"a":3}\n'}
    commit = write_notes(repo, contents, [], "results")
    git(path, "update-ref", "refs/notes/gitgrid", commit)
    assert git(path, "notes", "--ref=gitgrid", "show", targets[2]) == '{"a":2}\n{"a":3}\n'
    assert git(path, "log", "--notes=gitgrid", "--format=%N", "-1", targets[0]).strip() == '{"a":1}'
    assert set(read_notes(repo, commit, MAX_NOTES).notes) == {targets[0], targets[2]}
    assert git(path, "fsck", "--strict", "--no-dangling") == ""


def test_notes_git_wrote_with_its_own_fan_out_are_read(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "r", {"f": "x\n"})
    targets = commits(path, 300)  # git fans out once there are this many notes
    notes = "".join(f"N inline {t}\ndata 5\nn{n:03d}\n\n" for n, t in enumerate(targets))
    stream = f"commit refs/notes/gitgrid\ncommitter a <a> 0 +0000\ndata 0\n{notes}"
    git(path, "fast-import", "--quiet", stdin=stream)
    git(path, "notes", "--ref=gitgrid", "add", "-f", "-m", "again", targets[0])  # git rewrites the fan-out
    tree = git(path, "ls-tree", "refs/notes/gitgrid").splitlines()
    assert all(line.split()[1] == "tree" for line in tree)  # fanned out
    found = read_notes(open_repository(path), git(path, "rev-parse", "refs/notes/gitgrid").strip(), MAX_NOTES)
    assert set(found.notes) == set(targets)


def test_the_union_is_what_git_notes_merge_cat_sort_uniq_gives(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "r", {"f": "x\n"})
    a, b, c = commits(path, 3)
    repo = open_repository(path)
    root = write_notes(repo, {a: b"1\n"}, [], "root")
    ours = write_notes(repo, {a: union(b"1\n", b"3\n2\n"), b: b"x\n"}, [root], "ours")
    theirs = write_notes(repo, {a: union(b"1\n", b"0\n2\n"), c: b"y\n"}, [root], "theirs")
    git(path, "update-ref", "refs/notes/gitgrid", ours)
    git(path, "update-ref", "refs/notes/theirs", theirs)
    git(path, "notes", "--ref=gitgrid", "merge", "-q", "-s", "cat_sort_uniq", "refs/notes/theirs")
    by_git = read_notes(repo, git(path, "rev-parse", "refs/notes/gitgrid").strip(), MAX_NOTES)
    mine = merge(repo, read_notes(repo, ours, MAX_NOTES), read_notes(repo, theirs, MAX_NOTES), "m", "test")
    assert mine.written and dict(mine.notes) == dict(by_git.notes)
    assert git(path, "cat-file", "blob", mine.notes[a]) == "0\n1\n2\n3\n"


def test_a_merge_that_is_a_fast_forward_writes_nothing(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "r", {"f": "x\n"})
    (a,) = commits(path, 1)
    repo = open_repository(path)
    first = write_notes(repo, {a: b"1\n"}, [], "first")
    second = write_notes(repo, {a: b"1\n2\n"}, [first], "second")
    old, new = read_notes(repo, first, MAX_NOTES), read_notes(repo, second, MAX_NOTES)
    assert merge(repo, old, new, "m", "t").commit == second
    assert merge(repo, new, old, "m", "t").commit == second
    assert merge(repo, Notes(None, {}), new, "m", "t").commit == second
    assert not merge(repo, old, new, "m", "t").written
