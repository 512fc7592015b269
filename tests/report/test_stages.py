"""A stage's metrics and series in the report's and the dashboard's data (issue 22): ``STAGE.METRIC``
beside the sweep's metrics in every view, and ``STAGE.SERIES`` drawn as each point's own series."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from gitgrid import RunOptions, analyze, find_sweep, open_repository
from gitgrid.report.data import ViewOptions, point_detail, report_data
from gitgrid.store import Store
from tests.helpers import stage_repo


def test_a_stages_metrics_and_series_are_the_points(tmp_path: Path) -> None:
    root = stage_repo(tmp_path / "sim")
    analyze([sys.executable, "spikes.py"], repo=root, options=RunOptions(jobs=2))
    with open_repository(root) as repo:
        sweep = find_sweep(repo)
        store = Store.open(root / ".gitgrid/results.db", readonly=True)
        try:
            data = report_data(repo, store, [sweep], ViewOptions())["sweeps"][sweep.name]
            detail = point_detail(repo, store, sweep, 2, ViewOptions())
        finally:
            store.close()
    assert data["metrics"] == ["loss", "spikes.mean", "spikes.peak"]
    assert "spikes.count" in data["series_names"]
    means = data["points"]["metrics"]["spikes.mean"]
    traces = [np.load(p / "attempt-1/trace.npy") for p in sorted((root / ".gitgrid/runs").glob("*/0000*"))]
    assert means == [float(t.mean()) for t in traces]
    assert data["best"]["spikes.mean"] == min(means)
    runs = data["points"]["columns"]["run"]
    series = data["series"]["spikes.count"]
    assert sorted(series) == sorted(str(run) for run in runs)  # under each point's simulation run
    first = series[str(runs[0])]
    assert first[0] == [0, 1, 2] and first[1] == [float(c) for c in np.histogram(traces[0], 3, (-5, 5))[0]]
    assert detail is not None and detail["series"]["spikes.count"][0] == [0, 1, 2]
