"""Benchmark of ``gitgrid report`` and ``gitgrid dashboard`` (issues 11 and 21), in headless Chromium.

Usage: python benchmarks/bench_report.py [--points N ...] [--repeat 3] [--series-runs N] [--baseline REF]

For each size, a sweep of that many points (params a (log-spaced), b, c, seed) with two metrics is made
and its results stored (``--series-runs`` runs also get a 100-step series), and a second sweep of the same
grid (every loss 1 higher) to compare it with. The same data are opened in this page and in the page as
``--baseline`` (a git ref, default ``main``) wrote it (its ``static/app.js`` and ``app.css``), fresh pages
taken in turn, and both are timed the same way from outside, by a script Playwright adds to each page: from
the input event (or, for a live update, from the dashboard's answer arriving) to the first frame painted
once the views on screen were drawn (``data-painted``; the old page draws every view first) and to every
view drawn (``data-renders``). It prints medians over ``--repeat`` and the load average of the machine:
  * the fixed part of a report (page, scripts, plotly.js; no data) and its load cost, for each way of
    carrying plotly.js: packed as deflate + base85 (what reports use), deflate + base64, and plain inline;
  * the report's size and the time to write it; the time to open it with every view drawn;
  * a brush on a parallel-coordinates axis (goal < 200 ms at 10^4, < 500 ms at 10^5 to the painted frame);
    each keystroke of a table filter to its next frame (goal: never more than 100 ms), the longest task
    meanwhile, and the filter once applied; the compare view with the second sweep (goal < 2 s at 10^5,
    every view drawn); a live update of the dashboard after one run ends (goal < 100 ms at 10^4), with the
    views it redrew;
  * the dashboard's answer time for one update, against reading the whole table (``gitgrid.results``);
  * at the first size only, Plotly's own ``parcoords`` of the same points (the page's canvas's baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from gitgrid import ViewOptions, create_sweep, find_sweep, open_repository, write_report
from gitgrid.layout import Layout
from gitgrid.query.tables import results  # not gitgrid.query: once imported, that is the subpackage
from gitgrid.report.assets import plotly_js
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
        loss = loss_of(p) + shift
        run = Run(
            sweep.name, point.index, point.commit, 1, "success", str(layout.runs_root / f"{name}{k}"),
            params=p, started=1.0, ended=2.0 + k % 7, exit_code=0, metrics={"loss": loss, "rate": k % 13},
        )  # fmt: skip
        series = [("v", s, loss * s) for s in range(100)] if k < series_runs else []
        store.runs.ingest(run, series)
    store.close()


def loss_of(p: Mapping[str, Any]) -> float:
    return (float(p["b"]) - 5) ** 2 + float(p["c"]) * float(p["a"]) + float(p["seed"]) * 0.01


median = statistics.median


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


# Added to every page before its own scripts: the input event's time, the dashboard answer's arrival, and
# when the page marks a frame painted (data-painted) or every view drawn (data-renders); each keystroke's
# next frame and the longest task. The same for this page and the old one, which has only data-renders.
INSTRUMENT = """(() => {
  const M = (window.bench = { event: 0, answered: 0, last: 0, marks: {}, keys: [], longest: 0 });
  const start = (e) => { M.event = e.timeStamp; M.marks = {}; };
  for (const type of ["mouseup", "keydown", "change"]) addEventListener(type, start, true);
  addEventListener("keydown", (e) => {
    requestAnimationFrame(() => M.keys.push(performance.now() - e.timeStamp));
  }, true);
  const get = window.fetch;
  window.fetch = async (...args) => {
    const answer = await get(...args);
    if (String(args[0]).startsWith("api/updates")) M.answered = performance.now();
    return answer;
  };
  new MutationObserver((records) => {
    M.last = performance.now();
    const at = { event: M.last - M.event, answer: M.last - M.answered };
    for (const r of records) M.marks[r.attributeName] = { first: at, ...M.marks[r.attributeName], last: at };
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-painted", "data-renders"]});
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) M.longest = Math.max(M.longest, e.duration);
  }).observe({ type: "longtask" });
})();"""
SETTLED = "() => 'data-renders' in window.bench.marks && performance.now() - window.bench.last > 600"
DATA = re.compile(r'<script type="application/json" id="gitgrid-data">.*?</script>', re.S)


def data_block(page: str) -> str:
    """The page's data, as the ``<script>`` element that carries it."""
    found = DATA.search(page)
    assert found is not None, "no data block in the page"
    return found.group(0)


def old_page(ref: str, data: str) -> str | None:
    """The page as ``ref`` wrote it (plotly.js and its app.js inline, no CSP) around the same data block;
    None if ``ref`` has no ``static/app.js`` (or this is not a git checkout)."""
    root = Path(__file__).resolve().parents[1]
    files = []
    for name in ("app.js", "app.css"):
        path = f"{ref}:gitgrid/report/static/{name}"
        shown = subprocess.run(["git", "show", path], cwd=root, capture_output=True, text=True, check=False)
        if shown.returncode != 0:
            return None
        files.append(shown.stdout)
    script, style = files
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n"
        f"<title>{ref}</title>\n<style>{style}</style></head>\n<body>\n{data}\n"
        f"<script>{plotly_js()}</script>\n<script>{script}</script>\n</body></html>\n"
    )


def new_page(browser: Any, errors: list[str]) -> Any:
    """A page with the instrument, every non-local request blocked, errors collected."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(INSTRUMENT)
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(LOCAL) else r.abort())
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def ready(page: Any, url: str) -> float:
    start = time.perf_counter()
    page.goto(url, timeout=600000, wait_until="commit")
    page.wait_for_selector("body[data-ready='1']", timeout=600000)
    return time.perf_counter() - start


def act(page: Any, action: Any, errors: list[str], since: str = "event") -> dict[str, float] | str:
    """Do ``action`` and wait until the page settled: seconds from the input event to the last painted
    frame and the last time every view was drawn (the old page draws once per keystroke); with
    ``since="answer"``, from the dashboard's answer to the first of each (later ones are the totals
    the page asks for after). Or what went wrong (the old page throws at 10^5 points in its compare)."""
    action()
    deadline = time.perf_counter() + 300
    while not page.evaluate(SETTLED):
        if errors or time.perf_counter() > deadline:
            return f"failed: {errors[-1] if errors else 'no frame'}"[:70]
        page.wait_for_timeout(100)
    marks = page.evaluate("window.bench.marks")
    which = "first" if since == "answer" else "last"
    painted, every = marks.get("data-painted", marks["data-renders"])[which], marks["data-renders"][which]
    return {"painted": painted[since] / 1000, "all": every[since] / 1000}


def one_page(browser: Any, url: str) -> dict[str, Any]:
    errors: list[str] = []
    page = new_page(browser, errors)
    found: dict[str, Any] = {"open": ready(page, url)}
    found["brush"] = act(page, lambda: drag(page, "p:b", -0.05, 0.5), errors)
    page.evaluate("window.bench.keys = []; window.bench.longest = 0")
    box = page.locator("input[data-key='p:c']")
    typed = act(page, lambda: box.press_sequentially(">= 5", delay=60), errors)
    keys = page.evaluate("window.bench")
    found.update(key=max(keys["keys"]) / 1000, longtask=keys["longest"] / 1000, filter=typed)
    found["compare"] = act(page, lambda: page.select_option("#compare-with", "after"), errors)
    page.close()
    return found


def in_browser(pages: dict[str, str], repeat: int) -> dict[str, dict[str, Any]]:
    """Each page opened ``repeat`` times, fresh, the pages taken in turn (so both see the same load)."""
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in pages}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for _ in range(repeat):
            for kind, url in pages.items():
                runs[kind].append(one_page(browser, url))
        browser.close()
    return {kind: medians(found) for kind, found in runs.items()}


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure, the median over runs (of each part of a timed action); a failure is kept as text."""
    out: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [r[key] for r in runs]
        failed = [v for v in values if isinstance(v, str)]
        if failed:
            out[key] = failed[0]
        elif isinstance(first, dict):
            out[key] = {part: median([v[part] for v in values]) for part in first}
        else:
            out[key] = median(values)
    return out


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


def live_update(repo: Path, repeat: int, old: str | None) -> dict[str, dict[str, Any]]:
    """The dashboard in chromium, this page and the old one in turn; one run ends (stored as collect
    would): from the answer that brings it to the painted frame and to every changed view drawn."""
    opened = open_repository(repo)
    sweep = find_sweep(opened, "before")
    board = Dashboard(opened, ViewOptions())
    server = make_server(board, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}/"
    store = Store.open(Layout.of(opened).store)
    point = next(iter(list_points(opened, sweep)))
    pages = {"new": None, "old": old.replace(data_block(old), DATA_LIVE) if old else None}
    out: dict[str, dict[str, Any]] = {}
    attempt = store.runs.attempts(sweep.name, [point.index]).get(point.index, 1)  # (kept study: used)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for kind, html in pages.items():
            if kind == "old" and html is None:
                continue
            errors: list[str] = []
            page = new_page(browser, errors)
            if html:
                page.route(lambda url: url.startswith(f"{root}?"), serve(html))
            ready(page, f"{root}?sweep=before#sweep=before")
            found = []
            for _ in range(repeat):
                attempt += 1
                run = Run(
                    sweep.name, point.index, point.commit, attempt, "success", f"/nowhere/live{attempt}",
                    params=point.params, started=1.0, ended=2.0, exit_code=0,
                    metrics={"loss": loss_of(point.params) + attempt * 1e-3, "rate": 0.0},
                )  # fmt: skip
                page.evaluate("window.bench.marks = {}")  # (a kept study stays near as it was made)
                result = act(page, lambda run=run: store.runs.ingest(run), errors, since="answer")
                found.append(result)
            redrawn = page.evaluate("window.gitgrid.timings.update?.views || null")
            out[kind] = {**medians([{"live": f} for f in found]), "redrawn": redrawn}
            page.close()
        browser.close()
    store.close()
    server.shutdown()
    server.server_close()  # waits for requests still being answered, before the store closes
    board.close()
    return out


def serve(html: str) -> Any:  # a route handler answering the old page in place of the dashboard's own
    return lambda route: route.fulfill(body=html, content_type="text/html")


DATA_LIVE = '<script type="application/json" id="gitgrid-data">{"live":true}</script>'


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
    point = next(iter(list_points(opened, sweep)))
    last = store.runs.attempts(sweep.name, [point.index]).get(point.index, 1)  # (a kept study: timed before)
    for attempt in range(last + 1, last + 1 + repeat):
        run = Run(
            sweep.name, point.index, point.commit, attempt, "success", f"/nowhere/{attempt}",
            params=point.params, started=1.0, ended=2.0, exit_code=0,
            metrics={"loss": loss_of(point.params) + attempt * 1e-3, "rate": 0.0},
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
    server.server_close()  # waits for requests still being answered, before the store closes
    board.close()
    return {"idle": median(idle), "one": median(one), "whole": median(whole)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--series-runs", type=int, default=1000)
    parser.add_argument("--baseline", default="main", help="the git ref whose page is timed beside this one")
    parser.add_argument("--keep", type=Path, help="a folder to keep the studies in, and reuse them from")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = args.keep or Path(temporary)
        work.mkdir(exist_ok=True)
        print("== the fixed part of a report (page, scripts, plotly.js), by how plotly.js is carried")
        for packing, (size, unpack, wall) in load_costs(work, args.repeat).items():
            print(
                f"{packing}: {size / 1e6:.2f} MB, unpacked in {unpack * 1000:.0f} ms, loaded in {wall:.2f} s"
            )
        for n, points in enumerate(args.points):
            one_size(work, points, args, n == 0)


def one_size(work: Path, points: int, args: argparse.Namespace, first: bool) -> None:
    repo = work / f"repo-{points}"
    if not repo.exists():
        make_study(work, points, args.series_runs)
    report = work / f"report-{points}.html"
    writes = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        written = write_report(report, ["before", "after"], repo=repo)
        writes.append(time.perf_counter() - start)
    old = old_page(args.baseline, data_block(report.read_text()))
    pages = {"new": f"{report.as_uri()}?sweep=before#sweep=before"}  # the old page reads ?sweep=
    if old:
        (work / f"old-{points}.html").write_text(old)
        pages["old"] = f"{(work / f'old-{points}.html').as_uri()}?sweep=before"
    load = os.getloadavg()[0]
    series = f"{args.series_runs} runs with a 100-step series"
    print(f"== {points} points ({series}), two sweeps, medians of {args.repeat}")
    print(f"report: {written.size / 1e6:.1f} MB, written in {median(writes):.2f} s")
    found = in_browser(pages, args.repeat)
    live = live_update(repo, args.repeat, old)
    for kind in found:
        found[kind].update(live.get(kind, {}))
    print(f"load average (1 min) {load:.1f} before the pages, {os.getloadavg()[0]:.1f} after")
    show(points, found, args.baseline if old else "")
    updates = dashboard_updates(repo, args.repeat)
    idle, one, whole = (updates[k] * 1000 for k in ("idle", "one", "whole"))
    print(
        f"dashboard update: {idle:.1f} ms (nothing changed), {one:.1f} ms (one run ended); "
        f"baseline, the whole table read: {whole:.0f} ms (ratio {whole / one:.0f}x)"
    )
    if first:
        print(f"baseline: Plotly parcoords of the same points: {plotly_parcoords(report, points):.2f} s")
    sys.stdout.flush()


GOALS = {  # (figure, part): seconds
    10000: {("brush", "painted"): 0.2, ("key", None): 0.1, ("live", "painted"): 0.1},
    100000: {("brush", "painted"): 0.5, ("key", None): 0.1, ("compare", "all"): 2.0},
}
ROWS = [  # (label, figure, part of a timed action)
    ("open the report, every view drawn", "open", None),
    ("brush, to the painted frame", "brush", "painted"),
    ("brush, every view drawn", "brush", "all"),
    ("table filter: slowest keystroke to its frame", "key", None),
    ("table filter: longest task while typing", "longtask", None),
    ("table filter applied, painted (from the last key)", "filter", "painted"),
    ("compare with the second sweep, painted", "compare", "painted"),
    ("compare with the second sweep, every view drawn", "compare", "all"),
    ("live update (one run ended), answer to painted frame", "live", "painted"),
    ("live update, every changed view drawn", "live", "all"),
]


def cell(value: Any, part: str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    seconds = value[part] if part else value
    return f"{seconds:.2f} s" if seconds >= 10 else f"{seconds * 1000:.0f} ms"


def show(points: int, found: dict[str, dict[str, Any]], baseline: str) -> None:
    old = found.get("old", {})
    print(f"{'figure':54} {'this page':>10}  {'old page (' + baseline + ')' if baseline else '':>22}  goal")
    for label, key, part in ROWS:
        limit = GOALS.get(points, {}).get((key, part))
        line = f"{label:54} {cell(found['new'].get(key), part):>10}  {cell(old.get(key), part):>22}"
        print(line + (f"  < {limit * 1000:.0f} ms" if limit else ""))
    views = found["new"].get("redrawn") or {}  # the last update's views, each with the ms it took to draw
    print(
        "views the live update redrew (this page):", ", ".join(f"{v} {ms:.0f} ms" for v, ms in views.items())
    )


if __name__ == "__main__":
    main()
