"""Files as they come with a clone (#17): a target on line 1 of a UTF-8 file that starts with a byte order
mark is found (and the mark kept); a file Git LFS keeps (a pointer, or ``filter=lfs``) is refused."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import cli, git, make_repo

SPEC = "files: [model.py]\nparams:\n  a: [3, 4]\n"
POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n"
)


def test_a_target_on_the_first_line_after_a_byte_order_mark_is_found(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"model.py": "\ufeffa = 1\nb = 2\n".encode(), "spec.yaml": SPEC})
    result = cli("create", "--name", "bom", "spec.yaml", repo=repo)
    assert result.exit_code == 0, result.stderr
    first = git(repo, "rev-list", "--reverse", "master..bom").split()[0]
    assert git(repo, "show", f"{first}:model.py").encode() == "\ufeffa = 3\nb = 2\n".encode()


def test_a_git_lfs_pointer_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"model.py": POINTER, "spec.yaml": SPEC.replace("a:", "size:")})
    result = cli("create", "spec.yaml", repo=repo)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
    assert "model.py: a Git LFS pointer, not the file's content" in result.stderr


def test_a_file_under_filter_lfs_is_refused(tmp_path: Path) -> None:
    files = {
        "model.py": "a = 1\n",
        "spec.yaml": SPEC,
        ".gitattributes": "*.py filter=lfs diff=lfs merge=lfs -text\n",
    }
    repo = make_repo(tmp_path / "r", files)
    result = cli("create", "spec.yaml", repo=repo)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
    assert "model.py: stored with Git LFS (filter=lfs in .gitattributes)" in result.stderr
    assert git(repo, "for-each-ref", "refs/tags/gitgrid") == ""
