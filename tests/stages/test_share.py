"""A stage's results travel with the sweep's (issue 22, through issue 19's results notes): a stage's metrics
pushed from one clone appear in another after pull, and there the same analysis code runs nothing again."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gitgrid import results
from gitgrid.share.record import RecordProblem, encode, parse, parse_stage
from gitgrid.store.record import Run
from tests.helpers import cli, git, stage_repo

STAGE_CMD = [sys.executable, "spikes.py"]


def stage_metrics(repo: Path) -> dict[int, tuple[float, float]]:
    return {r["index"]: (r["spikes.mean"], r["spikes.peak"]) for r in results(repo).rows}


def test_a_stages_metrics_pushed_from_one_clone_appear_in_another_after_pull(tmp_path: Path) -> None:
    cluster = stage_repo(tmp_path / "cluster")
    analysed = cli("analyze", "-j", "2", "--", *STAGE_CMD, repo=cluster)
    assert analysed.exit_code == 0, analysed.output
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(cluster, "remote", "add", "origin", str(tmp_path / "remote.git"))
    git(cluster, "push", "-q", "origin", "HEAD:refs/heads/master")
    pushed = cli("push", repo=cluster)
    assert pushed.exit_code == 0, pushed.output
    assert "8 new run records" in pushed.stdout, pushed.stdout  # 4 simulations, 4 analyses

    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), "laptop")
    laptop = tmp_path / "laptop"
    pulled = cli("pull", repo=laptop)
    assert pulled.exit_code == 0, pulled.output
    assert "8 runs stored" in pulled.stdout, pulled.stdout
    assert stage_metrics(laptop) == stage_metrics(cluster)
    assert len(stage_metrics(laptop)) == 4
    status = cli("status", repo=laptop)
    assert status.exit_code == 0 and "spikes" in status.stdout and "current" in status.stdout, status.stdout

    again = cli("analyze", "-j", "2", "--", *STAGE_CMD, repo=laptop)  # the same code: nothing to analyse
    assert again.exit_code == 0, again.output
    assert "0 succeeded" in again.output and "4 skipped (done before)" in again.output, again.output
    assert not (laptop / ".gitgrid/runs").exists() or not list((laptop / ".gitgrid/runs").rglob("meta.json"))


def test_a_stage_record_is_checked_as_any_pulled_record() -> None:
    run = Run(
        sweep="grid:spikes", index=3, commit="a" * 40, attempt=1, status="success", run_dir="/x",
        started=1.0, ended=2.0, reads="b" * 40 + "/2", analysis="c" * 64, metrics={"mean": 1.5},
    )  # fmt: skip
    line = encode(run, (("python", "spikes.py"), ()))
    back, stage = parse_stage(line)
    assert (back.sweep, back.reads, back.analysis, back.metrics) == ("grid:spikes", "b" * 40 + "/2", "c" * 64,
                                                                    {"mean": 1.5})  # fmt: skip
    assert stage == (("python", "spikes.py"), ())
    record = json.loads(line)
    for field, value in (
        ("sweep", "grid:../x"),
        ("reads", "../../etc"),
        ("analysis", "z" * 64),
        ("stage", {"command": []}),
        ("stage", {"command": ["python"], "uses": [1]}),
        ("stage", None),
    ):
        bad = json.dumps({**record, field: value}).encode()
        try:
            parse(bad)
        except RecordProblem:
            continue
        raise AssertionError(f"{field}={value!r} was accepted")
    simulation = json.dumps({**record, "sweep": "grid"}).encode()
    assert parse_stage(simulation)[1] is None and parse(simulation).reads is None
