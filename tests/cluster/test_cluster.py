"""gitgrid submit against a real single-node SLURM (tests/slurm/cluster.sh), and job scripts for PBS/LSF.

The SLURM tests need the cluster that `.ci/run` starts (`bash tests/slurm/cluster.sh start`, as root).
Without it they are skipped, saying why; with GITGRID_REQUIRE_SLURM=1 (as in CI) they fail instead.
Nothing on the SLURM path is mocked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitgrid import RunOptions, create_sweep
from gitgrid.errors import RunError, SubmitError
from gitgrid.launch.launcher import Launch, LaunchSettings
from gitgrid.launch.registry import get_launcher
from gitgrid.query.status import sweep_status
from gitgrid.query.tables import results
from tests.helpers import SIM, cli, make_repo, sim

GOLDEN = Path(__file__).parent / "golden"


def _slurm_missing() -> str | None:
    if shutil.which("sbatch") is None:
        return "sbatch is not installed (start a test cluster: sudo bash tests/slurm/cluster.sh start)"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, check=False)
    if "UP" not in ping.stdout:
        return f"no SLURM controller answers (scontrol ping: {ping.stdout.strip() or ping.stderr.strip()})"
    return None


@pytest.fixture(scope="session")
def slurm() -> int:
    """The cluster's MaxArraySize, once it is known to be up."""
    missing = _slurm_missing()
    if missing is not None:
        if os.environ.get("GITGRID_REQUIRE_SLURM") == "1":
            pytest.fail(f"GITGRID_REQUIRE_SLURM=1 but {missing}")
        pytest.skip(missing)
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", config, re.MULTILINE)
    return int(match.group(1)) if match else 1001


def sweep_repo(tmp_path: Path, b_values: str = "{range: [10, 40, 10]}") -> Path:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (repo / "spec.yaml").write_text(f"files: [model.py]\nparams:\n  a: [1.5, 2.5, 3.5]\n  b: {b_values}\n")
    create_sweep(repo / "spec.yaml", repo)
    return repo


def submit(
    repo: Path,
    on: str = "slurm",
    run: RunOptions | None = None,
    dry_run: bool = False,
    **settings: Any,
) -> Launch:
    """``run --on ON`` through the library: the sweep's points as array jobs."""
    launcher = get_launcher(on, LaunchSettings(**settings))
    return launcher.launch(sim(), repo=repo, options=run or RunOptions(), dry_run=dry_run)


def wait_for_jobs(job_ids: list[str] | tuple[str, ...], timeout: float = 300) -> None:
    """Until no task of these jobs is queued or running (the scheduler's own view)."""
    deadline = time.monotonic() + timeout
    while True:
        squeue = ["squeue", "-h", "-j", ",".join(job_ids)]
        out = subprocess.run(squeue, capture_output=True, text=True, check=False).stdout
        if not out.strip():
            return
        assert time.monotonic() < deadline, f"jobs {job_ids} still queued:\n{out}"
        time.sleep(0.5)


def metas(repo: Path) -> list[dict[str, object]]:
    return [
        json.loads(p.read_text()) for p in sorted((repo / ".gitgrid/runs").glob("*/*/attempt-*/meta.json"))
    ]


def test_twelve_points_as_one_array_with_a_limit(slurm: int, tmp_path: Path) -> None:
    repo = sweep_repo(tmp_path)
    result = cli("submit", "--array-limit", "2", "--opt", "time=0:10:00", "--", *sim(), repo=repo)
    assert result.exit_code == 0, result.output
    job = re.search(r"as slurm job\(s\) (\d+)$", result.stdout.strip()).group(1)  # type: ignore[union-attr]
    shown = subprocess.run(
        ["scontrol", "show", "job", job], capture_output=True, text=True, check=True
    ).stdout
    assert "ArrayTaskThrottle=2" in shown
    wait_for_jobs([job])
    assert "stored 12 new runs (0 already known, 0 not finished)" in cli("collect", repo=repo).stdout
    table = results(repo)
    assert len(table.rows) == 12
    for row in table.rows:
        assert (row["loss"], row["rate"]) == (row["a"] * row["b"], row["a"] + row["b"])
    # array task ids are point indices; every run is in the same layout as a local run
    assert sorted((m["index"], m["job"]) for m in metas(repo)) == [(i, f"{job}_{i}") for i in range(12)]
    assert all(m["status"] == "success" and m["host"] for m in metas(repo))
    again = cli("submit", "--", *sim(), repo=repo)
    assert again.stdout == "grid_search-2026-11-18: nothing to submit (12 done before)\n"


def test_failed_and_timed_out_points_are_reported_then_retried(
    slurm: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = sweep_repo(tmp_path)
    monkeypatch.setenv("SIM_FAIL", "3")
    monkeypatch.setenv("SIM_HANG", "5")
    monkeypatch.setenv("SIM_HANG_FOR", "600")
    first = submit(repo, array_limit=4, options=(("time", "0:01:00"),))
    wait_for_jobs(first.jobs, timeout=400)
    status = sweep_status(repo)
    assert status.counts["success"] == 10 and status.counts["failed"] == 1 and status.counts["timeout"] == 1
    reasons = {index: (g.status, g.reason) for g in status.failures for index in g.indexes()}
    assert reasons[3][0] == "failed" and "exit status 3" in (reasons[3][1] or "")
    assert reasons[5][0] == "timeout" and "TIMEOUT" in (reasons[5][1] or "")
    report = cli("status", repo=repo).stdout
    assert "point 5: timeout" in report and "point 3: failed: exit status 3" in report
    assert all(row["index"] not in (3, 5) for row in results(repo).rows)  # never a success
    for name in ("SIM_FAIL", "SIM_HANG"):
        monkeypatch.delenv(name)
    retry = cli("submit", "--retry-failed", "--opt", "time=0:05:00", "--", *sim(), repo=repo)  # the README's
    assert retry.exit_code == 0 and "submitted 2 points as slurm job(s)" in retry.stdout, retry.output
    job = retry.stdout.split("job(s) ")[1].strip()
    wait_for_jobs([job])
    assert sweep_status(repo).counts == {"success": 12, "never run": 0}
    assert len(results(repo).rows) == 12
    sweep_status(repo)  # asking again records nothing new
    attempts = [int(str(m["attempt"])) for m in metas(repo) if m["index"] in (3, 5)]
    assert sorted(attempts) == [1, 1, 2, 2]


def test_chunks_pack_points_into_tasks(slurm: int, tmp_path: Path) -> None:
    repo = sweep_repo(tmp_path)
    shared = tmp_path / "shared-runs"
    done = submit(repo, run=RunOptions(runs_root=shared), chunk=5)
    assert done.submission is not None and [a.tasks for a in done.submission.arrays] == [3]
    wait_for_jobs(done.jobs)
    assert sweep_status(repo).counts["success"] == 12  # found in the runs root the submission used
    tasks = sorted(
        {str(m["job"]) for m in (json.loads(p.read_text()) for p in shared.glob("*/*/attempt-*/meta.json"))}
    )
    assert tasks == [f"{done.jobs[0]}_{t}" for t in range(3)]


def test_cancel_stops_the_sweep(slurm: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = sweep_repo(tmp_path)
    monkeypatch.setenv("SIM_SLEEP", "300")
    done = submit(repo, array_limit=2)
    deadline = time.monotonic() + 60
    while sum(m["status"] == "running" for m in metas(repo)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    result = cli("cancel", repo=repo)
    assert result.exit_code == 0 and f"cancelled slurm job {done.jobs[0]}" in result.stdout
    wait_for_jobs(done.jobs, timeout=120)
    status = sweep_status(repo)
    assert status.counts == {"cancelled": 12, "never run": 0}, (status.counts, status.failures)
    (line,) = [line for line in cli("status", repo=repo).stdout.splitlines() if "cancelled:" in line]
    assert line.startswith(f"12 points: cancelled: by the scheduler (array task {done.jobs[0]}_")
    assert line.endswith(" ended CANCELLED) (points 0-11)")  # one line, one example task
    for meta in metas(repo):  # running or queued when cancelled: a complete record either way
        assert meta["status"] == "cancelled" and meta["params"] and meta["command"] == sim()
    blocked = cli("submit", "--", *sim(), repo=repo)
    assert blocked.exit_code == 0 and "submitted 12 points" in blocked.stdout  # cancelled points run again
    cli("cancel", repo=repo)


def test_queued_points_of_a_running_chunked_task_are_pending(
    slurm: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = sweep_repo(tmp_path)
    monkeypatch.setenv("SIM_SLEEP", "300")
    done = submit(repo, chunk=6, array_limit=1)
    deadline = time.monotonic() + 120
    while not any(m["status"] == "running" for m in metas(repo)):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    counts = sweep_status(repo).counts
    assert (counts.get("running"), counts.get("pending")) == (1, 11), counts  # not 6 running
    cli("cancel", repo=repo)
    wait_for_jobs(done.jobs, timeout=120)


def test_a_sweep_larger_than_max_array_size_is_split(slurm: int, tmp_path: Path) -> None:
    if slurm > 40:
        message = f"MaxArraySize is {slurm}: start the cluster with SLURM_CI_MAX_ARRAY=20 to test splits"
        if os.environ.get("GITGRID_REQUIRE_SLURM") == "1":
            pytest.fail(message)
        pytest.skip(message)
    repo = sweep_repo(tmp_path, b_values=f"{{range: [1, {slurm // 3 + 4}]}}")
    count = 3 * (slurm // 3 + 4)
    done = submit(repo, array_limit=2)
    arrays = done.submission.arrays if done.submission else ()
    assert len(arrays) == 2 and sum(a.tasks for a in arrays) == count
    assert arrays[0].tasks == slurm
    wait_for_jobs(done.jobs)
    assert sweep_status(repo).counts["success"] == count
    jobs = {str(m["job"]).split("_")[0] for m in metas(repo)}
    assert jobs == set(done.jobs)


def test_a_job_sbatch_refuses_is_not_recorded(slurm: int, tmp_path: Path) -> None:
    repo = sweep_repo(tmp_path)
    result = cli("submit", "--opt", "partition=no-such-partition", "--", *sim(), repo=repo)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()  # sbatch's two lines, as one that names the option
    assert line.startswith("gitgrid: error: sbatch refused the job: invalid partition specified: ")
    assert "sbatch: error:" not in line and line.endswith("(from --opt partition=no-such-partition)")
    assert not list((repo / ".gitgrid/runs").glob("*/submissions/*"))
    assert "never run" in cli("status", repo=repo).stdout


def test_dry_run_prints_the_script_and_submits_nothing(tmp_path: Path) -> None:
    repo = sweep_repo(tmp_path)
    result = cli(
        "submit",
        "--dry-run",
        "--array-limit",
        "3",
        "--opt",
        "mem=2G",
        "--opt",
        "cpus=2",
        "--",
        *sim(),
        repo=repo,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("#!/bin/bash\n")
    assert "#SBATCH --mem=2G\n#SBATCH --cpus-per-task=2\n" in result.stdout
    assert re.search(
        r"^# sbatch --parsable --array=0-11%3 \S+/job.sh \S+/manifest-0.jsonl$", result.stdout, re.M
    )
    assert "nothing was submitted" in result.stdout
    assert not (repo / ".gitgrid/runs/grid_search-2026-11-18/submissions").exists()


def test_values_that_reach_a_shell_are_quoted(tmp_path: Path) -> None:
    repo = sweep_repo(tmp_path)
    root = tmp_path / "runs with space; $(touch x)"
    result = cli(
        "submit", "--dry-run", "--runs-root", str(root), "--opt", 'comment=a b "c"', "--", *sim(), repo=repo
    )
    assert result.exit_code == 0, result.output
    assert "exec " in result.stdout and "task '" + str(root) in result.stdout
    assert '#SBATCH --comment="a b \\"c\\""' in result.stdout
    assert f'#SBATCH --output="{root}/' in result.stdout


def test_bad_submit_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = sweep_repo(tmp_path)
    bad_opt = cli("submit", "--dry-run", "--opt", "partition", "--", *sim(), repo=repo)
    assert bad_opt.exit_code == 2 and "--opt 'partition': expected KEY=VALUE" in bad_opt.stderr
    template = tmp_path / "mine.sh.j2"
    template.write_text("#!/bin/sh\n# {{ sweep }}\n{{ nope }}\n")
    undefined = cli("submit", "--dry-run", "--template", str(template), "--", *sim(), repo=repo)
    assert undefined.exit_code == 2 and "mine.sh.j2: 'nope' is undefined" in undefined.stderr
    template.write_text('#!/bin/sh\n#SBATCH --job-name={{ "ab"|center(3500000000) }}\n')
    bomb = cli("submit", "--dry-run", "--template", str(template), "--", *sim(), repo=repo)
    assert bomb.exit_code == 2 and "mine.sh.j2: filter 'center': 3500000000 is more than 10000" in bomb.stderr
    missing = cli("submit", "--dry-run", "--template", str(tmp_path / "gone.j2"), "--", *sim(), repo=repo)
    assert missing.exit_code == 2 and "gone.j2: cannot read the job template" in missing.stderr
    empty = cli("submit", "--dry-run", repo=repo)
    assert empty.exit_code == 2 and "no command given" in empty.stderr
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    for scheduler, program in (("slurm", "sbatch"), ("pbs", "qsub"), ("lsf", "bsub")):
        with pytest.raises(
            SubmitError, match=rf"{program} not found: no {scheduler.upper()} here.*gitgrid list \| xargs"
        ):
            submit(repo, scheduler)


def test_a_task_that_cannot_write_its_run_directory_fails_visibly(tmp_path: Path) -> None:
    from gitgrid.cluster.task import run_task

    repo = sweep_repo(tmp_path)
    done = submit(repo, dry_run=True)
    folder = tmp_path / "submission"
    folder.mkdir()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    (folder / "submission.json").write_text(json.dumps({
        "sweep": done.sweep, "count": 12, "chunk": 1, "repo": str(repo / ".git"),
        "runs_root": str(blocker / "runs"), "command": sim(),
    }))  # fmt: skip
    manifest = folder / "manifest-0.jsonl"
    manifest.write_text(json.dumps({"index": 0, "commit": "0" * 40, "params": {}, "texts": {}}) + "\n")
    with pytest.raises(RunError, match="cannot write") as raised:  # one line in the job's log
        run_task(folder, manifest, 0)
    assert raised.value.exit_code == 1


@pytest.mark.parametrize("scheduler", ["pbs", "lsf", "slurm", "local-array"])
def test_job_scripts_match_their_golden_files(tmp_path: Path, scheduler: str) -> None:
    repo = sweep_repo(tmp_path)
    options: tuple[tuple[str, str], ...] = (
        ("partition", "short"),
        ("time", "1:00:00"),
        ("mem", "4G"),
        ("prologue", "module load python/3.11"),
    )
    if scheduler == "local-array":  # no partition nor memory on this machine
        options = options[1:2] + options[3:]
    launched = submit(repo, scheduler, dry_run=True, array_limit=4, chunk=2, options=options)
    done = launched.submission
    assert done is not None
    text = done.script.replace(str(done.folder), "SUBMISSION").replace(sys.executable, "PYTHON")
    commands = "\n".join(a.command for a in done.arrays).replace(str(done.folder), "SUBMISSION")
    commands = commands.replace(sys.executable, "PYTHON")
    golden = GOLDEN / f"{scheduler}.sh"
    if os.environ.get("GITGRID_UPDATE_GOLDEN"):
        golden.write_text(text + "# " + commands + "\n")
    assert text + "# " + commands + "\n" == golden.read_text()
