"""gitgrid run: real sweeps, real processes, real signals; results stored as runs end."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitgrid import create_sweep, open_repository
from gitgrid.errors import GitgridWarning, RunError, StoreError, SweepError
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from gitgrid.store import Store
from tests.helpers import SPEC, cli, git, gitgrid_command, make_repo, sim

EXPECTED = [(a, b) for a in (1.5, 2.5, 3.5) for b in (10, 20, 30, 40)]


def test_twelve_points_two_workers_every_metric(swept: Path) -> None:
    summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, watch="loss"))
    assert (summary.state.succeeded, summary.exit_code) == (12, 0)
    assert summary.state.best == (15.0, 0)
    table = results(swept)
    assert [(r["a"], r["b"]) for r in table.rows] == EXPECTED
    for row in table.rows:
        assert row["loss"] == row["a"] * row["b"] and row["rate"] == row["a"] + row["b"]
        assert row["status"] == "success" and row["attempt"] == 1
    assert table.columns == ("index", "commit", "a", "b", "loss", "rate", "status", "attempt", "duration_s")
    # each point ran in its own commit: run dirs keyed by index and commit, logs kept
    listed = cli("list", repo=swept).stdout.split()
    for index, commit in enumerate(listed):
        run_dir = swept / ".gitgrid/runs" / table.sweep.name / f"{index:05d}-{commit[:12]}" / "attempt-1"
        meta = json.loads((run_dir / "meta.json").read_text())
        assert (meta["status"], meta["commit"], meta["exit_code"]) == ("success", commit, 0)
        assert meta["duration"] > 0 and meta["host"] and meta["attempt"] == 1
        assert (run_dir / "stdout.log").read_text().startswith(f"point {index} ")
    # worker checkouts are kept in the git dir; the working tree and HEAD are untouched
    assert len(list((swept / ".git/gitgrid/worktrees").glob("w?"))) == 2
    assert git(swept, "status", "--porcelain") == "?? spec.yaml\n"
    assert "/.gitgrid/" in (swept / ".git/info/exclude").read_text()


def test_resume_is_the_default_and_failures_are_retried_on_request(swept: Path) -> None:
    os.environ["SIM_FAIL"] = "3,7"
    try:
        first = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    finally:
        del os.environ["SIM_FAIL"]
    assert (first.state.succeeded, first.state.failed, first.exit_code) == (10, 2, 1)
    again = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    assert (again.state.total, again.state.skipped) == (0, 12)
    retried = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, retry_failed=True))
    assert (retried.state.succeeded, retried.state.skipped) == (2, 10)
    rows = results(swept, all_attempts=True).rows
    assert [(r["index"], r["attempt"], r["status"]) for r in rows if r["index"] in (3, 7)] == [
        (3, 1, "failed"), (3, 2, "success"), (7, 1, "failed"), (7, 2, "success"),
    ]  # fmt: skip
    assert len(results(swept).rows) == 12


def test_rerun_makes_new_attempts_and_keeps_history(swept: Path) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    rerun = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, rerun=True))
    assert rerun.state.succeeded == 12
    rows = results(swept, all_attempts=True).rows
    assert len(rows) == 24 and {r["attempt"] for r in rows} == {1, 2}
    assert {r["attempt"] for r in results(swept).rows} == {2}


def test_timeout_is_recorded(swept: Path) -> None:
    os.environ["SIM_HANG"] = "5"
    try:
        summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, timeout=2, grace=1))
    finally:
        del os.environ["SIM_HANG"]
    assert (summary.state.succeeded, summary.state.timed_out, summary.exit_code) == (11, 1, 1)
    row = next(r for r in results(swept, include_all=True).rows if r["index"] == 5)
    assert row["status"] == "timeout"
    shown = cli("status", repo=swept).stdout
    assert "timeout" in shown and "point 5: timeout: time limit exceeded" in shown and "to stderr 5" in shown


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("{not json", "result.json is not valid JSON"),
        ("[1, 2]", "result.json: metrics must be a JSON object, not list"),
        ('{"loss": "low"}', "metric 'loss' is not a number: \"low\""),
        ('{"a": 1.0}', "metric 'a' has the name of a param"),
    ],
)
def test_bad_result_files_fail_the_run_and_keep_its_logs(swept: Path, kind: str, reason: str) -> None:
    os.environ.update(SIM_BAD="4", SIM_BAD_KIND=kind)
    try:
        summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    finally:
        del os.environ["SIM_BAD"], os.environ["SIM_BAD_KIND"]
    assert (summary.state.succeeded, summary.state.failed) == (11, 1)
    report = cli("status", repo=swept).stdout
    assert "point 4: failed: result.json" in report and reason in report
    run_dir = next((swept / ".gitgrid/runs").glob("*/00004-*/attempt-1"))
    assert (run_dir / "stdout.log").read_text().startswith("point 4 ")


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (["no-such-program-x"], "command not found: no-such-program-x"),
        (["./model.py"], "Permission denied: ./model.py"),
    ],
)
def test_a_command_that_cannot_start_fails_each_point(swept: Path, command: list[str], reason: str) -> None:
    """With --build (which might have made it) the command is not refused before the first point
    (tests/run/test_preflight.py): each point fails, saying why."""
    summary = run_sweep(command, repo=swept, options=RunOptions(jobs=2, build="true"))
    assert (summary.state.failed, summary.exit_code) == (12, 1)
    rows = results(swept, include_all=True).rows
    assert {r["status"] for r in rows} == {"failed"}
    assert reason in cli("status", repo=swept).stdout


def test_setup_runs_once_per_worker_and_again_when_the_base_changes(swept: Path, tmp_path: Path) -> None:
    log = tmp_path / "setup.log"
    setup = f'echo "worker $GITGRID_WORKER in $(pwd)" >> {log}'
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, setup=setup))
    assert len(log.read_text().splitlines()) == 2
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, setup=setup, rerun=True))
    assert len(log.read_text().splitlines()) == 2  # same base code: no new setup
    (swept / "extra.txt").write_text("new base\n")
    git(swept, "add", "extra.txt")
    git(swept, "commit", "-q", "-m", "new base")
    create_sweep(swept / "spec.yaml", swept)
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, setup=setup))
    assert len(log.read_text().splitlines()) == 4


def test_setup_failure_stops_the_run(swept: Path) -> None:
    from gitgrid.run.runner import SetupFailed

    with pytest.raises(
        SetupFailed, match=r"--setup failed in worker \d \(exit status 4\); see .*worker-\d.log"
    ):
        run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, setup="exit 4"))


def test_refusals(swept: Path, tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"no command given"):
        run_sweep([], repo=swept)
    with pytest.raises(SweepError, match=r"no sweep named 'nope'"):
        run_sweep(sim(), "nope", repo=swept)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(RunError, match=r"runs root .*a-file/runs cannot be created"):
        run_sweep(sim(), repo=swept, options=RunOptions(runs_root=blocker / "runs"))


def test_a_sweep_without_points(swept: Path) -> None:
    repo = open_repository(swept)
    from dataclasses import replace

    from gitgrid.git.repository import RefUpdate
    from gitgrid.sweep.catalog import find_sweep

    empty = replace(find_sweep(repo), name="empty", tip=find_sweep(repo).base)
    tag = repo.write_tag(empty.tag, empty.tip, repo.ident(), empty.to_message())
    repo.update_refs([RefUpdate(f"refs/tags/{empty.tag}", tag)])
    with pytest.raises(SweepError, match=r"sweep 'empty' has no points"):
        run_sweep(sim(), "empty", repo=swept)


def test_a_store_from_a_newer_gitgrid_is_refused(swept: Path) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="a < 2"))
    db = sqlite3.connect(swept / ".gitgrid/results.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match=r"written by a newer gitgrid \(store schema 99"):
        run_sweep(sim(), repo=swept)
    result = cli("results", repo=swept)
    assert result.exit_code == 2 and "newer gitgrid" in result.stderr


def start_cli_run(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*gitgrid_command(), "-C", str(repo), "run", "-j", "2", *args, "--", *sim()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
    )  # fmt: skip


def wait_for(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def running_metas(repo: Path) -> list[dict[str, object]]:
    """Runs that are under way: stored as running, or with a meta.json that says so (once per point)."""
    metas = [json.loads(p.read_text()) for p in (repo / ".gitgrid/runs").glob("*/*/attempt-*/meta.json")]
    running = [m for m in metas if m["status"] == "running"]
    store = repo / ".gitgrid/results.db"
    if store.exists():
        try:
            with sqlite3.connect(store) as db:
                rows = db.execute("SELECT idx FROM runs WHERE status = 'running'").fetchall()
        except sqlite3.Error:
            rows = []
        running += [{"index": idx, "status": "running"} for (idx,) in rows]
    return list({m["index"]: m for m in running}.values())


def marker_processes(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False).stdout
    return out.split()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_everything_and_records_interrupted(swept: Path, signum: int, code: int) -> None:
    marker = f"gitgrid-test-child-{os.getpid()}-{signum}"
    (swept / "spawn.py").write_text(
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'])\n"
        "import runpy; runpy.run_path('sim.py')\n"
    )
    proc = subprocess.Popen(
        [*gitgrid_command(), "-C", str(swept), "run", "-j", "2", "--", sys.executable, str(swept / "spawn.py")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "SIM_SLEEP": "60"},
    )  # fmt: skip
    wait_for(lambda: len(running_metas(swept)) == 2 and len(marker_processes(marker)) == 2)
    proc.send_signal(signum)
    assert proc.wait(timeout=30) == code
    wait_for(lambda: not marker_processes(marker), timeout=10)
    rows = results(swept, include_all=True).rows
    assert sorted(r["status"] for r in rows if r["status"] != "never run") == ["interrupted", "interrupted"]
    # the next run finishes the sweep, running the interrupted points again
    summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    assert summary.state.succeeded == 12


def test_kill_9_of_the_runner_loses_no_finished_result(swept: Path) -> None:
    proc = start_cli_run(swept, env={"SIM_SLEEP": "0.4"})
    store = swept / ".gitgrid/results.db"
    wait_for(lambda: store.exists() and _successes(store) >= 4)
    proc.kill()
    proc.wait()
    before = {(i, a) for i, a in _success_rows(store)}
    assert len(before) >= 4
    summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    after = _success_rows(store)
    assert len(after) == 12 and len({i for i, _ in after}) == 12, "a point succeeded twice"
    assert before <= set(after), "a finished result was lost"
    assert summary.state.skipped >= len(before)
    assert not running_metas(swept)


def test_a_runner_killed_as_it_records_a_start_leaves_nothing_running(swept: Path) -> None:
    """Killed right after meta.json said 'running': the store's row is written before it, so the next
    runner finds the run, stops its command and records it (a lone meta.json said 'running' forever)."""
    dies = (
        "import os, sys\n"
        "from gitgrid.run import runner\n"
        "from gitgrid.run.runner import RunOptions, run_sweep\n"
        "real = runner.write_meta\n"
        "def write_meta(run):\n"
        "    real(run)\n"
        "    if run.status == 'running':\n"
        "        os._exit(9)  # as kill -9 would, right after meta.json says 'running'\n"
        "runner.write_meta = write_meta\n"
        f"run_sweep({sim()!r}, repo={str(swept)!r}, options=RunOptions(jobs=1))\n"
    )
    killed = subprocess.run([sys.executable, "-c", dies], cwd=Path(__file__).parents[2], check=False)
    assert killed.returncode == 9
    summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    assert summary.state.succeeded == 12 and not running_metas(swept)
    statuses = [r["status"] for r in results(swept, all_attempts=True).rows]
    assert statuses.count("interrupted") == 1 and statuses.count("success") == 12


def test_a_runner_killed_before_it_stores_an_end_loses_nothing(swept: Path) -> None:
    """A run's end reaches the store with the runner's next write: killed after its meta.json said
    success, the next runner records that success from the meta.json, and never runs the point again."""
    dies = (
        "import os, sys\n"
        "from gitgrid.run import runner\n"
        "from gitgrid.run.runner import RunOptions, run_sweep\n"
        "real = runner.write_meta\n"
        "def write_meta(run):\n"
        "    real(run)\n"
        "    if run.status == 'success' and run.index == 3:\n"
        "        os._exit(9)  # as kill -9 would, after meta.json, before the store has the end\n"
        "runner.write_meta = write_meta\n"
        f"run_sweep({sim()!r}, repo={str(swept)!r}, options=RunOptions(jobs=1))\n"
    )
    killed = subprocess.run([sys.executable, "-c", dies], cwd=Path(__file__).parents[2], check=False)
    assert killed.returncode == 9
    assert (3, 1) not in _success_rows(swept / ".gitgrid/results.db")  # only meta.json has it
    summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    assert summary.state.succeeded == 8 and summary.state.skipped == 4 and not running_metas(swept)
    rows = results(swept, all_attempts=True).rows
    assert [(r["index"], r["status"], r["attempt"]) for r in rows] == [(i, "success", 1) for i in range(12)]


def _success_rows(store: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT idx, attempt FROM runs WHERE status = 'success' ORDER BY idx").fetchall()


def _successes(store: Path) -> int:
    try:
        return len(_success_rows(store))
    except sqlite3.Error:
        return 0


def test_a_second_runner_on_the_same_sweep_is_refused(swept: Path) -> None:
    proc = start_cli_run(swept, env={"SIM_SLEEP": "0.5"})
    try:
        wait_for(lambda: bool(running_metas(swept)))
        with pytest.raises(RunError, match=rf"already being run by gitgrid \(pid {proc.pid}\)"):
            run_sweep(sim(), repo=swept)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert len(_success_rows(swept / ".gitgrid/results.db")) == 12


def test_store_keeps_typed_param_columns(swept: Path) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    store = Store.open(swept / ".gitgrid/results.db")
    store.close()
    with sqlite3.connect(swept / ".gitgrid/results.db") as db:
        rows = db.execute("SELECT a, b, typeof(a), typeof(b) FROM points ORDER BY idx LIMIT 2").fetchall()
        modes = db.execute("PRAGMA journal_mode").fetchone()
    assert rows == [(1.5, 10, "real", "integer"), (1.5, 20, "real", "integer")]
    assert modes == ("wal",)


def test_a_sweep_created_again_with_force_starts_afresh(swept: Path) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    (swept / "spec.yaml").write_text(SPEC.replace("[1.5, 2.5, 3.5]", "[4.5, 5.5, 6.5]"))
    name = results(swept).sweep.name
    create_sweep(swept / "spec.yaml", swept, name=name, force=True)
    again = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    assert (again.state.succeeded, again.state.skipped) == (12, 0)
    assert {row["a"] for row in results(swept).rows} == {4.5, 5.5, 6.5}


def test_params_that_differ_only_in_case_keep_their_own_columns(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "r",
        {
            "m.py": "lr = 0\nLR = 0\n",
            "s.py": "import json, os\nassert 'GITGRID_PARAM_LR' not in os.environ  # either value: wrong\n"
            "json.dump({'Loss': 1.0}, open(os.environ['GITGRID_RESULT'], 'w'))\n",
        },
    )
    (repo / "spec.yaml").write_text("files: [m.py]\nparams:\n  lr: [1, 2]\n  LR: [30]\n")
    with pytest.warns(GitgridWarning, match=r"params 'lr' and 'LR' would share \$GITGRID_PARAM_LR"):
        create_sweep(repo / "spec.yaml", repo)
    os.environ["GITGRID_PARAM_LR"] = "stale"  # not passed on either
    try:
        summary = run_sweep([sys.executable, "s.py"], repo=repo, options=RunOptions(jobs=2))
    finally:
        del os.environ["GITGRID_PARAM_LR"]
    assert summary.state.succeeded == 2
    assert [(r["lr"], r["LR"], r["Loss"]) for r in results(repo).rows] == [(1, 30, 1.0), (2, 30, 1.0)]


def test_bad_options_and_nan_metrics(swept: Path) -> None:
    with pytest.raises(RunError, match=r"-j 0: at least one point at a time"):
        run_sweep(sim(), repo=swept, options=RunOptions(jobs=0))
    (swept / "nan.py").write_text(
        "import json, os\ni = int(os.environ['GITGRID_INDEX'])\n"
        "json.dump({'loss': float('nan') if i == 0 else float(i)}, open(os.environ['GITGRID_RESULT'], 'w'))\n"
    )
    summary = run_sweep(
        [sys.executable, str(swept / "nan.py")], repo=swept, options=RunOptions(jobs=2, watch="loss")
    )
    assert summary.state.best == (1.0, 1)
    rows = results(swept, sort="loss").rows
    assert rows[0]["loss"] == 1.0 and rows[-1]["index"] == 0 and math.isnan(rows[-1]["loss"])


def test_a_finished_live_run_collected_meanwhile_keeps_its_id(swept: Path) -> None:
    from gitgrid.run.contract import Run

    store = Store.open(swept / ".gitgrid" / "results.db") if (swept / ".gitgrid").exists() else None
    if store is None:
        (swept / ".gitgrid").mkdir()
        store = Store.open(swept / ".gitgrid" / "results.db")
    run = Run("s", 0, "c" * 40, 1, "running", str(swept / "run-dir"), started=1.0)
    run_id = store.runs.add(run)
    assert store.runs.ingest(run.ending("success", exit_code=0, metrics={"loss": 2.0}))
    store.runs.finish(run_id, run.ending("success", exit_code=0, metrics={"loss": 2.0}))
    rows = list(store.runs.records("s", None, latest_only=False))
    store.close()
    assert [(r.id, r.run.status, r.run.metrics) for r in rows] == [(run_id, "success", {"loss": 2.0})]
