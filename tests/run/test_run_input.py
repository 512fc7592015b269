"""gitgrid run's input: bad options refused in one line, --halt-after, and warnings about the command's
files before the first point."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import SIM, cli, git, sim


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "-5"], "--timeout -5.0: give a positive, finite number of seconds"),
        (["--timeout", "nan"], "--timeout nan: give a positive, finite number of seconds"),
        (["--timeout", "inf"], "--timeout inf: give a positive, finite number of seconds"),
        (["--timeout", "0"], "--timeout 0.0: give a positive, finite number of seconds"),
        (["--halt-after", "0"], "--halt-after 0: give a number of failures of at least 1"),
        (["--build", " "], "--build: empty command"),
    ],
)
def test_bad_run_options_are_refused_in_one_line(swept: Path, args: list[str], message: str) -> None:
    result = cli("run", *args, "--", *sim(), repo=swept)
    assert result.exit_code == 2
    assert result.stderr == f"gitgrid: error: {message}\n"
    assert not (swept / ".gitgrid/runs").exists() or not list((swept / ".gitgrid/runs").rglob("meta.json"))


def test_prepare_into_an_existing_file_is_refused(swept: Path) -> None:
    commit = cli("list", repo=swept).stdout.split()[0]
    (swept / "taken").write_text("mine\n")
    result = cli("prepare", commit, "taken", repo=swept)
    assert result.exit_code == 2
    assert result.stderr == f"gitgrid: error: {swept / 'taken'}: exists and is not a folder; " + (
        "prepare writes into a fresh folder\n"
    )
    assert (swept / "taken").read_text() == "mine\n"


def test_halt_after_stops_starting_points_and_names_the_first_failure(swept: Path) -> None:
    os.environ["SIM_FAIL"] = "1,2,3,4,5,6,7,8,9,10,11"
    try:
        result = cli("run", "-j", "1", "--halt-after", "2", "--", *sim(), repo=swept)
    finally:
        del os.environ["SIM_FAIL"]
    assert result.exit_code == 1
    assert "1 succeeded, 2 failed" in result.stderr
    assert "halted after 2 failed runs (--halt-after)" in result.stderr
    assert "first failure: point 1: exit status 3" in result.stderr
    states = [r["status"] for r in results(swept, include_all=True).rows]
    assert states == ["success", "failed", "failed"] + ["never run"] * 9
    # the next run goes on where this one stopped
    again = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    assert (again.state.succeeded, again.state.skipped) == (9, 3)


def test_without_halt_after_every_point_runs(swept: Path) -> None:
    os.environ["SIM_FAIL"] = "1,2,3"
    try:
        summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=1))
    finally:
        del os.environ["SIM_FAIL"]
    assert (summary.state.failed, summary.state.halted, summary.state.first_failure) == (
        3,
        False,
        (1, "exit status 3"),
    )


def test_warns_before_the_first_point_about_files_the_checkouts_lack(swept: Path) -> None:
    (swept / "run_point.py").write_text("import runpy\nrunpy.run_path('sim.py')\n")
    (swept / "sim.py").write_text(SIM + "# edited\n")
    result = cli("run", "-j", "2", "--", sys.executable, "run_point.py", "--config=sim.py", repo=swept)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("gitgrid: warning: the command names run_point.py, which is not committed")
    assert (
        "commit it and replace the sweep: gitgrid create --force --name grid_search-2026-11-18 " in lines[0]
    )
    assert lines[1].startswith("gitgrid: warning: the command names sim.py, which differs from its version")
    assert "points run the committed version, not your edit" in lines[1]
    assert "12 failed" in lines[-2] and "can't open file" in cli("status", repo=swept).stdout
    # following the advice replaces the sweep (a second one, grid_search-...-2, is what it used to make)
    git(swept, "add", "run_point.py", "sim.py")
    git(swept, "commit", "-q", "-m", "run_point")
    advice = lines[0].split("replace the sweep: gitgrid ", 1)[1].split(", or give", 1)[0]
    assert cli(*shlex.split(advice), repo=swept).exit_code == 0
    assert cli("sweeps", repo=swept).stdout.count("grid_search") == 1
    rerun = cli("run", "-j", "2", "--", sys.executable, "run_point.py", repo=swept)
    assert rerun.exit_code == 0 and "warning" not in rerun.stderr


def test_no_warning_for_committed_files_or_absolute_paths(swept: Path) -> None:
    (swept / "run_point.py").write_text("import runpy\nrunpy.run_path('sim.py')\n")
    absolute = cli("run", "-j", "2", "--", sys.executable, str(swept / "run_point.py"), repo=swept)
    assert absolute.exit_code == 0 and "warning" not in absolute.stderr
    git(swept, "add", "run_point.py")
    git(swept, "commit", "-q", "-m", "run_point")
    create_sweep(swept / "spec.yaml", swept, name="second")
    committed = cli("run", "second", "-j", "2", "--", sys.executable, "run_point.py", repo=swept)
    assert committed.exit_code == 0 and "warning" not in committed.stderr


def test_a_scripted_run_imports_neither_gitpython_nor_rich(swept: Path) -> None:
    """Their imports cost ~0.3 s and ~0.1 s of every `gitgrid run` (a millisecond a point over a
    500-point sweep, issue 18): a run whose command names no file of the repository, with stderr not
    a terminal, has no use for either."""
    probe = (
        "import sys\nfrom gitgrid.cli import app\n"
        f"sys.argv = ['gitgrid', '-C', {str(swept)!r}, 'run', '-j', '1', '--', 'true']\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('git', 'rich') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "12 succeeded" in done.stderr


@pytest.mark.parametrize(
    ("environ", "forced"),
    [
        ({}, False),
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": ""}, False),
        ({"TTY_COMPATIBLE": "1"}, True),
        ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, False),
        ({"TTY_COMPATIBLE": "", "FORCE_COLOR": "1"}, True),
    ],
)
def test_the_progress_bar_is_skipped_only_where_rich_would_not_show_it(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], forced: bool
) -> None:
    """The bar skips importing rich on a stderr that is not a terminal unless the environment forces one,
    as rich's own ``Console.is_terminal`` reads it; the two must agree."""
    from rich.console import Console

    from gitgrid.cli.app import _terminal_forced

    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert _terminal_forced() is forced
    assert Console(file=io.StringIO()).is_terminal is forced
