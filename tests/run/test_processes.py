"""Nothing a point started outlives it: the whole process group is killed after the grace period, whether
the group leader exited by itself, on Ctrl-C or on a timeout (local runs and node tasks alike)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import SIM, SPEC, gitgrid_command, make_repo


@pytest.fixture
def swept(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (repo / "spec.yaml").write_text(SPEC.replace("[1.5, 2.5, 3.5]", "[1.5]").replace("40, 10", "20, 10"))
    create_sweep(repo / "spec.yaml", repo)
    return repo


def stubborn(tag: int, then: str) -> list[str]:
    """A shell that leaves a child ignoring SIGTERM in its group (``sleep <tag>``), then runs ``then``
    (once the child ignores SIGTERM: a signal before its ``trap`` would end it at once)."""
    ready = '"$GITGRID_RUN_DIR/ready"'
    wait = f"while [ ! -e {ready} ]; do sleep 0.01; done"
    return ["sh", "-c", f'(trap "" TERM; : > {ready}; exec sleep {tag}) & {wait}; {then}']


def alive(tag: int) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"^sleep {tag}$"], capture_output=True, text=True, check=False)
    return found.stdout.split()


def wait_for(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def tag() -> int:
    return 3_000_000 + os.getpid() * 10 + int(time.monotonic() * 1000) % 10


def test_ctrl_c_kills_what_ignores_sigterm_even_after_the_leader_died(swept: Path) -> None:
    mark = tag()
    command = stubborn(mark, f"sleep {mark + 1}")
    proc = subprocess.Popen(
        [*gitgrid_command(), "-C", str(swept), "run", "-j", "2", "--", *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(alive(mark)) == 2 and len(alive(mark + 1)) == 2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert alive(mark) == [] and alive(mark + 1) == [], "a process of a point outlived gitgrid"
    finally:
        proc.kill()
        for pid in alive(mark) + alive(mark + 1):  # only if the test failed: leave nothing behind
            os.kill(int(pid), signal.SIGKILL)
    rows = results(swept, include_all=True).rows
    assert sorted(r["status"] for r in rows) == ["interrupted", "interrupted"]


def test_a_timeout_kills_the_whole_group(swept: Path) -> None:
    mark = tag()
    started = time.monotonic()
    summary = run_sweep(
        stubborn(mark, f"sleep {mark + 1}"), repo=swept, options=RunOptions(jobs=2, timeout=1, grace=1)
    )
    assert summary.state.timed_out == 2
    assert alive(mark) == [] and alive(mark + 1) == []
    assert time.monotonic() - started < 20


def test_what_a_finished_command_left_behind_is_stopped(swept: Path) -> None:
    mark = tag()
    command = stubborn(mark, f"(exec sleep {mark + 1}) & echo '{{}}' > \"$GITGRID_RESULT\"")
    summary = run_sweep(command, repo=swept, options=RunOptions(jobs=2, grace=1))
    assert summary.state.succeeded == 2  # the command's own outcome stands
    assert alive(mark) == [] and alive(mark + 1) == []


def test_a_node_task_kills_what_its_points_left_behind(swept: Path, tmp_path: Path) -> None:
    from gitgrid import find_sweep, open_repository
    from gitgrid.cluster.task import run_task
    from gitgrid.layout import Submission

    mark = tag()
    command = stubborn(mark, "true")
    sweep = find_sweep(open_repository(swept))
    files = Submission(tmp_path / "submission")
    files.folder.mkdir()
    files.record.write_text(json.dumps({
        "sweep": sweep.name, "count": 2, "chunk": 1, "repo": str(swept / ".git"),
        "runs_root": str(swept / ".gitgrid/runs"), "command": command, "scratch": str(tmp_path / "scratch"),
    }))  # fmt: skip
    manifest = files.manifest(0)
    manifest.write_text(_manifest_lines(swept, sweep.name)[0] + "\n")
    began = time.monotonic()
    assert run_task(files.folder, manifest, 0).exit_code == 0
    assert alive(mark) == []
    assert time.monotonic() - began > 5  # the grace period before SIGKILL was waited


def _manifest_lines(repo: Path, sweep: str) -> list[str]:
    from gitgrid import find_sweep, list_points, open_repository
    from gitgrid.run.contract import run_requests

    opened = open_repository(repo)
    chosen = find_sweep(opened, sweep)
    requests = run_requests(chosen, list(list_points(opened, chosen)))
    return [
        json.dumps({"index": r.index, "commit": r.commit, "params": dict(r.params), "texts": dict(r.texts)})
        for r in requests
    ]


def test_closing_the_terminal_stops_the_run_as_sigterm_does(swept: Path) -> None:
    """SIGHUP (the terminal closed, #17): the commands are stopped, not orphaned; the runs are recorded
    interrupted; gitgrid exits 128 + 1."""
    mark = tag()
    pid, terminal = pty.fork()
    if pid == 0:  # the child: gitgrid in a session whose controlling terminal is the pty
        os.execv(gitgrid_command()[0], [*gitgrid_command(), "-C", str(swept), "run", "-j", "2", "--",
                                        "sh", "-c", f"exec sleep {mark}"])  # fmt: skip
    output = bytearray()
    try:
        wait_for(lambda: _drained(terminal, output) and len(alive(mark)) == 2)
        os.close(terminal)  # hang up: the kernel sends SIGHUP to gitgrid
        code = _exit_code(pid, 30)
        assert code == 129, output.decode(errors="replace")
        assert alive(mark) == [], "a command outlived gitgrid"
    finally:
        for found in alive(mark):  # only if the test failed: leave nothing behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(found), signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    rows = results(swept, include_all=True).rows
    assert sorted(r["status"] for r in rows) == ["interrupted", "interrupted"]


def _drained(fd: int, into: bytearray) -> bool:
    """Read what the child wrote to its terminal so far (so that it never blocks on a full pty)."""
    while select.select([fd], [], [], 0)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        into += chunk
    return True


def _exit_code(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    raise AssertionError("gitgrid did not exit after the hangup")


def test_a_node_task_stops_its_point_on_sighup(swept: Path, tmp_path: Path) -> None:
    from gitgrid import find_sweep, open_repository
    from gitgrid.layout import Submission

    mark = tag()
    command = ["sh", "-c", f"exec sleep {mark}"]
    sweep = find_sweep(open_repository(swept))
    files = Submission(tmp_path / "submission")
    files.folder.mkdir()
    files.record.write_text(json.dumps({
        "sweep": sweep.name, "count": 2, "chunk": 1, "repo": str(swept / ".git"),
        "runs_root": str(swept / ".gitgrid/runs"), "command": command, "scratch": str(tmp_path / "scratch"),
    }))  # fmt: skip
    files.manifest(0).write_text(_manifest_lines(swept, sweep.name)[0] + "\n")
    task = subprocess.Popen(
        [*gitgrid_command(), "task", str(files.folder), str(files.manifest(0)), "--task", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(alive(mark)) == 1)
        task.send_signal(signal.SIGHUP)
        assert task.wait(timeout=30) == 129, task.stderr.read() if task.stderr else ""
        assert alive(mark) == []
    finally:
        task.kill()
        for found in alive(mark):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(found), signal.SIGKILL)
    (meta,) = (swept / ".gitgrid/runs").rglob("meta.json")
    assert json.loads(meta.read_text())["status"] == "interrupted"
