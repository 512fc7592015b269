"""gitgrid analyze --all (issue 22): one run with every point, given a manifest streamed from the store,
producing a figure the report links; run again only when the code or a point's inputs changed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gitgrid import RunOptions, analyze, open_repository, sweep_status
from gitgrid.report.data import ViewOptions, report_data
from gitgrid.store import Store
from tests.helpers import Watched, cli, stage_repo
from tests.report.test_browser import load

FIGURE = '''\
"""Test figure: a scatter of loss against spikes.mean, as SVG, from the manifest read line by line."""
import json, os
points = []
with open(os.environ["GITGRID_MANIFEST"]) as manifest:
    for line in manifest:
        row = json.loads(line)
        points.append((row["metrics"]["loss"], row["metrics"].get("spikes.mean", 0.0)))
dots = "".join(f'<circle cx="{x}" cy="{y * 10}" r="2"/>' for x, y in points)
open(os.path.join(os.environ["GITGRID_STAGE_DIR"], "figure.svg"), "w").write(f"<svg>{dots}</svg>")
json.dump({"points": len(points)}, open(os.environ["GITGRID_RESULT"], "w"))
assert "GITGRID_INDEX" not in os.environ and "GITGRID_RUN_DIR" not in os.environ
'''


def test_an_all_stage_makes_a_figure_the_report_links(tmp_path: Path) -> None:
    repo = stage_repo(tmp_path / "sim")
    analyze([sys.executable, "spikes.py"], repo=repo, options=RunOptions(jobs=2))
    (repo / "figure.py").write_text(FIGURE)
    made = cli("analyze", "--all", "--", sys.executable, "figure.py", repo=repo)
    assert made.exit_code == 0, made.output
    assert ":figure: 1 succeeded, 0 failed" in made.output
    (stage_dir,) = (repo / ".gitgrid/runs").glob("*/stages/figure/all/attempt-1")
    lines = [json.loads(line) for line in (stage_dir / "manifest.jsonl").read_text().splitlines()]
    assert [line["index"] for line in lines] == [0, 1, 2, 3]
    assert set(lines[0]) == {"index", "commit", "params", "run_dir", "attempt", "metrics"}
    assert set(lines[0]["metrics"]) == {"loss", "spikes.mean", "spikes.peak"}
    assert Path(lines[0]["run_dir"], "trace.npy").is_file()
    assert (stage_dir / "figure.svg").read_text().count("<circle") == 4

    status = sweep_status(repo)
    every = next(s for s in status.stages if s.stage.every)
    assert every.counts == {"current": 1} and every.outputs == ("figure.svg",)
    assert "wrote figure.svg in" in cli("status", repo=repo).output
    with open_repository(repo) as opened:
        store = Store.open(repo / ".gitgrid/results.db", readonly=True)
        try:
            data = report_data(opened, store, [status.sweep], ViewOptions())
        finally:
            store.close()
    (stage,) = [s for s in data["sweeps"][status.sweep.name]["stages"] if s["every"]]
    assert stage["outputs"] == [
        {
            "name": "figure.svg",
            "path": str(stage_dir / "figure.svg"),
            "href": (stage_dir / "figure.svg").as_uri(),
        }
    ]

    again = cli("analyze", "--all", "--", sys.executable, "figure.py", repo=repo)
    assert (
        ":figure: 0 succeeded, 0 failed, 0 timed out, 0 interrupted, 1 skipped (done before)" in again.output
    )
    (repo / "spikes.py").write_text((repo / "spikes.py").read_text().replace("SCALE = 1.0", "SCALE = 3.0"))
    analyze([sys.executable, "spikes.py"], repo=repo, options=RunOptions(jobs=2))  # the points' inputs change
    fresh = cli("analyze", "--all", "--", sys.executable, "figure.py", repo=repo)
    assert ":figure: 1 succeeded" in fresh.output
    assert (stage_dir.parent / "attempt-2/figure.svg").is_file()


def test_a_stage_name_runs_either_per_point_or_once(tmp_path: Path) -> None:
    repo = stage_repo(tmp_path / "sim")
    analyze([sys.executable, "spikes.py"], repo=repo, options=RunOptions(jobs=2))
    mixed = cli("analyze", "--all", "--stage", "spikes", "--", sys.executable, "spikes.py", repo=repo)
    assert mixed.exit_code == 2
    assert "stage spikes of" in mixed.output and "runs once per point" in mixed.output
    elsewhere = cli("analyze", "--all", "--on", "local-array", "--", sys.executable, "x.py", repo=repo)
    assert elsewhere.exit_code == 2 and "analyze --all runs here, once: give no --on" in elsewhere.output


def test_the_report_page_links_an_all_stages_figure(tmp_path: Path, browser: Any) -> None:
    """The figure an --all stage wrote is a link in the report's summary, drawn by the page in chromium."""
    repo = stage_repo(tmp_path / "sim")
    analyze([sys.executable, "spikes.py"], repo=repo, options=RunOptions(jobs=2))
    (repo / "figure.py").write_text(FIGURE)
    assert cli("analyze", "--all", "--", sys.executable, "figure.py", repo=repo).exit_code == 0
    (figure,) = (repo / ".gitgrid/runs").glob("*/stages/figure/all/attempt-1/figure.svg")
    report = tmp_path / "report.html"
    assert cli("report", "-o", str(report), repo=repo).exit_code == 0
    watched = Watched(browser.new_page())
    try:
        page = load(watched, report.as_uri())
        link = page.locator("#summary-stages a")
        assert link.count() == 1 and link.inner_text() == "figure.svg"
        assert link.get_attribute("href") == figure.as_uri()
        assert "stage figure:" in page.inner_text("#summary-stages")
        assert watched.errors == []
    finally:
        watched.page.close()
