"""A stage's records are the sweep ``SWEEP:STAGE`` (issue 22): found by that name, never a sweep's."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitgrid import find_sweep, open_repository
from gitgrid.errors import SweepError
from gitgrid.sweep.names import name_problem
from gitgrid.sweep.stages import stage_problem, stage_records


def test_a_stages_records_are_found_by_sweep_and_stage(swept: Path) -> None:
    repo = open_repository(swept)
    sweep = find_sweep(repo)
    records = find_sweep(repo, f"{sweep.name}:spikes")
    assert records.name == f"{sweep.name}:spikes"
    assert (records.tip, records.base, records.count, records.params) == (
        sweep.tip, sweep.base, sweep.count, sweep.params,
    )  # fmt: skip
    assert find_sweep(repo, ":spikes") == records  # the newest sweep's
    assert name_problem(records.name) is not None  # git refuses ':': no sweep can be called so
    with pytest.raises(SweepError, match=r"--stage a\.b: a stage name is"):
        find_sweep(repo, f"{sweep.name}:a.b")
    with pytest.raises(SweepError, match=r"holds a stage's records already"):
        stage_records(records, "other")


@pytest.mark.parametrize("name", ["spikes", "isi_2", "x-y", "0th"])
def test_stage_names(name: str) -> None:
    assert stage_problem(name) is None


@pytest.mark.parametrize("name", ["", "a.b", "a/b", "-x", "a:b", "a b", "x" * 65, None])
def test_bad_stage_names(name: object) -> None:
    assert stage_problem(name) is not None
