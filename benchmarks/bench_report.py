"""Benchmark of ``gitgrid report`` and ``gitgrid dashboard`` (issues 11 and 21), in headless Chromium.

Usage: python benchmarks/bench_report.py [--points 10000 100000] [--repeat 3] [--series-runs 1000]

For each size, a sweep of that many points (params a (log-spaced), b, c, seed) with two metrics is made
and its results stored (``--series-runs`` runs also get a 100-step series), and a second sweep of the same
grid (every loss 1 higher) to compare it with. It prints, medians over ``--repeat``:
  * the fixed part of a report (page, scripts, plotly.js; no data) and its load cost, for each way of
    carrying plotly.js: packed as deflate + base85 (what reports use), deflate + base64, and plain inline;
  * the report's size and the time to write it; the time to load it and to render every view;
  * measured to the painted frame (the next requestAnimationFrame after the views on screen are drawn,
    counted from the input event): a brush on a parallel-coordinates axis (goal < 200 ms at 10^4, < 500 ms
    at 10^5); each keystroke of a table filter (goal: never more than 100 ms) and the filter once applied;
    the compare view with the second sweep (goal < 2 s at 10^5); a live update of the dashboard after one
    run ends (goal < 100 ms at 10^4), with the views it redrew;
  * the dashboard's answer time for one update, against the baseline of reading the whole table
    (``gitgrid.results(include_all=True)``);
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
from gitgrid.report.page import render_page
from gitgrid.report.server import Dashboard, make_server
from gitgrid.run.contract import Run
from gitgrid.store import Store, open_store
from gitgrid.sweep.catalog import list_points

CHROMIUM = "/usr/bin/chromium"
LOCAL = ("file:", "data:", "blob:", "about:", "http://127.0.0.1")
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
    create_sweep(repo / "spec.yaml", repo, name="before")
    fill_store(repo, "before", series_runs)
    create_sweep(repo / "spec.yaml", repo, name="after")
    fill_store(repo, "after", 0, shift=1.0)
    return repo


def fill_store(repo: Path, name: str, series_runs: int, shift: float = 0.0) -> None:
    """Results for every point, stored through the store's own API (as collect would)."""
    opened = open_repository(repo)
    sweep = find_sweep(opened, name)
    layout, store = open_store(opened)
    points = list(list_points(opened, sweep))
    store.sweeps.sync(sweep, points)
    for k, point in enumerate(points):
        p = point.params
        loss = (float(p["b"]) - 5) ** 2 + float(p["c"]) * float(p["a"]) + float(p["seed"]) * 0.01 + shift
        run = Run(
            sweep.name, point.index, point.commit, 1, "success", str(layout.runs_root / f"{name}{k}"),
            params=p, started=1.0, ended=2.0 + k % 7, exit_code=0, metrics={"loss": loss, "rate": k % 13},
        )  # fmt: skip
        series = [("v", s, loss * s) for s in range(100)] if k < series_runs else []
        store.runs.ingest(run, series)
    store.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def open_page(browser: Any, url: str, errors: list[str]) -> tuple[Any, float]:
    """A page at ``url``, every non-local request blocked; seconds until it was ready (every view drawn)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(LOCAL) else r.abort())
    page.on("pageerror", lambda e: errors.append(str(e)))
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=600000)
    return page, time.perf_counter() - start


def in_browser(report: Path, repeat: int) -> dict[str, float]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        runs = [one_page(browser, report) for _ in range(repeat)]
        browser.close()
    return {key: median([r[key] for r in runs]) for key in runs[0]}


def one_page(browser: Any, report: Path) -> dict[str, float]:
    errors: list[str] = []
    page, total = open_page(browser, f"{report.as_uri()}#sweep=before", errors)
    render = page.evaluate("window.gitgrid.timings.render") / 1000
    brush = painted(page, lambda: drag(page, "p:b", -0.05, 0.5))
    keys = keystrokes(page, "input[data-key='p:c']", ">= 5")
    compare = painted(page, lambda: page.select_option("#compare-with", "after"), settle="renders")
    assert page.get_attribute("#compare-plot", "data-points") != "0"
    assert not errors, errors
    page.close()
    return {"load": total - render, "render": render, "brush": brush, **keys, "compare": compare}


def painted(page: Any, action: Any, settle: str = "painted") -> float:
    """Seconds from the input event to the frame painted once the views on screen were drawn (the
    page's own measure, ``timings.painted``); ``settle="renders"``: until every view was drawn."""
    before = page.evaluate(f"document.body.dataset.{settle}")
    action()
    page.wait_for_function(f"document.body.dataset.{settle} !== '{before}'", timeout=600000)
    page.wait_for_function("document.body.dataset.renders === document.body.dataset.painted", timeout=600000)
    key = "painted" if settle == "painted" else "render"
    return float(page.evaluate(f"window.gitgrid.timings.{key}")) / 1000


def keystrokes(page: Any, selector: str, text: str) -> dict[str, float]:
    """Each keystroke's time to its next painted frame, the longest task meanwhile, and the filter
    applied (painted) after the last key."""
    page.evaluate(
        """() => { const K = (window.keys = {frames: [], longest: 0});
            document.addEventListener("keydown", (e) => { const t = e.timeStamp;
                requestAnimationFrame(() => K.frames.push(performance.now() - t)); }, true);
            new PerformanceObserver((list) => {
                for (const e of list.getEntries()) K.longest = Math.max(K.longest, e.duration); })
                .observe({type: "longtask"}); }"""
    )
    applied = painted(page, lambda: page.locator(selector).press_sequentially(text, delay=60))
    found = page.evaluate("window.keys")
    return {"key": max(found["frames"]) / 1000, "longtask": found["longest"] / 1000, "filter": applied}


def load_costs(work: Path, repeat: int) -> dict[str, tuple[int, float, float]]:
    """For each way of carrying plotly.js: the fixed part's size, and the seconds to unpack and to
    evaluate the scripts in the page (an empty report, so nothing else counts)."""
    out = {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for packing in ("base85", "base64", "inline"):
            page_text = render_page({"home": []}, "fixed part", packing=packing)
            path = work / f"fixed-{packing}.html"
            path.write_text(page_text)
            times = []
            for _ in range(repeat):
                errors: list[str] = []
                page = browser.new_page()
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                start = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_function("typeof Plotly === 'object' && document.querySelector('header')")
                wall = time.perf_counter() - start
                unpack = page.evaluate("window.gitgridLoad ? window.gitgridLoad.decode : 0") / 1000
                times.append((wall, unpack))
                assert not errors, errors
                page.close()
            out[packing] = (
                len(page_text.encode()),
                median([t[1] for t in times]),
                median([t[0] for t in times]),
            )
        browser.close()
    return out


def live_update(repo: Path, repeat: int) -> dict[str, Any]:
    """The dashboard in chromium; one run ends (stored as collect would): the time from the poll's answer
    to the painted frame, and which views were drawn again."""
    opened = open_repository(repo)
    sweep = find_sweep(opened, "before")
    board = Dashboard(opened, ViewOptions())
    server = make_server(board, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/#sweep=before"
    store = Store.open(Layout.of(opened).store)
    point = next(iter(list_points(opened, sweep)))
    found = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        errors: list[str] = []
        page, _ = open_page(browser, url, errors)
        for k in range(repeat):
            run = Run(
                sweep.name, point.index, point.commit, 10 + k, "success", f"/nowhere/live{k}",
                params=point.params, started=1.0, ended=2.0, exit_code=0,
                metrics={"loss": -1.0 - k, "rate": 0.0},
            )  # fmt: skip
            before = page.evaluate("JSON.stringify(window.gitgrid.timings.update || null)")
            store.runs.ingest(run)
            page.wait_for_function(
                f"JSON.stringify(window.gitgrid.timings.update || null) !== {json.dumps(before)}",
                timeout=600000,
            )
            found.append(page.evaluate("window.gitgrid.timings.update"))
        assert not errors, errors
        browser.close()
    store.close()
    server.shutdown()
    board.close()
    return {
        "painted": median([f["painted"] for f in found]) / 1000,
        "all": median([f["all"] for f in found]) / 1000,
        "redrawn": found[-1]["redrawn"],
    }


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
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{report.as_uri()}#sweep=before")
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
    sweep = find_sweep(opened, "before")
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
        print("== the fixed part of a report (page, scripts, plotly.js), by how plotly.js is carried")
        for packing, (size, unpack, wall) in load_costs(Path(work), args.repeat).items():
            print(
                f"{packing}: {size / 1e6:.2f} MB, unpacked in {unpack * 1000:.0f} ms, loaded in {wall:.2f} s"
            )
        for n, points in enumerate(args.points):
            repo = make_study(Path(work), points, args.series_runs)
            report = Path(work) / f"report-{points}.html"
            writes = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                written = write_report(report, ["before", "after"], repo=repo)
                writes.append(time.perf_counter() - start)
            series = f"{args.series_runs} runs with a 100-step series"
            print(f"== {points} points ({series}), two sweeps, medians of {args.repeat}")
            print(f"report: {written.size / 1e6:.1f} MB, written in {median(writes):.2f} s")
            show(points, in_browser(report, args.repeat), dashboard_updates(repo, args.repeat))
            show_live(points, live_update(repo, args.repeat))
            if n == 0:
                print(
                    f"baseline: Plotly parcoords of the same points: {plotly_parcoords(report, points):.2f} s"
                )
            sys.stdout.flush()


GOALS = {10000: {"brush": 0.2, "key": 0.1, "live": 0.1}, 100000: {"brush": 0.5, "key": 0.1, "compare": 2.0}}


def goal(points: int, key: str) -> str:
    value = GOALS.get(points, {}).get(key)
    return f" (goal < {value * 1000:.0f} ms)" if value else ""


def show(points: int, page: dict[str, float], updates: dict[str, float]) -> None:
    print(f"page load (unpack and parse plotly.js, read the data): {page['load']:.2f} s")
    print(f"render every view: {page['render']:.2f} s")
    print(f"brush, to the painted frame: {page['brush'] * 1000:.0f} ms{goal(points, 'brush')}")
    print(
        f"table filter: slowest keystroke to its frame {page['key'] * 1000:.0f} ms{goal(points, 'key')}, "
        f"longest task {page['longtask'] * 1000:.0f} ms, applied (painted) {page['filter'] * 1000:.0f} ms"
    )
    print(
        f"compare with the second sweep, every view drawn: {page['compare'] * 1000:.0f} ms"
        + goal(points, "compare")
    )
    idle, one, whole = (updates[k] * 1000 for k in ("idle", "one", "whole"))
    print(
        f"dashboard update: {idle:.1f} ms (nothing changed), {one:.1f} ms (one run ended); "
        f"baseline, the whole table read: {whole:.0f} ms (ratio {whole / one:.0f}x)"
    )


def show_live(points: int, live: dict[str, Any]) -> None:
    print(
        f"live update (one run ended), answer to painted frame: {live['painted'] * 1000:.0f} ms"
        f"{goal(points, 'live')}, "
        f"every changed view drawn: {live['all'] * 1000:.0f} ms; redrawn: {', '.join(live['redrawn'])}"
    )


if __name__ == "__main__":
    main()
