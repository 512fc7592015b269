"""Worker checkouts moved by the sweep's files alone: git status stays truthful (HEAD, index and files
agree), a command's edits to other tracked files never reach the next point, and anything in doubt falls
back to a full checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitgrid import create_sweep, find_sweep, list_points, open_repository
from gitgrid.layout import Layout
from gitgrid.run import checkouts
from gitgrid.run.checkouts import Checkout, sweep_files, worker_checkouts
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import git, make_repo

FILES = {
    "src/deep/model.py": "a = 0.0\n",
    "config.txt": "b = 0\n",
    "data/table.csv": "x,y\n1,2\n",
    "README": "a model\n",
}
SPEC = "files: [src/deep/model.py, config.txt]\nparams:\n  a: [1.5, 2.5, 3.5]\n  b: {range: [10, 40, 10]}\n"


@pytest.fixture(autouse=True)
def move_by_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """These small repositories stand for large ones: the mover is what is tested here."""
    monkeypatch.setattr(checkouts, "MOVE_FROM", 0)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    made = make_repo(tmp_path / "r", FILES)
    (made / "spec.yaml").write_text(SPEC)
    create_sweep(made / "spec.yaml", made)
    return made


@pytest.fixture
def checkout(repo: Path) -> Iterator[tuple[Checkout, list[str]]]:
    opened = open_repository(repo)
    sweep = find_sweep(opened)
    commits = [p.commit for p in list_points(opened, sweep)]
    with worker_checkouts(opened, Layout.of(opened), 1, sweep_files(sweep)) as (held,):
        yield held, commits


def truthful(path: Path, commit: str) -> None:
    """HEAD is ``commit``, and the index and the tracked files are exactly its tree."""
    assert git(path, "rev-parse", "HEAD").strip() == commit
    # --no-optional-locks: status must not refresh the index, which would look like a change to gitgrid
    assert git(path, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no") == ""
    assert git(path, "diff-index", "--cached", "HEAD") == ""  # the index is HEAD's tree
    for name in ("src/deep/model.py", "config.txt"):
        assert (path / name).read_bytes() == git(path, "show", f"{commit}:{name}").encode()


def test_moves_by_the_sweep_files_keep_git_status_truthful(checkout: tuple[Checkout, list[str]]) -> None:
    held, commits = checkout
    order = [0, 5, 1, 11, 0, 7, 7, 3, 0]  # back and forth, and to the same point
    for index in order:
        held.move_to(commits[index])
        truthful(held.path, commits[index])
    assert held.full_moves == 1  # only the first: every other move wrote the two files alone
    assert held.files == ("src/deep/model.py", "config.txt")
    git_dir = Path(git(held.path, "rev-parse", "--absolute-git-dir").strip())
    assert not list(git_dir.glob("sharedindex.*"))  # a small repository: a whole index, not split


def test_a_large_checkout_gets_a_split_index_and_no_shared_index_piles_up(
    checkout: tuple[Checkout, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gitgrid.git.move

    monkeypatch.setattr(gitgrid.git.move, "SPLIT_FROM", 3)
    held, commits = checkout
    for index in range(6):
        held.move_to(commits[index])
        (held.path / "README").write_text(f"edited {index}\n")  # every next move is a full checkout
    held.move_to(commits[6])
    calls = index_updates(monkeypatch)
    for index in range(7, 12):
        held.move_to(commits[index])
        truthful(held.path, commits[index])
    assert held.full_moves == 7
    git_dir = Path(git(held.path, "rev-parse", "--absolute-git-dir").strip())
    assert len(list(git_dir.glob("sharedindex.*"))) == 1
    # the split index is written in this process (#18): a small file naming the shared one, git agrees
    assert calls == [] and (git_dir / "index").stat().st_size < 500
    git(held.path, "fsck", "--no-dangling")


def test_a_command_that_edits_another_tracked_file_gets_a_full_checkout_next(
    checkout: tuple[Checkout, list[str]],
) -> None:
    held, commits = checkout
    held.move_to(commits[0])
    (held.path / "data/table.csv").write_text("edited by a point\n")
    held.move_to(commits[1])
    assert (held.path / "data/table.csv").read_text() == "x,y\n1,2\n"
    truthful(held.path, commits[1])
    assert held.full_moves == 2
    (held.path / "README").unlink()
    held.move_to(commits[2])
    assert (held.path / "README").read_text() == "a model\n"
    (held.path / "src/deep/model.py").write_text("a = 99\n")  # a swept file: rewritten anyway
    held.move_to(commits[3])
    truthful(held.path, commits[3])
    assert held.full_moves == 3
    (held.path / "build").mkdir()
    (held.path / "build/out.o").write_text("untracked output\n")
    (held.path / "src/deep/cache.pyc").write_text("untracked output\n")
    held.move_to(commits[4])
    truthful(held.path, commits[4])
    assert held.full_moves == 3 and (held.path / "build/out.o").exists()  # untracked files stay


def test_a_command_that_moves_head_or_the_index_gets_a_full_checkout_next(
    checkout: tuple[Checkout, list[str]],
) -> None:
    held, commits = checkout
    held.move_to(commits[0])
    git(held.path, "checkout", "-q", "--detach", commits[6])
    held.move_to(commits[1])
    truthful(held.path, commits[1])
    assert held.full_moves == 2
    (held.path / "new.txt").write_text("staged\n")
    git(held.path, "add", "new.txt")
    held.move_to(commits[2])
    assert held.full_moves == 3 and git(held.path, "diff", "--cached", "--name-only") == ""


def test_files_git_would_convert_are_always_checked_out_fully(tmp_path: Path) -> None:
    made = make_repo(tmp_path / "r", {**FILES, ".gitattributes": "config.txt eol=crlf\n"})
    (made / "spec.yaml").write_text(SPEC)
    create_sweep(made / "spec.yaml", made)
    opened = open_repository(made)
    sweep = find_sweep(opened)
    commits = [p.commit for p in list_points(opened, sweep)]
    with worker_checkouts(opened, Layout.of(opened), 1, sweep_files(sweep)) as (held,):
        for commit in commits[:3]:
            held.move_to(commit)
            assert git(held.path, "status", "--porcelain", "--untracked-files=no") == ""
        assert held.full_moves == 3
        assert (held.path / "config.txt").read_bytes().endswith(b"\r\n")


def test_paths_outside_the_checkout_are_never_written(checkout: tuple[Checkout, list[str]]) -> None:
    from gitgrid.git.move import Mover

    held, commits = checkout
    for bad in ("../escape.txt", ".git/config", "src/../../x", "/etc/passwd", ".GIT/hooks/x"):
        assert not Mover(held.path, (bad, "config.txt")).usable
    held.move_to(commits[0])
    (held.path / "src/deep").rename(held.path / "moved")
    (held.path / "src/deep").symlink_to(held.path.parent / "elsewhere")
    held.move_to(commits[1])  # the watch saw the folder go: full checkout, nothing written through the link
    assert not (held.path.parent / "elsewhere").exists()
    truthful(held.path, commits[1])


def test_a_run_leaves_each_worker_checkout_truthful(repo: Path) -> None:
    script = "import os; p = 'src/deep/model.py'; assert open(p).read() == 'a = %s\\n' % os.environ['GITGRID_PARAM_A']"
    summary = run_sweep([sys.executable, "-c", script], repo=repo, options=RunOptions(jobs=2))
    assert summary.state.succeeded == 12
    for worktree in sorted((repo / ".git/gitgrid/worktrees").glob("w?")):
        head = git(worktree, "rev-parse", "HEAD").strip()
        truthful(worktree, head)
    listed = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True, check=True)
    assert listed.stdout.count("detached HEAD") == 2


def test_a_checkout_a_command_deleted_is_made_again(checkout: tuple[Checkout, list[str]]) -> None:
    import shutil

    held, commits = checkout
    held.move_to(commits[0])
    held.move_to(commits[1])
    shutil.rmtree(held.path)
    held.move_to(commits[2])
    truthful(held.path, commits[2])
    held.move_to(commits[3])
    truthful(held.path, commits[3])
    assert held.full_moves == 2


def test_a_placed_checkout_is_watched_from_its_first_move(checkout: tuple[Checkout, list[str]]) -> None:
    held, commits = checkout
    held.place(commits[0])  # as the runner does for every worker, one after the other
    held.move_to(commits[1])
    truthful(held.path, commits[1])
    assert held.full_moves == 1
    (held.path / "README").write_text("edited by point 1\n")
    held.move_to(commits[2])
    assert (held.path / "README").read_text() == "a model\n" and held.full_moves == 2


def test_a_small_repository_is_moved_by_one_git_checkout_a_point(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below MOVE_FROM tracked files, git checkout's stat of every file costs less than the mover; and a
    checkout whose head is known is not asked for it again (one git process a point, not two)."""
    monkeypatch.setattr(checkouts, "MOVE_FROM", 2_000)
    asked: list[Path] = []

    def head_of(path: Path) -> str:
        asked.append(path)
        return "x"

    monkeypatch.setattr(checkouts, "head_of", head_of)
    opened = open_repository(repo)
    sweep = find_sweep(opened)
    commits = [p.commit for p in list_points(opened, sweep)]
    with worker_checkouts(opened, Layout.of(opened), 1, sweep_files(sweep)) as (held,):
        for index in (0, 5, 1):
            held.move_to(commits[index])
            truthful(held.path, commits[index])
        assert held.full_moves == 3 and len(asked) <= 1


@pytest.mark.parametrize("half", [".git", "admin"])
def test_a_half_deleted_worker_checkout_is_repaired_by_the_next_run(swept: Path, half: str) -> None:
    """Its ``.git`` file removed (a clean-up, a crash), or git's record of it: the next run prunes and
    makes it again, where it stopped with "fatal: '...w0' already exists" (#16)."""
    from tests.helpers import cli, sim

    first = cli("run", "-j", "1", "--where", "b == 10", "--", *sim(), repo=swept)
    assert first.exit_code == 0, first.output
    worker = swept / ".git/gitgrid/worktrees/w0"
    (worker / "build-product.o").write_text("left by the build\n")
    if half == ".git":
        (worker / ".git").unlink()
    else:
        shutil.rmtree(swept / ".git/worktrees/w0")
    again = cli("run", "-j", "1", "--", *sim(), repo=swept)
    assert again.exit_code == 0, again.output
    assert "9 succeeded, 0 failed" in again.stderr
    assert git(worker, "--no-optional-locks", "status", "--porcelain") == ""  # made again, whole
    assert git(swept, "worktree", "list").count("detached HEAD") == 1


def test_lock_files_a_killed_move_left_are_cleared_by_the_next_run(swept: Path) -> None:
    """A ``kill -9`` (or ``scancel`` killing a task's git) mid-move leaves ``index.lock``/``HEAD.lock`` in
    the checkout's git dir; git then refused every later move ("Unable to create ... index.lock: File
    exists"), exit 1, until someone deleted it by hand. The next run holds the checkout's lock, so they are
    leftovers: it removes them and runs."""
    import os

    from tests.helpers import cli, sim

    first = cli("run", "-j", "1", "--where", "b == 10", "--", *sim(), repo=swept)
    assert first.exit_code == 0, first.output
    git_dir = swept / ".git/worktrees/w0"
    for name in ("index.lock", "HEAD.lock"):
        (git_dir / name).write_bytes(b"half written")
        os.utime(git_dir / name, (1e9, 1e9))  # long ago: no move under way
    again = cli("run", "-j", "1", "--", *sim(), repo=swept)
    assert again.exit_code == 0, again.output
    assert "9 succeeded, 0 failed" in again.stderr
    assert not list(git_dir.glob("*.lock"))
    worker = swept / ".git/gitgrid/worktrees/w0"
    assert git(worker, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no") == ""


def test_a_fresh_lock_is_given_its_grace_and_a_foreign_git_dir_is_left_alone(tmp_path: Path) -> None:
    """A lock younger than the grace may belong to a ``git checkout`` outliving its killed parent: it is
    waited for, then removed. A ``.git`` file a run rewrote to point at another git dir (whose ``gitdir``
    does not point back) is never cleared."""
    import time

    from gitgrid.git.checkout import clear_stale_locks

    made = make_repo(tmp_path / "r", {"a.txt": "a\n"})
    worker = tmp_path / "w"
    git(made, "worktree", "add", "--detach", "--quiet", str(worker))
    own = made / ".git/worktrees/w"
    (own / "index.lock").write_bytes(b"")
    started = time.monotonic()
    assert clear_stale_locks(worker, grace=0.3) == ["index.lock"]
    assert time.monotonic() - started >= 0.25 and not (own / "index.lock").exists()

    other = make_repo(tmp_path / "other", {"b.txt": "b\n"})
    (other / ".git/index.lock").write_bytes(b"")
    (worker / ".git").write_text(f"gitdir: {other / '.git'}\n")
    assert clear_stale_locks(worker, grace=0) == []
    assert (other / ".git/index.lock").exists()  # the other repository's lock: not ours to remove

    clone = make_repo(tmp_path / "clone", {"c.txt": "c\n"})  # a node's clone: .git is the git dir
    (clone / ".git/HEAD.lock").write_bytes(b"")
    assert clear_stale_locks(clone, grace=0) == ["HEAD.lock"]


def index_updates(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The git calls the mover makes from now on that write the index."""
    import gitgrid.git.move

    calls: list[list[str]] = []
    real = gitgrid.git.move._quiet_git

    def spy(worktree: Path, args: list[str]) -> int:
        if "update-index" in args:
            calls.append(args)
        return real(worktree, args)

    monkeypatch.setattr(gitgrid.git.move, "_quiet_git", spy)
    return calls


def test_a_whole_index_is_patched_in_process_and_stays_valid(
    checkout: tuple[Checkout, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No git process a point (#18): the files' entries get their blob ids and stat data as git would
    write them; git fsck checks the index's checksum, and git sees nothing to refresh."""
    held, commits = checkout
    calls = index_updates(monkeypatch)
    for index in (0, 5, 1, 11, 0, 7):
        held.move_to(commits[index])
        truthful(held.path, commits[index])
        for name in ("src/deep/model.py", "config.txt"):
            assert (
                git(held.path, "ls-files", "-s", name).split()[1]
                == git(held.path, "rev-parse", f"{commits[index]}:{name}").strip()
            )
    assert held.full_moves == 1 and calls == []
    git(held.path, "fsck", "--no-dangling")  # raises on a bad index checksum
    swept = ("ls-files", "--debug", "src/deep/model.py", "config.txt")  # their stat data as recorded
    recorded = git(held.path, *swept)
    git(held.path, "update-index", "--refresh")  # rewrites stat data that does not match the files
    assert git(held.path, *swept) == recorded


def test_an_index_with_other_extensions_is_updated_by_git(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An untracked cache (an extension the mover does not rewrite): git updates the index, as before."""
    git(repo, "config", "core.untrackedCache", "true")
    opened = open_repository(repo)
    sweep = find_sweep(opened)
    commits = [p.commit for p in list_points(opened, sweep)]
    calls = index_updates(monkeypatch)
    with worker_checkouts(opened, Layout.of(opened), 1, sweep_files(sweep)) as (held,):
        for index in (0, 5, 1):
            held.move_to(commits[index])
            truthful(held.path, commits[index])
        git_dir = Path(git(held.path, "rev-parse", "--absolute-git-dir").strip())
        assert b"UNTR" in (git_dir / "index").read_bytes()
        assert held.full_moves == 1 and any("--remove" in call for call in calls)
