"""A stage through other launchers (issue 22): the same stage as one array job, on this machine's own
array scheduler (anywhere) and on the real SLURM (marked as the other SLURM tests: skipped, saying why,
without the test cluster; required in CI), and as tasks on a real Dask cluster. Nothing is mocked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gitgrid import LaunchSettings, RunOptions, analyze, get_launcher, results, sweep_status
from tests.cluster.test_cluster import slurm, wait_for_jobs  # noqa: F401 (the fixture: the cluster is up)
from tests.helpers import cli, files_under, stage_repo
from tests.launch.test_dask import DASK, Cluster, cluster  # noqa: F401 (the fixture: a Dask cluster)

STAGE_CMD = [sys.executable, "spikes.py"]


def analysed_as_an_array(repo: Path, on: str, **settings: object) -> tuple[str, ...]:
    """The stage submitted as array jobs by launcher ``on``, waited for; its job ids."""
    launcher = get_launcher(on, LaunchSettings(poll=0.3, **settings))  # type: ignore[arg-type]
    launch = analyze(STAGE_CMD, repo=repo, launcher=launcher)
    assert launch.jobs and launch.summary is None and len(launch.points) == 4
    summary = launcher.wait(launch)
    assert (summary.state.succeeded, summary.exit_code) == (4, 0), summary
    return launch.jobs


def check_analysed(repo: Path, simulations: dict[str, tuple[int, int, int]]) -> None:
    (folder,) = (repo / ".gitgrid/runs").iterdir()
    assert files_under(folder) == simulations
    rows = results(repo).rows
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    assert all(1.0 < r["spikes.peak"] - r["spikes.mean"] < 10 for r in rows)
    assert sweep_status(repo).stages[0].counts == {"current": 4}


def test_a_stage_runs_as_an_array_job_on_the_local_array(tmp_path: Path) -> None:
    repo = stage_repo(tmp_path / "sim")
    (folder,) = (repo / ".gitgrid/runs").iterdir()
    simulations = files_under(folder)
    analysed_as_an_array(repo, "local-array", array_limit=2)
    check_analysed(repo, simulations)
    (repo / "spikes.py").write_text((repo / "spikes.py").read_text() + "# edited\n")
    analysed_as_an_array(repo, "local-array")  # every point again, as one array
    assert analyze(STAGE_CMD, repo=repo, launcher=get_launcher("local-array")).points == ()


def test_a_stage_runs_as_an_array_job_on_slurm(slurm: int, tmp_path: Path) -> None:  # noqa: F811
    repo = stage_repo(tmp_path / "sim")
    (folder,) = (repo / ".gitgrid/runs").iterdir()
    simulations = files_under(folder)
    jobs = analysed_as_an_array(repo, "slurm", options=(("time", "0:05:00"),), array_limit=2)
    wait_for_jobs(jobs)
    check_analysed(repo, simulations)
    (repo / "spikes.py").write_text((repo / "spikes.py").read_text().replace("SCALE = 1.0", "SCALE = 1.5"))
    assert sweep_status(repo).stages[0].counts == {"stale (the analysis changed)": 4}
    jobs = analysed_as_an_array(repo, "slurm", options=(("time", "0:05:00"),))
    wait_for_jobs(jobs)
    assert files_under(folder) == simulations  # none re-simulated
    assert analyze(STAGE_CMD, repo=repo, options=RunOptions(), launcher=get_launcher("slurm")).points == ()


@pytest.mark.skipif(not DASK.exists(), reason="dask[distributed] (the dev extra) is not installed")
def test_a_stage_runs_as_tasks_on_a_dask_cluster(tmp_path: Path, cluster: Cluster) -> None:  # noqa: F811
    repo = stage_repo(tmp_path / "sim")
    (folder,) = (repo / ".gitgrid/runs").iterdir()
    simulations = files_under(folder)
    address = cluster.start(2)
    done = cli("analyze", "--on", "dask", "--opt", f"address={address}", "--", *STAGE_CMD, repo=repo)
    assert done.exit_code == 0, done.output
    assert ":spikes: 4 succeeded, 0 failed" in done.stderr
    check_analysed(repo, simulations)
