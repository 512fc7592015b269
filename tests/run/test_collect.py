"""Collecting run directories gitgrid did not write (issue 9): every field of meta.json and result.json
is checked, a bad file makes a failed run that says why (never a traceback, never a bad value stored), and
status and results collect finished run directories themselves, looking only at what changed (issue 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.query.tables import results
from gitgrid.run import collect
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import SPEC, cli, sim


def attempt_folder(repo: Path, index: int) -> Path:
    """A new attempt folder of point ``index`` (b = 40 points 3, 7, 11 have never run)."""
    point = json.loads(cli("list", "-f", "json", repo=repo).stdout)[index]
    name = results(repo).sweep.name
    folder = repo / ".gitgrid/runs" / name / f"{index:05d}-{point['commit'][:12]}" / "attempt-1"
    folder.mkdir(parents=True)
    return folder


def meta(folder: Path, **fields: object) -> None:
    (folder / "meta.json").write_text(
        json.dumps({"status": "success", "started": 1.0, "ended": 2.0, **fields})
    )


def fifo(folder: Path) -> None:
    os.mkfifo(folder / "meta.json")


def link_to_zero(folder: Path) -> None:
    (folder / "meta.json").symlink_to("/dev/zero")


def bad_result(folder: Path) -> None:
    meta(folder)
    (folder / "result.json").write_text('{"loss": {"x": 1}}')


def fifo_result(folder: Path) -> None:
    meta(folder)
    os.mkfifo(folder / "result.json")


def huge(folder: Path) -> None:
    (folder / "meta.json").write_text(json.dumps({"status": "success", "host": "x" * (17 << 20)}))


@pytest.mark.parametrize(
    ("write", "why"),
    [
        (
            lambda f: meta(f, metrics={"loss": [1, 2]}),
            "meta.json: 'metrics': metric 'loss' is not a number: [1, 2]",
        ),
        (lambda f: meta(f, started="yesterday"), "meta.json: 'started' must be a time in seconds since"),
        (lambda f: meta(f, reason={"why": "x"}), 'meta.json: \'reason\' must be a string, not {"why": "x"}'),
        (
            lambda f: meta(f, metrics={"loss": "low"}),
            "meta.json: 'metrics': metric 'loss' is not a number: \"low\"",
        ),
        (lambda f: meta(f, metrics={"a": 1.0}), "meta.json: 'metrics': metric 'a' has the name of a param"),
        (
            lambda f: meta(f, status="done"),
            "meta.json: 'status' must be one of cancelled, failed, interrupted",
        ),
        (lambda f: meta(f, exit_code=True), "meta.json: 'exit_code' must be an integer, not true"),
        (lambda f: meta(f, rerun=-1), "meta.json: 'rerun' must be a whole number, not -1"),
        (lambda f: meta(f, started=float("nan")), "meta.json: 'started' must be a time in seconds"),
        (fifo, "meta.json is not a regular file"),
        (link_to_zero, "meta.json is not a regular file (a symbolic link)"),
        (huge, "meta.json is larger than 16 MiB"),
        (
            lambda f: meta(f, metrics={"loss": 10**400}),
            "meta.json: 'metrics': metric 'loss' is too large a number: 1000000",
        ),
        (
            lambda f: meta(f, exit_code=2**63),
            "meta.json: 'exit_code' must be an integer, not 9223372036854775808",
        ),
        (lambda f: meta(f, started=10**400), "meta.json: 'started' must be a time in seconds since"),
        (bad_result, "result.json: metric 'loss'"),
        (fifo_result, "result.json is not a regular file"),
    ],
)
def test_a_bad_run_file_is_a_failed_run_that_says_why(
    ran: Path, write: Callable[[Path], object], why: str
) -> None:
    folder = attempt_folder(ran, 3)
    write(folder)
    done = subprocess.run(  # a real process: a FIFO must not block it
        [sys.executable, "-m", "gitgrid", "-C", str(ran), "collect"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "stored 1 new runs" in done.stdout and why in done.stderr
    row = next(r for r in results(ran, include_all=True).rows if r["index"] == 3)
    assert (row["status"], row["loss"], row["rate"]) == ("failed", None, None)
    assert why in cli("status", repo=ran).stdout
    assert results(ran).metrics == ("loss", "rate")  # nothing of the bad file's metrics stored


def test_status_and_results_collect_what_prepare_handed_out(ran: Path, tmp_path: Path) -> None:
    """The ``gitgrid list | xargs ... prepare`` workflow: no 'gitgrid collect' needed."""
    commit = json.loads(cli("list", "-f", "json", repo=ran).stdout)[7]["commit"]
    assert cli("prepare", commit, str(tmp_path / "job7"), repo=ran).exit_code == 0
    script = f"cd {tmp_path / 'job7'} && . ./gitgrid.env && {sys.executable} sim.py"
    subprocess.run(["bash", "-c", script], check=True, capture_output=True)
    status = cli("status", repo=ran)
    assert "success      10" in status.stdout, status.output
    assert "stored 1 new runs found in run directories" in status.stderr
    assert next(r for r in results(ran).rows if r["index"] == 7)["loss"] == 100.0


def test_status_and_results_collect_new_run_directories(ran: Path) -> None:
    folder = attempt_folder(ran, 11)
    meta(folder)
    (folder / "result.json").write_text('{"loss": 140.0, "rate": 43.5}')
    assert next(r for r in results(ran).rows if r["index"] == 11)["loss"] == 140.0


def test_unchanged_folders_are_not_looked_at_again(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    looked: list[Path] = []
    real = collect.attempts_in  # type: ignore[attr-defined]

    def counted(folder: Path) -> list[Path]:
        looked.append(folder)
        return real(folder)

    monkeypatch.setattr(collect, "attempts_in", counted)
    monkeypatch.setattr(collect, "_SETTLE_NS", 0)  # no clock tick to wait for in a test
    folder = attempt_folder(ran, 11)
    meta(folder)
    (folder / "result.json").write_text('{"loss": 140.0, "rate": 43.5}')
    assert len(results(ran).rows) == 10
    assert looked == [folder.parent], "a folder the runner made and stored was listed"
    looked.clear()
    for _ in range(3):
        assert len(results(ran).rows) == 10
        assert "success      10" in cli("status", repo=ran).stdout
    assert looked == []


def test_run_never_runs_again_what_finished_elsewhere(ran: Path, tmp_path: Path) -> None:
    """A point finished through 'prepare', and a sweep whose runs only its run directories remember (the
    store made afresh by 'collect' of another sweep): 'gitgrid run' takes them in, runs the rest."""
    commit = json.loads(cli("list", "-f", "json", repo=ran).stdout)[7]["commit"]
    assert cli("prepare", commit, str(tmp_path / "job7"), repo=ran).exit_code == 0
    script = f"cd {tmp_path / 'job7'} && . ./gitgrid.env && {sys.executable} sim.py"
    subprocess.run(["bash", "-c", script], check=True, capture_output=True)
    summary = run_sweep(sim(), repo=ran, options=RunOptions(jobs=2))
    assert (summary.state.succeeded, summary.state.skipped) == (2, 10)  # points 3 and 11 only
    name = results(ran).sweep.name
    (ran / "spec2.yaml").write_text(SPEC.replace("[1.5, 2.5, 3.5]", "[9.5]"))
    create_sweep(ran / "spec2.yaml", ran, name="second")
    for path in (ran / ".gitgrid").glob("results.db*"):
        path.unlink()
    assert cli("collect", "second", repo=ran).exit_code == 0  # makes a store holding only 'second'
    again = run_sweep(sim(), repo=ran, sweep=name, options=RunOptions(jobs=2))
    assert (again.state.total, again.state.skipped) == (0, 12)
    assert len(results(ran, name).rows) == 12
