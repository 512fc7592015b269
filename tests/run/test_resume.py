"""A resume never hides failures: points skipped because they failed before are counted apart from those
done before, and make the exit status 1 until they succeed (#16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import cli, sim

ALL = ",".join(str(i) for i in range(12))


def test_a_resume_after_every_point_failed_says_so_and_exits_1(
    swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test of record: 12 points failed; the corrected command, run again, printed '12 skipped (done
    before)' and exited 0."""
    monkeypatch.setenv("SIM_FAIL", ALL)
    failed = cli("run", "-j", "2", "--", *sim(), repo=swept)
    assert failed.exit_code == 1
    monkeypatch.delenv("SIM_FAIL")
    again = cli("run", "-j", "2", "--", *sim(), repo=swept)
    name = again.stderr.split(":")[0]
    assert again.stderr.splitlines() == [
        f"{name}: 0 succeeded, 0 failed, 0 timed out, 0 interrupted, 0 skipped (done before), "
        "12 skipped (failed before: --retry-failed runs them)"
    ]
    assert again.exit_code == 1
    retried = cli("run", "-j", "2", "--retry-failed", "--", *sim(), repo=swept)
    assert retried.stderr.splitlines() == [
        f"{name}: 12 succeeded, 0 failed, 0 timed out, 0 interrupted, 0 skipped (done before)"
    ]
    assert retried.exit_code == 0
    done = cli("run", "-j", "2", "--", *sim(), repo=swept)
    assert (done.exit_code, done.stderr.splitlines()) == (
        0, [f"{name}: 0 succeeded, 0 failed, 0 timed out, 0 interrupted, 12 skipped (done before)"],
    )  # fmt: skip


def test_skipped_points_are_counted_by_why(swept: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Done before, failed before and timed out before, with --where choosing among them; the library's
    RunState carries the counts the CLI prints."""
    monkeypatch.setenv("SIM_FAIL", "3,7")
    monkeypatch.setenv("SIM_HANG", "5")
    first = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, timeout=2))
    assert (first.state.succeeded, first.state.failed, first.state.timed_out) == (9, 2, 1)
    monkeypatch.delenv("SIM_FAIL")
    monkeypatch.delenv("SIM_HANG")
    again = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    state = again.state
    assert (state.total, state.skipped, state.done_before, state.failed_before, state.underway) == (
        0, 12, 9, 3, 0,
    )  # fmt: skip
    assert again.exit_code == 1
    chosen = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="b != 40"))  # 3 and 7 have b=40
    assert (chosen.state.done_before, chosen.state.failed_before, chosen.exit_code) == (8, 1, 1)
    only_done = run_sweep(sim(), repo=swept, options=RunOptions(where="b == 10"))
    assert (only_done.state.done_before, only_done.state.failed_before, only_done.exit_code) == (3, 0, 0)


def test_an_interrupted_rerun_counts_what_it_already_did(
    swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finishing a rerun skips what the rerun already ran, by how it ended in that rerun."""
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    monkeypatch.setenv("SIM_FAIL", "1")
    rerun = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, rerun=True, where="a == 1.5"))
    assert (rerun.state.succeeded, rerun.state.failed, rerun.state.skipped) == (3, 1, 0)
    monkeypatch.delenv("SIM_FAIL")
    rest = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, rerun=True))  # finishes that rerun
    state = rest.state
    assert (state.succeeded, state.done_before, state.failed_before, rest.exit_code) == (8, 3, 1, 1)
