"""``optimize --on`` drives every launcher the same way: launch a batch, wait for it. Here through the
local array (the array path on any machine): an optimisation stopped while its batch is queued picks
the queued points up again rather than running them twice."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from gitgrid import find_sweep, open_repository
from tests.helpers import gitgrid_command
from tests.optimize.test_session import opt_repo, sim  # noqa: F401 (the fixture)

ARGS = ("optimize", "spec.yaml", "--metric", "loss", "--method", "random", "--budget", "8", "--parallel", "3",
        "--seed", "2", "--on", "local-array", "--poll", "0.2")  # fmt: skip


def test_a_stopped_optimisation_waits_for_the_batch_it_queued(opt_repo: Path) -> None:  # noqa: F811
    command = [*gitgrid_command(), "-C", str(opt_repo), *ARGS, "--", "env", "SIM_SLEEP=4", *sim()]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(opt_repo.glob(".gitgrid/runs/*/*/attempt-1/meta.json")):  # the batch runs, optimize waits
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.1)
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143 and "run the same command again to continue" in err
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    sweep = find_sweep(open_repository(opt_repo))
    assert sweep.optimize and sweep.optimize["answer"]["stopped"] == "budget"
    with sqlite3.connect(opt_repo / ".gitgrid/results.db") as db:
        runs = db.execute("SELECT idx, attempt, status FROM runs ORDER BY idx").fetchall()
        submitted = db.execute("SELECT idx FROM job_points ORDER BY idx").fetchall()
    assert runs == [(i, 1, "success") for i in range(8)]  # each evaluation ran once, on the array
    assert submitted == [(i,) for i in range(8)]  # the batch queued when stopped was not submitted again
