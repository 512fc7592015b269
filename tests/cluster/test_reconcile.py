"""Reconciling the store with a scheduler's word, with a fake scheduler (the real one is in
test_cluster.py): the cases whose timing a real cluster cannot be made to show on demand."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gitgrid import create_sweep, list_points, open_repository
from gitgrid.cluster.reconcile import reconcile
from gitgrid.cluster.scheduler import CANCELLED, TIMEOUT, JobRef, Scheduler, TaskState
from gitgrid.layout import Layout, claim_attempt
from gitgrid.run.contract import Run
from gitgrid.store import Job, open_store


class FakeScheduler(Scheduler):
    name = "slurm"

    def __init__(self, state: str) -> None:
        self.state = state

    def states(self, jobs: Sequence[JobRef]) -> dict[tuple[str, int], TaskState]:
        return {("77", 0): TaskState(self.state, self.state.upper())}


def reconciled_after(repo_path: Path, state: str, **run: Any) -> tuple[str, str]:
    """Point 0 of a fresh sweep, submitted as task 0 of job 77, recorded by its task with ``run``'s
    fields; what reconcile makes of it when the scheduler says ``state``."""
    sweep = create_sweep(repo_path / "spec.yaml", repo_path)
    repo = open_repository(repo_path)
    layout, store = open_store(repo)
    point = next(iter(list_points(repo, sweep)))
    store.sweeps.sync(sweep, list_points(repo, sweep))
    store.jobs.add(Job("77", "slurm", sweep.name, str(layout.runs_root), 1, 1, time.time() - 5), [(0, 0)])
    attempt, run_dir = claim_attempt(layout.point_dir(sweep.name, 0, point.commit, sweep.count))
    store.runs.ingest(
        Run(sweep.name, 0, point.commit, attempt, "failed", str(run_dir), params=point.params,
            started=time.time(), ended=time.time(), job="77_0", **run)
    )  # fmt: skip
    try:
        return reconcile(repo, sweep, store, Layout.of(repo), lambda name: FakeScheduler(state))[0]
    finally:
        store.close()


@pytest.mark.parametrize(("state", "expected"), [(CANCELLED, "cancelled"), (TIMEOUT, "timeout")])
def test_a_command_killed_by_the_schedulers_sigterm_is_the_schedulers_verdict(
    sim_repo: Path, state: str, expected: str
) -> None:
    """SLURM signals every process of a cancelled job at once: the command may die of that SIGTERM
    before the task hears it and record "killed by signal 15". That is the cancellation, not a failure."""
    status, reason = reconciled_after(
        sim_repo, state, exit_code=-signal.SIGTERM, reason="killed by signal 15"
    )
    assert status == expected and "ended" in reason


def test_a_command_that_failed_on_its_own_stays_failed(sim_repo: Path) -> None:
    found = reconciled_after(sim_repo, CANCELLED, exit_code=3, reason="exit status 3")
    assert found == ("failed", "exit status 3")


def test_a_submission_record_that_is_a_fifo_never_blocks_status(sim_repo: Path, tmp_path: Path) -> None:
    """``submission.json`` lies under a runs root, which anything a run does can reach: read as an
    untrusted file, so a FIFO there is ignored (the repository's runs root is used), never waited on."""
    sweep = create_sweep(sim_repo / "spec.yaml", sim_repo)
    repo = open_repository(sim_repo)
    _, store = open_store(repo)
    store.sweeps.sync(sweep, list_points(repo, sweep))
    folder = tmp_path / "submission"
    folder.mkdir()
    os.mkfifo(folder / "submission.json")
    store.jobs.add(Job("77", "slurm", sweep.name, str(folder), 1, 1, time.time() - 5), [(0, 0)])
    fake = FakeScheduler("running")
    with ThreadPoolExecutor(1) as pool:  # a blocking open would never return: fail, do not hang
        future = pool.submit(reconcile, repo, sweep, store, Layout.of(repo), lambda name: fake)
        try:
            states = future.result(timeout=20)
        finally:
            _unblock(folder / "submission.json")
    assert states[0][0] == "running"
    store.close()


def _unblock(fifo: Path) -> None:
    """Open the writing end, so a reader blocked on the FIFO returns and the test can end."""
    with contextlib.suppress(OSError):  # no reader waiting: nothing to unblock
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
