"""``create`` when something else is going on (#17): the sweep is being run, another ``create`` of the same
name, a full disk, a read-only file system. One line each, exit status 2, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.errors import SweepError
from gitgrid.sweep.create import plan_sweep, write_sweep
from tests.helpers import SIM, SPEC, cli, git, gitgrid_command, make_repo, refs, sim


def one_line_error(result: object, *parts: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("gitgrid: error: "), stderr
    assert "Traceback" not in stderr
    for part in parts:
        assert part in stderr, stderr


def test_create_force_is_refused_while_that_sweep_is_being_run(swept: Path) -> None:
    env = {**os.environ, "SIM_SLEEP": "30"}
    runner = subprocess.Popen(
        [*gitgrid_command(), "-C", str(swept), "run", "-j", "1", "--", *sim()],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        lock = next(iter((swept / ".gitgrid/locks").glob("*.lock")), None)
        for _ in range(600):  # the runner holds the sweep's lock once its pid is in the file
            lock = next(iter((swept / ".gitgrid/locks").glob("*.lock")), None)
            if lock is not None and lock.read_text() == str(runner.pid):
                break
            time.sleep(0.05)
        assert lock is not None and lock.read_text() == str(runner.pid)
        before = refs(swept)
        name = lock.name.removesuffix(".lock")
        result = cli("create", "--force", "--name", name, "spec.yaml", repo=swept)
        one_line_error(result, f"sweep '{name}' is being run by gitgrid (pid {runner.pid})", "--force")
        assert refs(swept) == before
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(60)
    result = cli("create", "--force", "--name", name, "spec.yaml", repo=swept)  # once the run is over
    assert result.exit_code == 0, result.output


def test_the_loser_of_two_creates_of_one_name_says_it_exists(swept: Path) -> None:
    first = plan_sweep(swept / "spec.yaml", swept, name="twin")
    second = plan_sweep(swept / "spec.yaml", swept, name="twin")  # both checked before either wrote
    write_sweep(first)
    before = refs(swept)
    with pytest.raises(SweepError, match="'twin' already exists \\(created by another gitgrid meanwhile\\)"):
        write_sweep(second)
    assert SweepError("").exit_code == 2 and refs(swept) == before


@pytest.mark.parametrize(  # the pack written here, and (from 4096 points) by a forked process
    ("small_disk", "points"), [("2m", 2000), ("4m", 4096)], indirect=["small_disk"]
)
def test_a_full_disk_during_create_is_one_line_and_leaves_no_pack(small_disk: Path, points: int) -> None:
    repo = make_repo(small_disk / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (repo / "spec.yaml").write_text(f"files: [model.py]\nparams:\n  a: {{range: [0, {points - 1}, 1]}}\n")
    free = os.statvfs(small_disk)
    (small_disk / "filler").write_bytes(bytes(free.f_bavail * free.f_frsize - 40_000))
    before = refs(repo)
    result = cli("create", "spec.yaml", repo=repo)
    one_line_error(
        result, "cannot write the sweep's commits", "No space left on device", "nothing was created"
    )
    assert refs(repo) == before
    assert not [p.name for p in (repo / ".git/objects/pack").iterdir() if p.name.startswith("tmp_")]
    (small_disk / "filler").unlink()
    again = cli("create", "spec.yaml", repo=repo)  # space freed: the same command works
    assert again.exit_code == 0, again.stderr
    git(repo, "fsck", "--strict")


def test_create_on_a_read_only_file_system_is_one_line(swept: Path, read_only: Callable[..., None]) -> None:
    before = refs(swept)
    read_only(swept)
    one_line_error(cli("create", "--name", "other", "spec.yaml", repo=swept), "Read-only file system")
    assert refs(swept) == before


def test_create_into_a_repository_whose_gitgrid_folder_is_a_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    (repo / ".gitgrid").write_text("not a folder\n")
    result = cli("run", "--", sys.executable, "sim.py", repo=repo)
    one_line_error(result, ".gitgrid is a file, not a folder", "move the file away")
