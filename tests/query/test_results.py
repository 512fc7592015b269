"""Results out of the store (every format, filters, sorting, pandas), collect, prepare, and the run CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.errors import RunError, StoreError, SweepError
from gitgrid.query.tables import results, results_frame
from tests.helpers import SPEC, cli, make_repo, sim


def test_results_in_every_format(ran: Path) -> None:
    table = cli("results", repo=ran).stdout.splitlines()
    assert table[0].split() == [
        "index",
        "commit",
        "a",
        "b",
        "loss",
        "rate",
        "status",
        "attempt",
        "duration_s",
    ]
    assert len(table) == 2 + 9 and table[2].split()[:6] == [
        "0",
        table[2].split()[1],
        "1.5",
        "10",
        "15.0",
        "11.5",
    ]
    rows = list(csv.DictReader(io.StringIO(cli("results", "-f", "csv", repo=ran).stdout)))
    assert [(r["index"], r["loss"]) for r in rows[:2]] == [("0", "15.0"), ("1", "30.0")] and len(
        rows[0]["commit"]
    ) == 40
    tsv = cli("results", "-f", "tsv", repo=ran).stdout.splitlines()
    assert tsv[1].split("\t")[4] == "15.0"
    data = json.loads(cli("results", "-f", "json", repo=ran).stdout)
    assert data[2]["loss"] == 45.0 and data[2]["status"] == "success" and len(data) == 9


def test_sort_best_where_all(ran: Path) -> None:
    best = json.loads(
        cli("results", "--sort", "loss", "--desc", "--best", "2", "-f", "json", repo=ran).stdout
    )
    assert [r["loss"] for r in best] == [105.0, 75.0]
    low = results(ran, sort="rate", best=1).rows
    assert low[0]["rate"] == 11.5
    where = results(ran, where="loss > 50 and a < 3").rows
    assert [(r["a"], r["b"]) for r in where] == [(2.5, 30)]
    by_index = cli("results", "--where", "index == 2 or index > 9", "-f", "csv", repo=ran)
    assert [line.split(",")[0] for line in by_index.stdout.splitlines()[1:]] == ["2", "10"]  # 11 never ran
    everything = results(ran, include_all=True).rows
    assert len(everything) == 12 and [r["status"] for r in everything if r["b"] == 40] == ["never run"] * 3
    with pytest.raises(Exception, match=r"--sort speed: no such metric or param"):
        results(ran, sort="speed")


def test_results_frame(ran: Path) -> None:
    pytest.importorskip("pandas")
    frame = results_frame(ran, sort="loss")
    assert list(frame.columns[:6]) == ["index", "commit", "a", "b", "loss", "rate"]
    assert frame["loss"].iloc[0] == 15.0 and len(frame) == 9


def test_results_frame_without_pandas(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(StoreError, match=r"pip install 'gitgrid\[pandas\]'"):
        results_frame(ran)


def test_no_results_yet(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"model.py": "a = 0.0\nb = 0\n"})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    result = cli("results", repo=repo)
    assert result.exit_code == 2 and "no results yet" in result.stderr


def write_hand_made(
    root: Path,
    sweep: str,
    index: int,
    commit: str,
    attempt: int,
    meta: dict[str, object] | None,
    result: str | None,
) -> Path:
    folder = root / sweep / f"{index:05d}-{commit[:12]}" / f"attempt-{attempt}"
    folder.mkdir(parents=True)
    if meta is not None:
        (folder / "meta.json").write_text(json.dumps(meta))
    if result is not None:
        (folder / "result.json").write_text(result)
    return folder


def test_collect_hand_made_run_dirs(ran: Path, tmp_path: Path) -> None:
    root = tmp_path / "cluster-runs"
    points = json.loads(cli("list", "-f", "json", repo=ran).stdout)
    sweep = cli("show", "-f", "json", repo=ran)
    name = json.loads(sweep.stdout)["name"]
    # point 3 (b = 40) finished on a node; point 7 failed there; point 11 is still running
    write_hand_made(
        root,
        name,
        3,
        points[3]["commit"],
        1,
        {"status": "success", "exit_code": 0, "host": "node7", "started": 1.0, "ended": 3.5},
        '{"loss": 60.0, "rate": 41.5}',
    )
    write_hand_made(
        root,
        name,
        7,
        points[7]["commit"],
        1,
        {"status": "failed", "exit_code": 2, "reason": "exit status 2"},
        None,
    )
    write_hand_made(root, name, 11, points[11]["commit"], 1, {"status": "running"}, None)
    write_hand_made(
        root, name, 9, points[9]["commit"], 1, {"status": "prepared"}, '{"loss": 3'
    )  # half-written
    write_hand_made(root, name, 5, "0" * 40, 1, {"status": "success"}, "{}")  # not this sweep's commit
    result = cli("collect", name, str(root), repo=ran)
    assert result.exit_code == 0, result.output
    assert "stored 2 new runs (0 already known, 2 not finished)" in result.stdout
    assert "not a point of sweep" in result.stderr
    again = cli("collect", name, str(root), repo=ran)
    assert "stored 0 new runs (2 already known, 2 not finished)" in again.stdout
    row = next(r for r in results(ran).rows if r["index"] == 3)
    assert (row["loss"], row["duration_s"]) == (60.0, 2.5)
    failed = next(r for r in results(ran, include_all=True).rows if r["index"] == 7)
    assert failed["status"] == "failed"
    (root / name / f"00009-{points[9]['commit'][:12]}" / "attempt-1" / "result.json").write_text(
        '{"loss": 3.0}'
    )
    assert "stored 1 new runs" in cli("collect", name, str(root), repo=ran).stdout


def test_prepare_then_collect(ran: Path, tmp_path: Path) -> None:
    commit = json.loads(cli("list", "-f", "json", repo=ran).stdout)[7]["commit"]
    target = tmp_path / "job7"
    result = cli("prepare", commit[:10], str(target), repo=ran)
    assert result.exit_code == 0, result.output
    assert (target / "model.py").read_text() == "a = 2.5\nb = 40\n" and not (target / ".git").exists()
    script = f"cd {target} && . ./gitgrid.env && {sys.executable} sim.py"
    subprocess.run(["bash", "-c", script], check=True, capture_output=True, env={**os.environ})
    assert "stored 1 new runs" in cli("collect", repo=ran).stdout
    assert next(r for r in results(ran).rows if r["index"] == 7)["loss"] == 100.0
    with pytest.raises(RunError, match=r"exists and is not empty"):
        from gitgrid.run.prepare import prepare_point

        prepare_point(commit, target, ran)
    with pytest.raises(SweepError, match=r"is not a point of sweep"):
        from gitgrid.run.prepare import prepare_point

        prepare_point("HEAD", tmp_path / "other", ran)


def test_run_cli_takes_sweep_and_command_around_the_dashes(ran: Path) -> None:
    name = json.loads(cli("show", "-f", "json", repo=ran).stdout)["name"]
    result = cli("run", name, "-j", "2", "--watch", "loss", "--maximize", "--", *sim(), repo=ran)
    assert result.exit_code == 0, result.output
    assert f"{name}: 3 succeeded, 0 failed, 0 timed out, 0 interrupted, 9 skipped" in result.stderr
    assert "best loss: 140.0 (point 11)" in result.stderr
    empty = cli("run", name, repo=ran)
    assert empty.exit_code == 2 and "no command given" in empty.stderr
