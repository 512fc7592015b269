"""Scratch that is yours: node checkouts live in a per-user folder, go when their task ends, and
``gitgrid clean`` removes what a crash left (never another user's, never one in use)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gitgrid import RunOptions
from gitgrid.launch.launcher import LaunchSettings
from gitgrid.launch.registry import get_launcher
from gitgrid.layout import build_record, node_checkouts, scratch_root
from gitgrid.run.locks import try_lock
from tests.helpers import cli, sim

OLD = time.time() - 3600


def run_on_array(repo: Path, scratch: Path, *options: tuple[str, str]) -> None:
    settings = LaunchSettings(chunk=6, poll=0.2, options=(("scratch", str(scratch)), *options))
    launcher = get_launcher("local-array", settings)
    summary = launcher.wait(launcher.launch(sim(), repo=repo, options=RunOptions()))
    assert summary.state.succeeded == 12


def test_a_task_removes_its_checkout_when_it_ends(swept: Path, tmp_path: Path) -> None:
    run_on_array(swept, tmp_path / "scratch")
    folder = node_checkouts(tmp_path / "scratch", str(swept / ".git"))
    assert folder.parent == scratch_root(tmp_path / "scratch") and folder.parent.name.startswith("gitgrid-")
    # the run returns once every point's record is in; a task removes its checkout after its last
    # point, as it ends, a moment later (seen: 1 run in 3 looked before that)
    deadline = time.monotonic() + 30
    while any(folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(p.name for p in folder.iterdir()) == []  # two tasks, no checkout and no lock left


def test_clean_removes_what_crashes_left_and_only_that(swept: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    run_on_array(swept, scratch, ("keep-scratch", "yes"))
    folder = node_checkouts(scratch, str(swept / ".git"))
    assert (folder / "slot-0" / "sim.py").is_file() and (folder / "slot-1" / "sim.py").is_file()
    held = try_lock(folder / "slot-1.lock")  # a task still running there
    assert held is not None
    others = scratch / "gitgrid-someone-else" / "0123456789ab" / "slot-0"
    others.mkdir(parents=True)
    sweep_runs = next(p for p in (swept / ".gitgrid/runs").iterdir())
    empty = next(sweep_runs.glob("00000-*")) / "attempt-2"  # claimed, never written: a run killed at once
    empty.mkdir()
    probe = sweep_runs / ".probe-4242"
    probe.write_text("")
    fresh = next(sweep_runs.glob("00001-*")) / "attempt-2"  # a run that may be starting now
    fresh.mkdir()
    for path in (empty, probe):
        os.utime(path, (OLD, OLD))
    records = [p for p in (build_record(folder / "slot-0"),) if p.exists()]  # where inotify could watch
    shown = cli("clean", "--dry-run", "--scratch", str(scratch), repo=swept)
    assert shown.exit_code == 0, shown.output
    assert sorted(shown.stdout.splitlines()) == sorted(
        f"would remove {p}" for p in (folder / "slot-0", *records, empty, probe)
    )
    assert (folder / "slot-0").exists() and empty.exists()  # nothing removed
    done = cli("clean", "--scratch", str(scratch), repo=swept)
    assert done.exit_code == 0 and f"kept {folder / 'slot-1'} (in use by a task)" in done.stderr
    assert not (folder / "slot-0").exists() and not empty.exists() and not probe.exists()
    # the free checkout's lock file goes too
    assert not (folder / "slot-0.lock").exists() and (folder / "slot-1.lock").exists()
    assert (folder / "slot-1" / "sim.py").is_file() and others.is_dir() and fresh.is_dir()
    held.close()
    assert cli("status", repo=swept).stdout.count("success") == 1  # the runs are untouched
