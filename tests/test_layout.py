"""The disk layout refuses symlinks below the places it owns, and sweep names that would climb out (#9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitgrid import open_repository
from gitgrid.errors import RunError
from gitgrid.layout import Layout, check_no_symlink, point_dir, run_dir_problem, stage_all_dir
from gitgrid.run.locks import hold
from tests.helpers import make_repo


def test_a_runs_root_reached_through_a_symlink_is_the_users_choice(tmp_path: Path) -> None:
    repo = open_repository(make_repo(tmp_path / "r", {"a": "a\n"}))
    (tmp_path / "real").mkdir()
    (tmp_path / "scratch").symlink_to(tmp_path / "real")
    layout = Layout.of(repo, tmp_path / "scratch" / "runs")
    assert layout.sweep_runs("s").parent == layout.runs_root


def test_a_symlink_below_a_place_is_refused(tmp_path: Path) -> None:
    (tmp_path / "runs" / "s").mkdir(parents=True)
    (tmp_path / "runs" / "s" / "00001-abc1234").symlink_to(tmp_path)
    with pytest.raises(RunError, match=r"00001-abc1234 is a symlink"):
        point_dir(tmp_path / "runs", "s", 1, "abc1234", 10)
    check_no_symlink(tmp_path / "runs", tmp_path / "runs" / "s" / "new" / "deeper")  # absent parts are fine


@pytest.mark.parametrize("sweep", ["../escape", "a/../../b", "/abs", "", ".", "a\\b"])
def test_a_sweep_name_never_becomes_a_path_outside(tmp_path: Path, sweep: str) -> None:
    with pytest.raises(RunError, match=r"cannot name a folder of runs"):
        point_dir(tmp_path, sweep, 0, "abcdef1", 1)


@pytest.mark.parametrize("kind", ["sweep_lock", "optimize_lock"])
def test_a_lock_committed_as_a_symlink_is_refused_and_its_target_untouched(tmp_path: Path, kind: str) -> None:
    """A cloned repository may commit ``.gitgrid/locks/<name>.lock -> ~/somefile``: holding the lock
    would empty that file and write a pid into it."""
    victim = tmp_path / "precious.txt"
    victim.write_text("precious data")
    repo = open_repository(make_repo(tmp_path / "r", {"a": "a\n"}))
    layout = Layout.of(repo)
    layout.ensure()
    suffix = ".lock" if kind == "sweep_lock" else ".optimize.lock"
    (layout.locks / f"s{suffix}").symlink_to(victim)
    with pytest.raises(RunError, match=r"is a symlink"):
        getattr(layout, kind)("s")
    with pytest.raises(OSError), hold(layout.locks / f"s{suffix}"):  # the lock itself never follows one
        pass
    assert victim.read_text() == "precious data"


def test_a_stages_runs_go_below_its_sweeps_folder(tmp_path: Path) -> None:
    """The records of stage ``spikes`` of sweep ``grid`` (``grid:spikes``) keep their runs in
    ``grid/stages/spikes``, its ``--all`` runs in ``all`` there; a stage name never climbs out."""
    assert point_dir(tmp_path, "grid:spikes", 3, "abcdef123456789", 10) == (
        tmp_path / "grid/stages/spikes/00003-abcdef123456"
    )
    assert stage_all_dir(tmp_path, "grid:spikes") == tmp_path / "grid/stages/spikes/all"
    for stage in ("../x", "a/b", "", ".", "-x"):
        with pytest.raises(RunError, match=r"cannot name a folder of a stage's runs"):
            point_dir(tmp_path, f"grid:{stage}", 0, "abcdef1", 1)
    with pytest.raises(RunError, match=r"names no stage"):
        stage_all_dir(tmp_path, "grid")


def test_a_stage_over_every_points_folder_is_a_run_directory_of_its_records_only(tmp_path: Path) -> None:
    """A store's path to an ``analyze --all`` attempt is followed (its files listed, its stderr read)
    only when it is ``<sweep>/stages/<stage>/all/attempt-<n>`` of those records, with index -1 (#17)."""
    every = stage_all_dir(tmp_path, "grid:spikes") / "attempt-2"
    every.mkdir(parents=True)
    assert run_dir_problem(str(every), "grid:spikes", -1) is None
    assert run_dir_problem(str(every), "grid:rates", -1) is not None
    assert run_dir_problem(str(every), "grid:spikes", 0) is not None
    plain = tmp_path / "grid/all/attempt-1"  # a sweep's own folder named 'all' is no stage's
    plain.mkdir(parents=True)
    assert run_dir_problem(str(plain), "grid", -1) is not None
    outside = tmp_path.parent / "elsewhere"
    outside.mkdir(exist_ok=True)
    (every.parent / "attempt-3").symlink_to(outside)
    assert "symbolic link" in (run_dir_problem(str(every.parent / "attempt-3"), "grid:spikes", -1) or "")
