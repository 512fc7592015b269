"""The report and the dashboard in a real headless Chromium (Debian's, driven by Playwright): every view
draws the right number of points, brushing and table filters reach every view, a row shows its diff, the
live page follows a running sweep without a reload, and XSS payloads stay text.

Every request that is not local is blocked and fails the test, as does any console or page error or any
dialog (an injected ``alert``). Screenshots of each view go to ``test-artefacts/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitgrid import create_sweep
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import (
    ARTEFACTS,
    SERIES_SIM,
    SPEC,
    XSS,
    XSS_METRIC,
    XSS_SUBJECT,
    Watched,
    cli,
    gitgrid_command,
    make_repo,
    sim,
)

VIEWS = ("home", "summary", "parcoords", "scatter", "heatmap", "series", "table", "compare")


@pytest.fixture(scope="module")
def report(studies: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("report") / "report.html"
    result = cli("report", "before", "after", "xss", "cube", "-o", str(output), repo=studies)
    assert result.exit_code == 0, result.output
    return output


@pytest.fixture
def opened(browser: Any) -> Iterator[Any]:
    """A fresh page, closed after the test, that fails the test on any error or non-local request."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watched = Watched(page)
    yield watched
    page.close()
    watched.check()


def load(watched: Watched, url: str) -> Any:
    page = watched.page
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    return page


def counts(page: Any) -> dict[str, int]:
    """What each view draws now, read from the page (and from Plotly's own data for the plots)."""
    return dict(
        page.evaluate(
            """() => {
        const n = (id, key) => Number(document.getElementById(id).dataset[key]);
        const markers = (id) => document.getElementById(id).data.filter((t) => t.mode === "markers")
            .reduce((s, t) => s + t.x.length, 0);
        const heat = document.getElementById("heatmap-plot").data[0].z.flat().filter((v) => v !== null).length;
        const runs = document.getElementById("series-plot").data.reduce((s, t) => s + t.x.filter((v) => v === null).length, 0);
        return {scatter: n("scatter-plot", "points"), scatter_markers: markers("scatter-plot"),
                heatmap: n("heatmap-plot", "points"), heatmap_cells: heat, parcoords: n("parcoords-canvas", "lines"),
                series: n("series-plot", "runs"), series_drawn: runs, table: n("table", "rows"),
                table_rows: document.querySelectorAll("#table-body tr").length};
    }"""
        )
    )


def screenshots(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    for view in VIEWS:
        page.locator(f"#{view}").screenshot(path=str(ARTEFACTS / f"{name}-{view}.png"))


def drag(page: Any, axis: str, top: float, bottom: float) -> None:
    """Drag on the parallel-coordinates axis ``axis`` from fraction ``top`` to ``bottom`` of its height."""
    canvas = page.locator("#parcoords-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    axes = {a["key"]: a["x"] for a in json.loads(canvas.get_attribute("data-axes"))}
    y0, y1 = float(canvas.get_attribute("data-top")), float(canvas.get_attribute("data-bottom"))
    x = box["x"] + axes[axis]
    page.mouse.move(x, box["y"] + y0 + top * (y1 - y0))
    page.mouse.down()
    page.mouse.move(x, box["y"] + y0 + bottom * (y1 - y0), steps=4)
    page.mouse.up()


def rendered(page: Any, before: str) -> None:
    page.wait_for_function(f"document.body.dataset.renders !== '{before}'", timeout=10000)


def test_every_view_of_the_report_draws_every_point(report: Path, opened: Watched) -> None:
    page = load(opened, f"{report.as_uri()}?sweep=before")
    assert counts(page) == {
        "scatter": 12, "scatter_markers": 12, "heatmap": 12, "heatmap_cells": 12, "parcoords": 12,
        "series": 12, "series_drawn": 12, "table": 12, "table_rows": 12,
    }  # fmt: skip
    assert page.locator("#home-body tr").count() == 4
    assert "success: 12" in page.locator("#summary-counts").inner_text()
    assert page.locator("#summary-best tr").count() == 1 + 5  # a header and the five best
    assert page.locator("#selection").inner_text() == "12 of 12 points"
    screenshots(page, "report")
    # the second sweep, point by point: the bug fix added 1 to every loss
    renders = page.evaluate("document.body.dataset.renders")
    page.select_option("#compare-with", "after")
    rendered(page, renders)
    assert page.locator("#compare-plot").get_attribute("data-points") == "12"
    differences = page.locator("#compare-body tr td:nth-child(5)").all_inner_texts()
    assert differences == ["1"] * 12
    page.locator("#compare").screenshot(path=str(ARTEFACTS / "report-compare.png"))
    # points that differ only in the repeat param: one marker each, the mean and the standard deviation
    renders = page.evaluate("document.body.dataset.renders")
    page.select_option("#repeat", "b")
    rendered(page, renders)
    means = page.evaluate(
        "document.getElementById('scatter-plot').data.map((t) => [t.x, t.y, t.error_y.array])"
    )
    assert means == [[[1.5, 2.5, 3.5], [37.5, 62.5, 87.5], pytest.approx([19.365, 32.275, 45.185], abs=1e-3)]]


def test_brushing_and_table_filters_reach_every_view(report: Path, opened: Watched) -> None:
    page = load(opened, f"{report.as_uri()}?sweep=before")
    renders = page.evaluate("document.body.dataset.renders")
    drag(page, "p:b", -0.05, 0.5)  # b from 25 up: 30 and 40, with each of 3 values of a
    rendered(page, renders)
    assert set(counts(page).values()) == {6}
    assert page.locator("#selection").inner_text() == "6 of 12 points"
    assert sorted({float(x) for x in page.locator("#table-body tr td:nth-child(3)").all_inner_texts()}) == [
        30,
        40,
    ]
    page.locator("#parcoords").screenshot(path=str(ARTEFACTS / "report-brushed.png"))
    renders = page.evaluate("document.body.dataset.renders")
    page.fill("input[data-key='p:a']", ">= 3")  # and a = 3.5 only
    rendered(page, renders)
    assert set(counts(page).values()) == {2}
    renders = page.evaluate("document.body.dataset.renders")
    drag(page, "p:b", 0.3, 0.3)  # a click on the axis clears its brush
    rendered(page, renders)
    assert set(counts(page).values()) == {4}
    renders = page.evaluate("document.body.dataset.renders")
    page.click("#clear")
    rendered(page, renders)
    assert set(counts(page).values()) == {12}
    # a sortable table: by loss, descending; the sorted column is marked with its direction (defect 10)
    page.click("#table-head th:has-text('loss')")
    page.wait_for_selector("#table-head th:has-text('loss ▲')")
    page.click("#table-head th:has-text('loss')")
    page.wait_for_selector("#table-head th:has-text('loss ▼')")
    assert page.locator("#table-head th:has-text('▲'), #table-head th:has-text('▼')").count() == 1
    assert page.locator("#table-body tr").first.get_attribute("data-index") == "11"


def test_a_row_opens_its_point_with_the_diff_logs_meta_and_series(report: Path, opened: Watched) -> None:
    page = load(opened, f"{report.as_uri()}?sweep=before")
    page.click("#table-body tr[data-index='5']")
    page.wait_for_selector("#detail-diff")
    diff = page.locator("#detail-diff").inner_text()
    assert diff.startswith("diff --git a/model.py b/model.py") and "+a = 2.5\n+b = 20" in diff
    assert page.locator("#detail-params").inner_text().split() == ["a", "2.5", "b", "20"]
    assert json.loads(page.locator("#detail-meta").text_content() or "")["params"] == {"a": 2.5, "b": 20}
    assert page.locator("#detail-series").get_attribute("data-traces") == "2"
    page.wait_for_function("document.getElementById('detail-series').data?.length === 2")
    page.locator("#detail").screenshot(path=str(ARTEFACTS / "report-point.png"))


def test_untrusted_text_stays_text(report: Path, opened: Watched) -> None:
    page = load(opened, f"{report.as_uri()}?sweep=xss")
    assert counts(page)["table"] == 4
    cells = page.locator("#table-body tr td:nth-child(2)").all_inner_texts()
    assert sorted(set(cells)) == sorted(XSS)
    assert page.locator("#table-head th", has_text=XSS_METRIC).count() == 1
    assert XSS_SUBJECT in page.locator("#home-body").inner_text()
    page.select_option("#scatter-x", "n")
    renders = page.evaluate("document.body.dataset.renders")
    page.select_option("#scatter-colour", "label")
    rendered(page, renders)
    legend = page.eval_on_selector_all(
        "#scatter-plot .legendtext", "nodes => nodes.map((n) => n.textContent)"
    )
    assert sorted(legend) == sorted(f"label={payload}" for payload in XSS)
    title = page.eval_on_selector_all("#scatter-plot .ytitle", "nodes => nodes.map((n) => n.textContent)")
    assert title == [XSS_METRIC]
    assert page.locator("#series-name option").all_inner_texts() == ["</script><script>alert(5)</script>"]
    page.click("#table-body tr[data-index='0']")
    page.wait_for_selector("#detail-stderr")
    assert page.locator("#detail-stderr").inner_text() == f"stderr says {XSS[0]}"
    assert (
        page.locator("img").count() == 0 and page.locator("body script").count() == 4
    )  # data, 2 packed, loader
    screenshots(page, "report-xss")


def test_a_heatmap_aggregates_the_other_params_or_fixes_them(report: Path, opened: Watched) -> None:
    page = load(opened, f"{report.as_uri()}?sweep=cube")
    assert (page.input_value("#heat-x"), page.input_value("#heat-y")) == ("a", "b")
    assert counts(page)["heatmap"] == 8 and counts(page)["heatmap_cells"] == 4  # c aggregated: 2 a cell
    z = page.evaluate("document.getElementById('heatmap-plot').data[0].z")
    assert z == [[16, 26], [31, 51]]  # the mean over c of a * b + 1 (the fixed sim), rows by b
    renders = page.evaluate("document.body.dataset.renders")
    page.select_option("#heat-fixed select[data-param='c']", "1")
    rendered(page, renders)
    assert counts(page)["heatmap"] == 4 and counts(page)["heatmap_cells"] == 4
    renders = page.evaluate("document.body.dataset.renders")
    page.select_option("#heat-agg", "count")
    rendered(page, renders)
    assert page.evaluate("document.getElementById('heatmap-plot').data[0].z") == [[1, 1], [1, 1]]
    page.locator("#heatmap").screenshot(path=str(ARTEFACTS / "report-heatmap-fixed.png"))


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A sweep whose first 4 points ran, and a dashboard serving its repository."""
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SERIES_SIM})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    run_sweep(sim(), repo=repo, options=RunOptions(jobs=2, where="a == 1.5"))
    server = subprocess.Popen(
        [*gitgrid_command(), "-C", str(repo), "dashboard", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert found is not None, line
    yield repo, found.group(0)
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=10) == 0


def test_the_dashboard_follows_a_running_sweep_without_a_reload(
    running: tuple[Path, str], opened: Watched
) -> None:
    repo, url = running
    page = load(opened, url)
    assert counts(page)["table"] == 12 and counts(page)["scatter"] == 4 and counts(page)["series"] == 4
    page.evaluate("window.notReloaded = true")
    unseen = "['optimize', 'compare'].map((id) => document.getElementById(id).dataset.draws)"
    drawn = page.evaluate(unseen)
    env = {**os.environ, "SIM_SERIES_PAUSE": "0.4", "STEPS": "12"}
    runner = subprocess.Popen(
        [*gitgrid_command(), "-C", str(repo), "run", "-j", "1", "--", *sim()], env=env, stderr=subprocess.PIPE
    )
    try:
        # a series point of the run under way, read from its file while it runs
        page.wait_for_function(
            """() => { const D = window.gitgrid.D, v = D.series.t || {};
                       return D.running.some((r) => (v[String(r)] || [[]])[0].length > 0)
                           && Number(document.getElementById("series-plot").dataset.runs) === 5; }""",
            timeout=15000,
        )
        assert counts(page)["scatter"] == 4  # drawn before that run has a result
        # then its result, once it ends
        page.wait_for_function(
            "Number(document.getElementById('scatter-plot').dataset.points) >= 5", timeout=15000
        )
        assert page.evaluate("window.notReloaded") is True
        assert page.evaluate(unseen) == drawn  # views showing nothing of these runs were not drawn again
        page.wait_for_function(  # the totals follow the views (asked after them, at most every 2 s)
            "Number(/success: (\\d+)/.exec(document.getElementById('summary-counts').innerText)?.[1]) >= 5",
            timeout=15000,
        )
        # a poll that brought only series values redraws the series view alone
        page.wait_for_function(
            "(window.gitgrid.timings.update?.redrawn || []).join() === 'series'", timeout=15000
        )
        screenshots(page, "dashboard")
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=30)


def test_a_keystroke_in_a_table_filter_waits_for_the_last_one(report: Path, opened: Watched) -> None:
    """Typing ">= 3" draws the views once, after the last key, not once per key."""
    page = load(opened, f"{report.as_uri()}#sweep=before")
    before = page.evaluate("document.body.dataset.renders")
    page.locator("input[data-key='p:a']").press_sequentially(">= 3", delay=30)
    rendered(page, before)
    page.wait_for_timeout(500)  # would a late keystroke draw again?
    assert int(page.evaluate("document.body.dataset.renders")) == int(before) + 1
    assert counts(page)["table"] == 4


def test_the_dashboard_shows_the_error_the_server_answers(running: tuple[Path, str], opened: Watched) -> None:
    """A damaged store is answered with {"error": ...} and a 5xx status: the page says so, and retries."""
    _, url = running
    page = load(opened, url)
    opened.page.route(
        "**/api/updates*",
        lambda route: route.fulfill(status=503, content_type="application/json",
                                    body=json.dumps({"error": "the results store is damaged"})),
    )  # fmt: skip
    page.wait_for_function("document.getElementById('live').classList.contains('error')", timeout=10000)
    assert "the results store is damaged (503)" in page.inner_text("#live")
    opened.errors[:] = [e for e in opened.errors if "503 (Service Unavailable)" not in e]  # the browser's own
