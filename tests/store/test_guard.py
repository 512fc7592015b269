"""Another process holding the store (issue 9): readers do not wait for it, a writer gives up after its
bounded wait with one line naming the file and the holder, and a result that finished meanwhile is
recorded as what it was once the store is free."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from gitgrid.store.guard import lock_holders
from tests.helpers import cli, gitgrid_command, sim

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
db.execute("BEGIN IMMEDIATE")
db.execute("DELETE FROM scans")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def holding(store: Path, seconds: float) -> subprocess.Popen[str]:
    """A process that holds the store's write lock for ``seconds``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


@pytest.fixture
def timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GITGRID_STORE_TIMEOUT", "1")
    yield


def test_readers_do_not_wait_for_a_writer(ran: Path) -> None:
    holder = holding(ran / ".gitgrid/results.db", 120)
    try:
        shown = cli("results", "-f", "json", repo=ran)
        status = cli("status", repo=ran)
        assert holder.poll() is None, "the reader waited for the writer to finish"
    finally:
        holder.kill()
        holder.wait()
    assert shown.exit_code == 0 and len(json.loads(shown.stdout)) == 9
    assert status.exit_code == 0 and "success      9" in status.stdout


def test_a_writer_gives_up_naming_the_file_and_the_holder(ran: Path, timeout: None) -> None:
    store = ran / ".gitgrid/results.db"
    holder = holding(store, 120)
    try:
        assert lock_holders(store) == [holder.pid]
        done = cli("collect", repo=ran)
    finally:
        holder.kill()
        holder.wait()
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"{store}: the results store is locked by another process (pid {holder.pid}: " in done.stderr
    assert "GITGRID_STORE_TIMEOUT" in done.stderr and "nothing was lost" in done.stderr


def test_a_result_that_ends_while_the_store_is_held_is_not_lost(ran: Path) -> None:
    store = ran / ".gitgrid/results.db"
    name = results(ran).sweep.name
    env = {**os.environ, "SIM_SLEEP": "1.5", "GITGRID_STORE_TIMEOUT": "1"}
    proc = subprocess.Popen(
        [*gitgrid_command(), "-C", str(ran), "run", "-j", "1", "--", *sim()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    meta: Path | None = None

    def started() -> bool:
        nonlocal meta
        found = list((ran / ".gitgrid/runs" / name).glob("00003-*/attempt-1/meta.json"))
        meta = found[0] if found else None
        return meta is not None and json.loads(meta.read_text())["status"] == "running"

    wait_for(started)
    holder = holding(store, 120)
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2, stderr
    assert f"{store}: the results store is locked by another process (pid {holder.pid}" in stderr
    assert meta is not None and json.loads(meta.read_text())["status"] == "success"  # it did finish
    again = run_sweep(sim(), repo=ran, options=RunOptions(jobs=2))
    assert again.state.failed == 0
    row = next(r for r in results(ran, all_attempts=True).rows if r["index"] == 3)
    assert (row["status"], row["attempt"], row["loss"]) == ("success", 1, 60.0), "recorded otherwise"
    assert not list(meta.parent.parent.glob("attempt-2")), "the finished point ran again"
