"""A command that cannot start in a point's checkout is refused before the first point, with one line that
says where commands run and, when the file exists where gitgrid was started, the path to use (#16)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gitgrid.query.tables import results
from gitgrid.run.preflight import CannotStartError, check_command
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import cli, git

WHERE = "commands run inside each point's checkout (a checkout of its commit), not where gitgrid was started"
RUN_POINT = '#!/bin/sh\nexec {python} sim.py "$@"\n'


def never_ran(repo: Path) -> bool:
    """No point of the sweep has a run (in the store or on disk)."""
    rows = results(repo, include_all=True).rows
    return {r["status"] for r in rows} == {"never run"} and not list(repo.glob(".gitgrid/runs/*/0*"))


def script(path: Path) -> Path:
    import sys

    path.write_text(RUN_POINT.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_script_beside_the_repository_is_refused_naming_its_absolute_path(
    swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test of record: `gitgrid run -j 2 -- ../run_point.sh` failed all 12 points with `command not
    found`; now one line, exit 2, nothing run, and the absolute path that works."""
    beside = script(swept.parent / "run_point.sh")
    monkeypatch.chdir(swept)
    refused = cli("run", "-j", "2", "--", "../run_point.sh")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"gitgrid: error: cannot start '../run_point.sh': it is outside the checkout; {WHERE}; "
        f"'../run_point.sh' exists relative to where gitgrid was started: to run that file, give its "
        f"absolute path: -- {beside}"
    ]
    assert never_ran(swept)
    ran = cli("run", "-j", "2", "--", str(beside))
    assert ran.exit_code == 0 and "12 succeeded" in ran.stderr
    # a build does not make it any less outside the checkout
    with pytest.raises(CannotStartError, match="outside the checkout"):
        run_sweep(["../run_point.sh"], repo=swept, options=RunOptions(build="true", rerun=True))


def test_an_uncommitted_script_is_refused_unless_a_build_may_make_it(
    swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(swept / "run.sh")  # in the working tree, never committed
    monkeypatch.chdir(swept)
    refused = cli("run", "--", "./run.sh")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"gitgrid: error: cannot start './run.sh': the sweep's commits have no file run.sh; {WHERE}; "
        "'./run.sh' is a file of your working tree that is not committed: commit it and replace the sweep: "
        "gitgrid create --force --name grid_search-2026-11-18 --branch master spec.yaml, or give its absolute "
        f"path: -- {swept / 'run.sh'} (your working copy then runs for every point)"
    ]
    assert never_ran(swept)
    # `./prog` made by `make` is the usual case: with --build or --setup a missing file is not refused
    summary = run_sweep(
        ["./run.sh"], repo=swept, options=RunOptions(jobs=2, build=f"cp {swept / 'run.sh'} .")
    )
    assert summary.state.succeeded == 12


def test_a_committed_file_that_is_not_executable_is_refused_with_both_ways_out(swept: Path) -> None:
    with pytest.raises(CannotStartError) as caught:
        run_sweep(["./sim.py"], repo=swept)
    assert str(caught.value) == (
        "cannot start './sim.py': sim.py is not executable in the sweep's commits; make it executable and "
        "commit that (git update-index --chmod=+x sim.py), then replace the sweep: gitgrid create --force "
        "--name grid_search-2026-11-18 --branch master spec.yaml, or run it through its interpreter "
        "(-- sh ./sim.py ..., -- python ./sim.py ...)"
    )
    assert never_ran(swept)


def test_a_name_not_on_path_is_refused_and_a_file_of_that_name_pointed_to(
    swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(swept)
    refused = cli("run", "--", "sim.py")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"gitgrid: error: cannot start 'sim.py': no program of that name on PATH; {WHERE}, and a name "
        "without '/' is looked up on PATH; it is sim.py of the repository: give its path from the "
        "repository's top, -- ./sim.py"
    ]
    assert cli("run", "--", "no-such-program-x", "--flag").exit_code == 2
    # found on PATH as the run will see it; a relative PATH entry is left to each checkout
    from gitgrid import find_sweep, open_repository

    repo = open_repository(swept)
    sweep = find_sweep(repo)
    script(swept / "tool")
    check_command(repo, sweep, ["tool"], env={"PATH": f"{swept}:/usr/bin"})
    check_command(repo, sweep, ["tool-in-the-checkout"], env={"PATH": f".:{os.defpath}"})
    with pytest.raises(CannotStartError, match="no program of that name on PATH"):
        check_command(repo, sweep, ["tool"], env={"PATH": "/usr/bin"})


def test_started_in_a_subfolder_a_committed_script_is_given_by_its_path_from_the_top(
    swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (swept / "scripts").mkdir()
    script(swept / "scripts/run.sh")
    git(swept, "add", "scripts/run.sh")
    git(swept, "commit", "-q", "-m", "a run script")
    assert cli("create", "--force", "spec.yaml", repo=swept).exit_code == 0
    monkeypatch.chdir(swept / "scripts")
    refused = cli("run", "--", "./run.sh")
    assert refused.exit_code == 2
    assert refused.stderr.strip().endswith(
        "it is scripts/run.sh of the repository: give its path from the repository's top, -- ./scripts/run.sh"
    )
    assert "the sweep's commits have no file run.sh" in refused.stderr


def test_absolute_paths_are_checked_on_this_machine(swept: Path, tmp_path: Path) -> None:
    with pytest.raises(CannotStartError, match=f"cannot start '{tmp_path}/missing': no such file$"):
        run_sweep([str(tmp_path / "missing")], repo=swept)
    with pytest.raises(CannotStartError, match=r"it is a folder$"):
        run_sweep([str(tmp_path)], repo=swept)
    assert never_ran(swept)
