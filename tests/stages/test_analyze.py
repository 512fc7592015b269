"""gitgrid analyze, the tests of record (issue 22): a simulation writing a large array per point, a stage
computing two metrics from it; editing the stage analyses every point again and re-simulates none;
calling again runs nothing; a stage failing on some points is grouped and retried; stopping is clean."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gitgrid import RunOptions, StageOptions, analyze, results, results_frame, run_sweep, sweep_status
from tests.helpers import cli, files_under, git, gitgrid_command, sim, stage_repo, stored_rows

STAGE_CMD = [sys.executable, "spikes.py"]


@pytest.fixture
def simulated(tmp_path: Path) -> Path:
    return stage_repo(tmp_path / "sim")


def sweep_folder(repo: Path) -> Path:
    (folder,) = (repo / ".gitgrid/runs").iterdir()
    return folder


def expected(repo: Path, scale: float = 1.0) -> dict[int, tuple[float, float]]:
    """What the stage must report, computed here from each point's array."""
    found = {}
    for point in sorted(sweep_folder(repo).glob("0000*")):
        trace = np.load(point / "attempt-1/trace.npy")
        found[int(point.name[:5])] = (float(trace.mean()) * scale, float(trace.max()))
    return found


def test_editing_the_stage_analyses_every_point_again_and_simulates_none(simulated: Path) -> None:
    repo = simulated
    simulations = files_under(sweep_folder(repo))
    runs = stored_rows(
        repo / ".gitgrid/results.db", "SELECT id, attempt, status FROM runs WHERE reads IS NULL"
    )
    first = cli("analyze", "-j", "2", "--", *STAGE_CMD, repo=repo)
    assert first.exit_code == 0, first.output
    table = results(repo)
    assert table.columns[:7] == ("index", "commit", "a", "b", "loss", "spikes.mean", "spikes.peak")
    assert {r["index"]: (r["spikes.mean"], r["spikes.peak"]) for r in table.rows} == expected(repo)

    (repo / "spikes.py").write_text((repo / "spikes.py").read_text().replace("SCALE = 1.0", "SCALE = 2.0"))
    stale = sweep_status(repo).stages[0]
    assert stale.counts == {"stale (the analysis changed)": 4}
    again = cli("analyze", "-j", "2", "--", *STAGE_CMD, repo=repo)
    assert again.exit_code == 0, again.output
    assert (
        "spikes: 4 succeeded, 0 failed, 0 timed out, 0 interrupted, 0 skipped (done before)" in again.output
    )
    assert {r["index"]: (r["spikes.mean"], r["spikes.peak"]) for r in results(repo).rows} == expected(
        repo, 2.0
    )
    assert files_under(sweep_folder(repo)) == simulations  # no simulation ran, none of their files changed
    assert (
        stored_rows(repo / ".gitgrid/results.db", "SELECT id, attempt, status FROM runs WHERE reads IS NULL")
        == runs
    )

    nothing = cli("analyze", "-j", "2", "--", *STAGE_CMD, repo=repo)
    assert (
        "spikes: 0 succeeded, 0 failed, 0 timed out, 0 interrupted, 4 skipped (done before)" in nothing.output
    )
    assert sweep_status(repo).stages[0].counts == {"current": 4}
    attempts = stored_rows(
        repo / ".gitgrid/results.db", "SELECT idx, attempt FROM runs WHERE analysis IS NOT NULL"
    )
    assert sorted(attempts) == [(i, n) for i in range(4) for n in (1, 2)]
    frame = results_frame(repo)
    assert list(frame["spikes.mean"]) == [v[0] for v in expected(repo, 2.0).values()]


def test_a_re_run_simulation_makes_its_analysis_stale(simulated: Path) -> None:
    repo = simulated
    analyze(STAGE_CMD, repo=repo, options=RunOptions(jobs=2))
    run_sweep(sim(), repo=repo, options=RunOptions(rerun=True, where="a == 1.0 and b == 20"))  # point 1
    counts = sweep_status(repo).stages[0].counts
    assert counts == {"current": 3, "stale (the simulation ran again)": 1}
    launch = analyze(STAGE_CMD, repo=repo)
    assert launch.summary is not None
    assert (launch.summary.state.succeeded, launch.summary.state.done_before) == (1, 3)
    (read,) = stored_rows(
        repo / ".gitgrid/results.db",
        "SELECT reads FROM runs WHERE analysis IS NOT NULL AND idx = 1 AND attempt = 2",
    )
    assert read[0].endswith("/2")  # the second attempt of the simulation was read


def test_a_stage_failing_on_some_points_is_grouped_and_retried(
    simulated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = simulated
    monkeypatch.setenv("STAGE_FAIL", "1,2")
    failed = cli("analyze", "-j", "2", "--", *STAGE_CMD, repo=repo)
    assert failed.exit_code == 1
    assert "spikes: 2 succeeded, 2 failed" in failed.output
    status = cli("status", repo=repo)
    assert "stage spikes:" in status.output and "  failed       2" in status.output
    assert "2 points: failed: exit status 1 (points 1-2)" in status.output
    assert "| ValueError: no spikes in this trace" in status.output
    assert "stages/spikes/00001-" in status.output  # the first failure's stderr.log
    monkeypatch.delenv("STAGE_FAIL")
    skipped = cli("analyze", "--", *STAGE_CMD, repo=repo)
    assert skipped.exit_code == 1
    assert "2 skipped (failed before: --retry-failed runs them)" in skipped.output
    retried = cli("analyze", "--retry-failed", "--", *STAGE_CMD, repo=repo)
    assert retried.exit_code == 0, retried.output
    assert "spikes: 2 succeeded, 0 failed" in retried.output
    assert sweep_status(repo).stages[0].counts == {"current": 4}


def test_a_stage_that_writes_in_the_simulations_run_directory_fails(simulated: Path) -> None:
    repo = simulated
    (repo / "careless.py").write_text(
        "import os\nopen(os.path.join(os.environ['GITGRID_RUN_DIR'], 'trace.npy'), 'ab').write(b'x')\n"
    )
    launch = analyze(
        [sys.executable, "careless.py"], repo=repo, options=RunOptions(where="a == 1.0 and b == 10")
    )
    assert launch.summary is not None and launch.summary.state.failed == 1
    (failure,) = sweep_status(repo).stages[0].failures
    assert failure.reason.startswith("the stage changed its simulation's run directory")
    assert "(trace.npy)" in failure.reason and "$GITGRID_STAGE_DIR" in failure.reason


def test_a_stage_gets_the_run_directory_params_and_metrics_and_runs_in_the_working_tree_code(
    simulated: Path,
) -> None:
    repo = simulated
    probe = (
        "import json, os\n"
        "keys = ['GITGRID_SWEEP', 'GITGRID_INDEX', 'GITGRID_RUN_DIR', 'GITGRID_METRICS', 'GITGRID_STAGE',\n"
        "        'GITGRID_STAGE_DIR', 'GITGRID_RESULT', 'GITGRID_PARAMS', 'GITGRID_CODE']\n"
        "seen = {k: os.environ[k] for k in keys}\n"
        "seen['cwd'], seen['note'] = os.getcwd(), open('note.txt').read()\n"
        "open(os.path.join(os.environ['GITGRID_STAGE_DIR'], 'env.json'), 'w').write(json.dumps(seen))\n"
    )
    (repo / "probe.py").write_text(probe)  # untracked, as is note.txt: the working tree's code
    (repo / "note.txt").write_text("uncommitted\n")
    launch = analyze(
        [sys.executable, "probe.py"], repo=repo, options=RunOptions(where="b == 20 and a == 2.0")
    )
    assert (
        launch.sweep.endswith(":probe") and launch.summary is not None and launch.summary.state.succeeded == 1
    )
    (stage_dir,) = (sweep_folder(repo) / "stages/probe").glob("00003-*/attempt-1")
    seen = json.loads((stage_dir / "env.json").read_text())
    (sim_dir,) = sweep_folder(repo).glob("00003-*/attempt-1")
    assert seen["GITGRID_SWEEP"] == sweep_folder(repo).name and seen["GITGRID_INDEX"] == "3"
    assert seen["GITGRID_RUN_DIR"] == str(sim_dir) and seen["GITGRID_STAGE_DIR"] == str(stage_dir)
    assert json.loads(seen["GITGRID_METRICS"]) == {"loss": 40.0}
    assert json.loads(seen["GITGRID_PARAMS"]) == {"a": 2.0, "b": 20}
    assert seen["GITGRID_STAGE"] == "probe" and seen["GITGRID_RESULT"] == str(stage_dir / "result.json")
    assert seen["note"] == "uncommitted\n" and ".git/gitgrid/worktrees" in seen["cwd"]
    head = git(repo, "rev-parse", "HEAD").strip()
    assert seen["GITGRID_CODE"] != head  # a commit of the working tree, on top of HEAD
    assert git(repo, "rev-parse", f"{seen['GITGRID_CODE']}^").strip() == head
    meta = json.loads((stage_dir / "meta.json").read_text())
    assert meta["reads"].endswith("/1") and len(meta["analysis"]) == 64


def test_uses_narrows_what_makes_an_analysis_stale(simulated: Path) -> None:
    repo = simulated
    options = StageOptions(uses=(str(repo / "spikes.py"),))
    analyze(STAGE_CMD, repo=repo, stage=options, options=RunOptions(jobs=2))
    (repo / "notes.md").write_text("an unrelated file\n")
    assert analyze(STAGE_CMD, repo=repo, stage=options).points == ()
    assert sweep_status(repo).stages[0].counts == {"current": 4}
    (repo / "spikes.py").write_text((repo / "spikes.py").read_text() + "# edited\n")
    assert sweep_status(repo).stages[0].counts == {"stale (the analysis changed)": 4}


def test_sighup_stops_an_analysis_and_the_next_call_finishes_it(simulated: Path) -> None:
    repo = simulated
    (repo / "slow.py").write_text("import time\ntime.sleep(60)\n")
    child = subprocess.Popen(
        [*gitgrid_command(), "-C", str(repo), "analyze", "-j", "2", "--", sys.executable, "slow.py"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    db = repo / ".gitgrid/results.db"
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and len(stored_rows(db, "SELECT 1 FROM runs WHERE status = 'running'")) < 2
    ):
        time.sleep(0.1)
    child.send_signal(signal.SIGHUP)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 129, err
    states = stored_rows(db, "SELECT status FROM runs WHERE analysis IS NOT NULL")
    assert sorted(states) == [("interrupted",), ("interrupted",)]
    (repo / "slow.py").write_text("pass\n")
    launch = analyze([sys.executable, "slow.py"], repo=repo, options=RunOptions(jobs=2))
    assert launch.summary is not None and launch.summary.state.succeeded == 4


def test_the_records_of_a_stage_are_a_sweep_to_read_but_not_to_run(simulated: Path) -> None:
    repo = simulated
    analyze(STAGE_CMD, repo=repo, options=RunOptions(jobs=2))
    name = sweep_folder(repo).name
    attempts = cli("results", f"{name}:spikes", "--all-attempts", "-f", "json", repo=repo)
    assert [row["index"] for row in json.loads(attempts.stdout)] == [0, 1, 2, 3]
    refused = cli("run", f"{name}:spikes", "--", *sim(), repo=repo)
    assert refused.exit_code == 2
    assert f"'{name}:spikes' holds the runs of stage spikes" in refused.output
    bad = cli("analyze", "--stage", "spikes.v2", "--", *STAGE_CMD, repo=repo)
    assert bad.exit_code == 2 and "--stage spikes.v2: a stage name is" in bad.output
