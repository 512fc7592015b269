"""The mover's reading of a folder's tree: the shortcut for a folder that differs from the one read
last only in the ids of the entries on the files' paths gives what a full parse gives."""

from __future__ import annotations

import random
from pathlib import Path

from gitgrid.git.move import Mover, _parse_tree, _Tree


def _tree(entries: list[tuple[bytes, bytes, bytes]]) -> bytes:
    return b"".join(
        mode + b" " + name + b"\0" + sha for mode, name, sha in sorted(entries, key=lambda e: e[1])
    )


def _parsed(mover: Mover, raw: bytes) -> tuple[_Tree, dict[bytes, tuple[bytes, bytes]]]:
    """The folder read by a mover that has read nothing before: a full parse."""
    fresh = Mover(mover.worktree, mover.files)
    tree, entries = fresh._read_tree("", b"oid", raw)
    return tree, {name: entries[name] for name in (b"model.py", b"src") if name in entries}


def test_a_folder_changed_only_on_the_paths_reads_as_a_full_parse_would(tmp_path: Path) -> None:
    shuffle = random.Random(7)
    mover = Mover(tmp_path, ("model.py", "src/params.py"))
    others = [(b"100644", f"{c}{n}.py".encode(), shuffle.randbytes(20)) for c in "az" for n in range(100)]
    for step in range(300):
        # mostly a new point (new ids on the paths); sometimes something else changed too
        on_paths = [
            (b"100644", b"model.py", shuffle.randbytes(20)),
            (b"40000", b"src", shuffle.randbytes(20)),
        ]
        if step % 7 == 3:
            n = shuffle.randrange(len(others))
            others[n] = (others[n][0], others[n][1], shuffle.randbytes(20))  # another file changed
        if step % 11 == 5:
            on_paths = on_paths[1:]  # the file is gone from this commit
        if step % 13 == 6:
            on_paths[0] = (b"100755", *on_paths[0][1:])  # its mode changed
        raw = _tree(others + on_paths)
        tree, entries = mover._read_tree("", b"oid", raw)
        expected_tree, expected = _parsed(mover, raw)
        assert tree == expected_tree
        assert {name: entries[name] for name in (b"model.py", b"src") if name in entries} == expected
        assert {n for _, n, _ in _parse_tree(raw)} >= set(entries)


def test_an_id_that_looks_like_a_name_does_not_fool_the_shortcut(tmp_path: Path) -> None:
    """Ids are compared by offset, never searched for: an id holding ``' model.py\\0'`` is just bytes."""
    mover = Mover(tmp_path, ("model.py",))
    tricky = b" model.py\0" + bytes(10)
    first = _tree([(b"100644", b"a.py", tricky), (b"100644", b"model.py", bytes(20))])
    second = _tree([(b"100644", b"a.py", tricky), (b"100644", b"model.py", b"\1" * 20)])
    mover._read_tree("", b"1", first)
    tree, entries = mover._read_tree("", b"2", second)
    assert entries[b"model.py"] == (b"100644", b"\1" * 20)
    assert tree.others == _parsed(mover, second)[0].others


def test_a_worktree_whose_git_file_names_another_repository_is_not_moved_by_files(tmp_path: Path) -> None:
    """The mover writes the index and HEAD into the checkout's git dir: a ``.git`` file rewritten (by a
    run) to name another repository's git dir, which does not point back, makes it decline (full
    checkouts by git follow), and the other repository's HEAD and index are left as they were."""
    from tests.helpers import git, make_repo

    repo = make_repo(tmp_path / "r", {"model.py": "a = 1\n"})
    worker = tmp_path / "w"
    git(repo, "worktree", "add", "--detach", "--quiet", str(worker))
    head = git(worker, "rev-parse", "HEAD").strip()
    own = Mover(worker, ("model.py",))
    try:
        assert own.adopt(head)  # its own git dir: moves by files
    finally:
        own.close()  # its git cat-file, and the pipes to it
    other = tmp_path / "other"  # a clone: it has the commit, so only the back-link tells them apart
    git(tmp_path, "clone", "--quiet", str(repo), str(other))
    before = (other / ".git/HEAD").read_bytes(), (other / ".git/index").read_bytes()
    (worker / ".git").write_text(f"gitdir: {other / '.git'}\n")
    foreign = Mover(worker, ("model.py",))
    try:
        assert not foreign.adopt(head)
    finally:
        foreign.close()
    assert ((other / ".git/HEAD").read_bytes(), (other / ".git/index").read_bytes()) == before
