"""The analysis code as git objects (issue 22): the working tree as ``git add -A`` would stage it, hashed
through an index of gitgrid's own, made a commit of fixed identity on top of HEAD."""

from __future__ import annotations

from pathlib import Path

from gitgrid import open_repository
from gitgrid.git.snapshot import code_of, paths_key, working_tree
from tests.helpers import git, make_repo


def test_the_working_tree_is_hashed_as_git_add_all_would_stage_it(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"a.py": "a = 1\n", ".gitignore": "data/\n", "gone.txt": "x\n"})
    repo = open_repository(root)
    index = tmp_path / "code.index"
    clean = code_of(repo, None, index)
    head = git(root, "rev-parse", "HEAD").strip()
    assert (clean.commit, clean.base, clean.dirty) == (head, head, False)  # nothing uncommitted: HEAD itself

    (root / "a.py").write_text("a = 2\n")
    (root / "new.py").write_text("b = 1\n")
    (root / "gone.txt").unlink()
    (root / "data").mkdir()
    (root / "data" / "big.bin").write_text("ignored\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "a.cpython-311.pyc").write_text("byte code\n")
    user_index = (root / ".git/index").read_bytes()
    code = code_of(repo, None, index, keep="refs/gitgrid/analysis/spikes")
    files = git(root, "ls-tree", "-r", "--name-only", code.tree).split()
    assert files == [".gitignore", "a.py", "new.py"]
    assert git(root, "show", f"{code.commit}:a.py") == "a = 2\n"
    assert (code.base, code.dirty) == (head, True) and git(
        root, "rev-parse", f"{code.commit}^"
    ).strip() == head
    assert git(root, "rev-parse", "refs/gitgrid/analysis/spikes").strip() == code.commit
    assert (root / ".git/index").read_bytes() == user_index  # the user's index is never touched
    assert git(root, "status", "--porcelain").split("\n")[0] == " M a.py"
    again = code_of(repo, None, index)
    assert again == code  # the same code, the same commit: fixed author, committer and dates
    assert working_tree(repo, index) == code.tree


def test_a_key_of_some_paths_changes_only_with_them(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"stage/spikes.py": "s = 1\n", "other.py": "o = 1\n"})
    repo = open_repository(root)
    index = tmp_path / "code.index"
    before = paths_key(repo, working_tree(repo, index), ["stage"])
    (root / "other.py").write_text("o = 2\n")
    assert paths_key(repo, working_tree(repo, index), ["stage"]) == before
    (root / "stage" / "helper.py").write_text("h = 1\n")
    assert paths_key(repo, working_tree(repo, index), ["stage"]) != before
