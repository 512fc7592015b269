"""Benchmark of ``gitgrid report`` and ``gitgrid dashboard`` (issue 11), in headless Chromium.

Usage: python benchmarks/bench_report.py [--points 10000 100000] [--repeat 3] [--series-runs 1000]

For each size, a sweep of that many points (params a (log-spaced), b, c, seed) with two metrics is made
and its results stored (``--series-runs`` runs also get a 100-step series), then it prints, medians over
``--repeat``:
  * the report's size and the time to write it;
  * in Debian's chromium (Playwright, every non-local request blocked): the time to load the page (parse
    the inline plotly.js and data) and, separately, to render every view; the time to apply a brush on a
    parallel-coordinates axis, and a table filter, to every view. Goals: render under 2 s and filter
    under 300 ms at 10,000 points; render under 5 s at 100,000;
  * the dashboard's answer time for one update (nothing changed; one run finished) with the points in the
    store, against the baseline of reading the whole table (``gitgrid.results(include_all=True)``), which
    is what a refresh would cost without paged, cursor-based queries;
  * at the first size only, Plotly's own ``parcoords`` rendering the same points (the baseline of the
    page's canvas parallel coordinates).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from gitgrid import ViewOptions, create_sweep, find_sweep, open_repository, write_report
from gitgrid.layout import Layout
from gitgrid.query.tables import results  # not gitgrid.query: once imported, that is the subpackage
from gitgrid.report.server import Dashboard, make_server
from gitgrid.run.contract import Run
from gitgrid.store import Store, open_store
from gitgrid.sweep.catalog import list_points

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"]


def make_study(work: Path, points: int, series_runs: int) -> Path:
    repo = work / f"repo-{points}"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "master"], cwd=repo, check=True)
    (repo / "model.py").write_text("a = 0.0\nb = 0\nc = 0\nseed = 0\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "model"], cwd=repo, check=True)
    seeds = points // 1000
    spec = (
        "files: [model.py]\nparams:\n  a: {logspace: [-4, 0, 10]}\n  b: {range: [1, 10]}\n"
        f"  c: {{range: [1, 10]}}\n  seed: {{range: [1, {seeds}]}}\n"
    )
    (repo / "spec.yaml").write_text(spec)
    create_sweep(repo / "spec.yaml", repo)
    fill_store(repo, series_runs)
    return repo


def fill_store(repo: Path, series_runs: int) -> None:
    """Results for every point, stored through the store's own API (as collect would)."""
    opened = open_repository(repo)
    sweep = find_sweep(opened)
    layout, store = open_store(opened)
    points = list(list_points(opened, sweep))
    store.sweeps.sync(sweep, points)
    for k, point in enumerate(points):
        p = point.params
        loss = (float(p["b"]) - 5) ** 2 + float(p["c"]) * float(p["a"]) + float(p["seed"]) * 0.01
        run = Run(
            sweep.name, point.index, point.commit, 1, "success", str(layout.runs_root / f"r{k}"),
            params=p, started=1.0, ended=2.0 + k % 7, exit_code=0, metrics={"loss": loss, "rate": k % 13},
        )  # fmt: skip
        series = [("v", s, loss * s) for s in range(100)] if k < series_runs else []
        store.runs.ingest(run, series)
    store.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def in_browser(report: Path, repeat: int) -> dict[str, float]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        runs = [one_page(browser, report) for _ in range(repeat)]
        browser.close()
    return {key: median([r[key] for r in runs]) for key in runs[0]}


def one_page(browser: Any, report: Path) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    start = time.perf_counter()
    page.goto(report.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=600000)
    total = time.perf_counter() - start
    render = page.evaluate("window.gitgrid.timings.render") / 1000
    brush = act(page, lambda: drag(page, "p:b", -0.05, 0.5))
    table = act(page, lambda: page.fill("input[data-key='p:c']", ">= 5"))
    assert not errors, errors
    page.close()
    return {"load": total - render, "render": render, "brush": brush, "filter": table}


def act(page: Any, action: Any) -> float:
    """Seconds the page took to apply an action to every view (its own measure, from input to drawn)."""
    before = page.evaluate("document.body.dataset.renders")
    action()
    page.wait_for_function(f"document.body.dataset.renders !== '{before}'", timeout=600000)
    return float(page.evaluate("window.gitgrid.timings.render")) / 1000


def drag(page: Any, axis: str, top: float, bottom: float) -> None:
    canvas = page.locator("#parcoords-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x = box["x"] + {a["key"]: a["x"] for a in json.loads(canvas.get_attribute("data-axes"))}[axis]
    y0, y1 = float(canvas.get_attribute("data-top")), float(canvas.get_attribute("data-bottom"))
    page.mouse.move(x, box["y"] + y0 + top * (y1 - y0))
    page.mouse.down()
    page.mouse.move(x, box["y"] + y0 + bottom * (y1 - y0), steps=3)
    page.mouse.up()


def plotly_parcoords(report: Path, points: int) -> float:
    """The baseline: Plotly's own parcoords of the same columns, in the same page and browser."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(report.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=600000)
        seconds = page.evaluate(
            """async () => {
            const D = window.gitgrid.D, div = document.createElement("div");
            div.style.height = "320px"; document.body.prepend(div);
            const dims = [...D.params.map((p) => ({label: p, values: D.points.params[p]})),
                          {label: "loss", values: D.points.metrics.loss}];
            const t0 = performance.now();
            await Plotly.newPlot(div, [{type: "parcoords", dimensions: dims}]);
            await new Promise((r) => requestAnimationFrame(r));
            return (performance.now() - t0) / 1000;
        }"""
        )
        browser.close()
    return float(seconds)


def dashboard_updates(repo: Path, repeat: int) -> dict[str, float]:
    opened = open_repository(repo)
    sweep = find_sweep(opened)
    board = Dashboard(opened, ViewOptions())
    server = make_server(board, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api"

    def get(path: str) -> tuple[float, Any]:
        start = time.perf_counter()
        with urllib.request.urlopen(f"{url}/{path}", timeout=600) as answer:
            body = json.loads(answer.read())
        return time.perf_counter() - start, body

    _, info = get(f"sweep?name={sweep.name}")
    idle = [get(f"updates?sweep={sweep.name}&after={info['cursor']}&series=v")[0] for _ in range(repeat)]
    one = []
    store = Store.open(Layout.of(opened).store)
    for k in range(repeat):
        point = next(iter(list_points(opened, sweep)))
        run = Run(
            sweep.name, point.index, point.commit, 2 + k, "success", f"/nowhere/{k}", params=point.params,
            started=1.0, ended=2.0, exit_code=0, metrics={"loss": -1.0 - k, "rate": 0.0},
        )  # fmt: skip
        cursor = get(f"sweep?name={sweep.name}")[1]["cursor"]
        store.runs.ingest(run)
        seconds, body = get(f"updates?sweep={sweep.name}&after={cursor}&series=v")
        assert body["points"]["columns"]["index"] == [point.index], body["points"]["columns"]["index"]
        one.append(seconds)
    store.close()
    whole = []
    for _ in range(repeat):
        start = time.perf_counter()
        results(opened, include_all=True)
        whole.append(time.perf_counter() - start)
    server.shutdown()
    board.close()
    return {"idle": median(idle), "one": median(one), "whole": median(whole)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--series-runs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for n, points in enumerate(args.points):
            repo = make_study(Path(work), points, args.series_runs)
            report = Path(work) / f"report-{points}.html"
            writes = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                written = write_report(report, repo=repo)
                writes.append(time.perf_counter() - start)
            series = f"{args.series_runs} runs with a 100-step series"
            print(f"== {points} points ({series}), medians of {args.repeat}")
            print(f"report: {written.size / 1e6:.1f} MB, written in {median(writes):.2f} s")
            show(points, in_browser(report, args.repeat), dashboard_updates(repo, args.repeat))
            if n == 0:
                print(
                    f"baseline: Plotly parcoords of the same points: {plotly_parcoords(report, points):.2f} s"
                )
            sys.stdout.flush()


def show(points: int, page: dict[str, float], updates: dict[str, float]) -> None:
    render_goal, filter_goal = {10000: (2.0, 0.3), 100000: (5.0, None)}.get(points, (None, None))
    print(f"page load (parse plotly.js and data): {page['load']:.2f} s")
    print(
        f"render every view: {page['render']:.2f} s" + (f" (goal < {render_goal} s)" if render_goal else "")
    )
    for action in ("brush", "filter"):
        goal = f" (goal < {filter_goal * 1000:.0f} ms)" if filter_goal else ""
        print(f"{action} applied to every view: {page[action] * 1000:.0f} ms{goal}")
    idle, one, whole = (updates[k] * 1000 for k in ("idle", "one", "whole"))
    print(
        f"dashboard update: {idle:.1f} ms (nothing changed), {one:.1f} ms (one run ended); "
        f"baseline, the whole table read: {whole:.0f} ms (ratio {whole / one:.0f}x)"
    )


if __name__ == "__main__":
    main()
