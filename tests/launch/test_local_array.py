"""The array path on any machine: the local array runs the job script and ``gitgrid task`` for each task
as a scheduler would, and ``run --wait``, ``status``, ``cancel`` and retries read it back as they read
SLURM (whose own tests, on a real cluster, are in tests/cluster)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitgrid import RunOptions, sweep_status
from gitgrid.launch.launcher import Launch, LaunchSettings
from gitgrid.launch.registry import get_launcher
from gitgrid.query.tables import results
from tests.helpers import cli, sim

ON = ("--on", "local-array", "--poll", "0.2")


def metas(repo: Path) -> list[dict[str, object]]:
    files = sorted((repo / ".gitgrid/runs").glob("*/*/attempt-*/meta.json"))
    return [json.loads(p.read_text()) for p in files]


def launch(repo: Path, run: RunOptions | None = None, **settings: Any) -> Launch:
    launcher = get_launcher("local-array", LaunchSettings(poll=0.2, **settings))
    return launcher.launch(sim(), repo=repo, options=run or RunOptions())


def until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.2)


def test_run_on_an_array_waits_and_says_how_the_points_ended(swept: Path) -> None:
    result = cli("run", *ON, "--wait", "--", *sim(), repo=swept)
    assert result.exit_code == 0, result.output
    assert "grid_search-2026-11-18: 12 succeeded, 0 failed" in result.stderr
    found = metas(swept)
    job = str(found[0]["job"]).split("_")[0]
    assert sorted((m["index"], m["job"]) for m in found) == [(i, f"{job}_{i}") for i in range(12)]
    for row in results(swept).rows:
        assert (row["loss"], row["rate"]) == (row["a"] * row["b"], row["a"] + row["b"])


def test_submit_is_still_there_and_returns_at_once(swept: Path) -> None:
    result = cli("submit", "--scheduler", "local-array", "--array-limit", "3", "--", *sim(), repo=swept)
    assert result.exit_code == 0, result.output
    assert "submitted 12 points as local-array job(s)" in result.stdout
    until(lambda: sweep_status(swept).counts.get("success") == 12)
    again = cli("submit", "--scheduler", "local-array", "--", *sim(), repo=swept)
    assert again.stdout == "grid_search-2026-11-18: nothing to submit (12 done before)\n"


def test_every_option_of_run_reaches_the_tasks(
    swept: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--where chooses, --timeout stops a run on the node, --setup runs once per checkout, --rerun makes
    new attempts of a new rerun, and -j is the array's limit."""
    monkeypatch.setenv("SIM_HANG", "1")
    monkeypatch.setenv("SIM_HANG_FOR", "60")
    setup = f"pwd >> {tmp_path / 'setups'}"
    options = RunOptions(where="a == 1.5", timeout=3, setup=setup, jobs=2)
    first = launch(swept, options)
    assert first.points == (0, 1, 2, 3) and first.skipped == 8
    summary = get_launcher("local-array").wait(first)
    assert (summary.state.succeeded, summary.state.timed_out) == (3, 1)
    assert summary.exit_code == 1
    status = sweep_status(swept)
    assert status.counts == {"success": 3, "timeout": 1, "never run": 8}
    assert [g.reason for g in status.failures] == ["time limit exceeded"]
    ran_in = (tmp_path / "setups").read_text().splitlines()  # once in each task's (fresh) checkout
    assert len(ran_in) == 4 and all("/gitgrid-" in folder and "/slot-" in folder for folder in ran_in)
    assert len(list((swept / ".gitgrid/runs/grid_search-2026-11-18/setup").glob("*-slot-*.log"))) >= 1
    monkeypatch.delenv("SIM_HANG")
    rerun = launch(swept, RunOptions(where="a == 1.5", rerun=True))
    get_launcher("local-array").wait(rerun)
    reruns = sorted((m["index"], m["rerun"], m["attempt"]) for m in metas(swept) if m["rerun"])
    assert reruns == [(i, 1, 2) for i in range(4)]


def test_halt_after_stops_starting_points_on_every_node(swept: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_FAIL", "0,1,2,3,4,5,6,7,8,9,10,11")
    done = launch(swept, RunOptions(halt_after=2, jobs=1))
    summary = get_launcher("local-array").wait(done)
    assert summary.state.failed == 2 and summary.exit_code == 1
    status = sweep_status(swept)
    assert status.counts == {"failed": 2, "never run": 10}  # the others were not started, not failed


def test_cancel_stops_running_and_queued_points(swept: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_SLEEP", "120")
    done = launch(swept, array_limit=2)
    until(lambda: sum(m["status"] == "running" for m in metas(swept)) == 2)
    result = cli("cancel", repo=swept)
    assert result.exit_code == 0 and f"cancelled local-array job {done.jobs[0]}" in result.stdout
    summary = get_launcher("local-array").wait(done)
    assert summary.state.interrupted == 12
    status = sweep_status(swept)
    assert status.counts == {"cancelled": 12, "never run": 0}
    shown = cli("status", repo=swept).stdout
    (line,) = [line for line in shown.splitlines() if "cancelled:" in line]  # one line for them all
    assert line.startswith(f"12 points: cancelled: by the scheduler (array task {done.jobs[0]}_")
    assert line.endswith(" ended CANCELLED) (points 0-11)")
    for meta in metas(swept):  # a complete record: what ran, with which params
        assert meta["params"] and meta["command"] == sim() and meta["status"] == "cancelled"
    monkeypatch.delenv("SIM_SLEEP")
    again = cli("run", *ON, "--wait", "--", *sim(), repo=swept)  # cancelled points run again
    assert again.exit_code == 0 and "12 succeeded" in again.stderr


def test_a_task_past_its_time_limit_is_a_timeout(swept: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_HANG", "4")  # for 60 s, past the 20 s every task has (the others need 1-3 s)
    done = launch(swept, array_limit=4, options=(("time", "20"),))
    get_launcher("local-array").wait(done)
    status = sweep_status(swept)
    assert status.counts["timeout"] == 1 and status.counts["success"] == 11
    (group,) = status.failures
    assert group.reason.startswith("by the scheduler (array task ") and "TIMEOUT" in group.reason


def test_chunked_tasks_count_their_queued_points_as_pending(
    swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_SLEEP", "120")
    done = launch(swept, chunk=6, array_limit=1)
    until(lambda: any(m["status"] == "running" for m in metas(swept)))
    counts = sweep_status(swept).counts
    assert (counts["running"], counts["pending"]) == (1, 11)  # 5 queued in the running task, 6 in the next
    get_launcher("local-array").cancel(swept, None)
    get_launcher("local-array").wait(done)


def test_an_array_submits_only_what_no_stored_success_stands_for(swept: Path) -> None:
    """Reuse through the array path (#19): a sweep made again on the same base submits only the points
    no stored success has the run key of; the tasks' runs are keyed too, so a third sweep submits none."""
    from gitgrid import create_sweep
    from tests.helpers import stored_rows

    first = cli("run", "--where", "a == 1.5", "--", *sim(), repo=swept)
    assert first.exit_code == 0, first.output
    create_sweep(swept / "spec.yaml", swept, name="again")
    result = cli("run", "again", *ON, "--wait", "--", *sim(), repo=swept)
    assert result.exit_code == 0, result.output
    assert "again: 8 succeeded, 0 failed" in result.stderr
    assert "4 reused (runs of grid_search-2026-11-18 with the same run key)" in result.stderr
    ran = sorted(int(str(m["index"])) for m in metas(swept) if m["sweep"] == "again")
    assert ran == list(range(4, 12))
    assert [(r["loss"], r["status"]) for r in results(swept, "again").rows] == [
        (r["a"] * r["b"], "success") for r in results(swept, "again").rows
    ]
    create_sweep(swept / "spec.yaml", swept, name="third")
    third = cli("submit", "third", "--scheduler", "local-array", "--", *sim(), repo=swept)
    assert third.exit_code == 0, third.output
    assert third.stdout.startswith("third: nothing to submit (")
    assert "12 reused (runs of again, grid_search-2026-11-18 with the same run key)" in third.stdout
    assert not list((swept / ".gitgrid/runs/third").glob("*/attempt-*"))  # nothing ran
    sources = stored_rows(swept / ".gitgrid/results.db",
                          "SELECT reused_sweep, COUNT(*) FROM runs WHERE sweep = 'third' GROUP BY 1 ORDER BY 1")  # fmt: skip
    assert sources == [("again", 8), ("grid_search-2026-11-18", 4)]
    assert sweep_status(swept, "third").counts.get("success") == 12
