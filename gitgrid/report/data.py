"""The data behind the report's views, as JSON-ready values: one place for the file and the dashboard.

The self-contained report inlines all of it at once (:func:`report_data`); the dashboard hands out the
same pieces per request (home, one sweep, pages of points, series, one point, updates). Numbers that
JSON cannot hold (NaN, infinities) become null here, so the page never meets invalid JSON.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitgrid.errors import ReportError, excerpt
from gitgrid.git.repository import Repository
from gitgrid.layout import run_dir_problem
from gitgrid.query import views
from gitgrid.stages.every import stage_outputs
from gitgrid.store import EVERY, Store
from gitgrid.sweep.append import point_trailers
from gitgrid.sweep.catalog import list_points, summarize_params
from gitgrid.sweep.record import OPTIMIZE_TRAILERS, Sweep, trailer_number

__all__ = [
    "ViewOptions",
    "check_options",
    "finite",
    "home",
    "point_detail",
    "points",
    "report_data",
    "series",
    "shown_best",
    "sweep_info",
    "updates",
]


@dataclass(frozen=True)
class ViewOptions:
    """What the views show first, and how much of it a report carries."""

    metric: str | None = None  # default: the first metric of the sweep
    maximize: bool = False
    repeat_param: str | None = None  # points differing only in it are shown as mean and spread
    details: int = 500  # points whose diff, logs and meta a report carries
    series_points: int = 200  # steps per run and series drawn (first and last kept)
    series_runs: int = 2000  # runs whose series a report carries (the best first)
    run_dirs: bool = True  # read run directories (logs, meta.json, live series); False for a store
    # gitgrid did not write, whose paths are never followed (gitgrid.store.trust)


def check_options(
    options: ViewOptions, store: Store | None, sweeps: Sequence[Sweep], live: bool = False
) -> None:
    """Refuse options that would silently show something else: a negative ``details``, a
    ``repeat_param`` no sweep has, a ``metric`` none of their runs reported (``live``: the dashboard,
    where it may yet be)."""
    if options.details < 0:
        raise ReportError(f"--details {options.details}: give a number of points, 0 or more")
    if options.repeat_param is not None and not any(options.repeat_param in s.params for s in sweeps):
        params = sorted({p for s in sweeps for p in s.params})
        raise ReportError(
            f"--repeat-param {excerpt(options.repeat_param)}: no param of that name "
            f"(params: {excerpt(', '.join(params), 200)})"
        )
    if options.metric is not None and not live:
        known = list(dict.fromkeys(m for s in sweeps for m in views.metric_names(store, s.name)))
        if known and options.metric not in known:
            raise ReportError(
                f"--metric {excerpt(options.metric)}: no run reported it "
                f"(metrics: {excerpt(', '.join(known), 200)})"
            )


def shown_best(value: float | None) -> float | str | None:
    """A best value as the page shows it: an infinity as the text ``inf``/``-inf`` (JSON has no such
    number, and a blank would silently show the best of the rest as if it were the best)."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return None if value is None or math.isnan(value) else value


def finite(values: Sequence[Any]) -> list[Any]:
    """The values with NaN and infinities as None (JSON has no such numbers)."""
    return [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]


def home(
    repo: Repository, store: Store | None, sweeps: Sequence[Sweep], options: ViewOptions
) -> list[dict[str, Any]]:
    """Every sweep, newest first: date, base and its subject, points, states, best value, time spent."""
    subjects = repo.subjects([s.base for s in sweeps])
    rows = []
    for sweep in sweeps:
        seen = views.overview(store, sweep, options.maximize, durations=False)
        metric = _metric(seen.metrics, options)
        rows.append(
            {
                "name": sweep.name, "created": sweep.created, "base": sweep.base, "base_ref": sweep.base_ref,
                "base_subject": subjects.get(sweep.base, ""), "count": sweep.count,
                "params": list(sweep.params),
                "counts": seen.counts, "metric": metric, "best": shown_best(seen.best.get(metric or "")),
                "spent": seen.spent,
            }
        )  # fmt: skip
    return rows


def _metric(metrics: Sequence[str], options: ViewOptions) -> str | None:
    if options.metric is not None and options.metric in metrics:
        return options.metric
    return metrics[0] if metrics else None


def sweep_info(repo: Repository, store: Store | None, sweep: Sweep, options: ViewOptions) -> dict[str, Any]:
    """One sweep's summary: its record, counts, metrics, best values, durations, the spec, its series."""
    seen = views.overview(store, sweep, options.maximize)
    return {
        "name": sweep.name, "created": sweep.created, "base": sweep.base, "base_ref": sweep.base_ref,
        "base_subject": repo.subjects([sweep.base]).get(sweep.base, ""), "tip": sweep.tip,
        "count": sweep.count, "params": list(sweep.params), "log_params": _log_params(sweep),
        "spec": sweep.spec_text, "counts": seen.counts, "metrics": list(seen.metrics),
        "metric": _metric(seen.metrics, options), "maximize": options.maximize,
        "repeat_param": options.repeat_param if options.repeat_param in sweep.params else None,
        "best": {m: shown_best(v) for m, v in seen.best.items()}, "spent": seen.spent,
        "durations": seen.durations, "series_names": views.series_names(store, sweep.name),
        "optimize": _optimization(repo, sweep), "stages": _stages(store, sweep, options.run_dirs),
    }  # fmt: skip


def _stages(store: Store | None, sweep: Sweep, run_dirs: bool) -> list[dict[str, Any]]:
    """The sweep's stages (``gitgrid analyze``): name, command, and for a stage over every point the
    status of its latest run and the files it wrote, each with a ``file:`` link for the page. Files are
    listed only with ``run_dirs`` (a store gitgrid wrote) from the stage's own folder (#17)."""
    if store is None or not store.sweeps.has(sweep.name):
        return []
    found = []
    for stage in store.stages.of(sweep.name):
        latest = store.stages.latest_every(stage.records) if stage.every else None
        usable = (
            latest is not None and run_dirs and run_dir_problem(latest.run_dir, stage.records, EVERY) is None
        )
        folder = Path(latest.run_dir) if latest is not None and usable else None
        files = [folder / name for name in stage_outputs(folder)] if folder is not None else []
        found.append({
            "name": stage.stage, "every": stage.every, "command": list(stage.command),
            "status": latest.status if latest is not None else None,
            "outputs": [{"name": f.name, "path": str(f), "href": f.as_uri()} for f in files],
        })  # fmt: skip
    return found


def _optimization(repo: Repository, sweep: Sweep) -> dict[str, Any] | None:
    """For a sweep ``gitgrid optimize`` grows: its settings, answer, and each point's iteration and role
    (lists by point index), for the views of progress and of the path through parameter space."""
    if not sweep.optimize:
        return None
    iterations: list[int | None] = [None] * sweep.count
    roles: list[str | None] = [None] * sweep.count
    for index, _, _, (iteration, role) in point_trailers(repo, sweep, OPTIMIZE_TRAILERS):
        if index < sweep.count:
            iterations[index], roles[index] = trailer_number(iteration), role
    settings, answer = sweep.optimize.get("settings", {}), sweep.optimize.get("answer")
    return {"settings": settings, "answer": answer, "iteration": iterations, "role": roles}


def _log_params(sweep: Sweep) -> list[str]:
    """Params to draw on log axes: ``logspace`` ones, and positive values evenly spaced in log."""
    found = []
    for param in summarize_params(sweep, limit=1000):
        values = [v for v in param.values if isinstance(v, int | float) and not isinstance(v, bool)]
        if param.kind == "logspace" or _geometric(values):
            found.append(param.name)
    return found


def _geometric(values: list[float]) -> bool:
    values = sorted(set(values))
    if len(values) < 3 or values[0] <= 0 or values[-1] / values[0] < 100:
        return False
    ratios = [b / a for a, b in itertools.pairwise(values)]
    return max(ratios) / min(ratios) < 1.05


def points(
    repo: Repository,
    store: Store | None,
    sweep: Sweep,
    metrics: Sequence[str],
    after: int = -1,
    limit: int = 20000,
) -> dict[str, Any]:
    """One page of points as columns; a sweep that never ran has its points read from git."""
    if store is None or not store.sweeps.has(sweep.name):
        return _unrun(repo, sweep, after, limit)
    page = views.point_page(store, sweep, metrics, after, limit)
    return _columns(page)


def _columns(page: views.PointPage) -> dict[str, Any]:
    return {
        "columns": {**page.columns, "duration": finite(page.columns["duration"])},
        "params": {n: finite(v) for n, v in page.params.items()},
        "metrics": {n: finite(v) for n, v in page.metrics.items()},
        "after": page.after,
    }


def _unrun(repo: Repository, sweep: Sweep, after: int, limit: int) -> dict[str, Any]:
    chosen = [p for p in list_points(repo, sweep) if p.index > after][:limit]
    n = len(chosen)
    return {
        "columns": {
            "index": [p.index for p in chosen], "commit": [p.commit for p in chosen],
            "status": ["never run"] * n, "attempt": [None] * n, "duration": [None] * n, "run": [None] * n,
        },
        "params": {name: finite([p.params.get(name) for p in chosen]) for name in sweep.params},
        "metrics": {},
        "after": chosen[-1].index if n == limit and n else None,
    }  # fmt: skip


def series(
    store: Store | None, name: str, runs: Sequence[int], running: Sequence[int], options: ViewOptions
) -> dict[str, Any]:
    """The series ``name`` of ``runs`` (stored) and of the ``running`` runs (from their files)."""
    found = views.series_of(store, runs, name, options.series_points)
    if options.run_dirs:
        found.update(views.live_series(store, running, name, options.series_points))
    return {str(run): [steps, finite(values)] for run, (steps, values) in found.items()}


def updates(
    store: Store | None, sweep: Sweep, metrics: Sequence[str], after_run: int, watched: Sequence[int],
    series_name: str | None, options: ViewOptions,
) -> dict[str, Any]:  # fmt: skip
    """What changed since the cursor: points, the new cursor, the running runs, and their series."""
    page, cursor, running = views.changed_points(store, sweep, metrics, after_run, watched)
    out: dict[str, Any] = {"points": _columns(page), "cursor": cursor, "running": running}
    if series_name:
        changed = [r for r in page.columns["run"] if r is not None and r not in running]
        out["series"] = series(store, series_name, changed, running, options)
    return out


def point_detail(
    repo: Repository, store: Store | None, sweep: Sweep, index: int, options: ViewOptions
) -> dict[str, Any] | None:
    """One point: params, ``git diff`` against the base, its attempts, the shown run's logs, meta, series."""
    runs = views.point_runs(store, sweep.name, index)
    page = views.point_page(store, sweep, [], index - 1, 1)
    if page.columns["index"] == [index]:
        commit = page.columns["commit"][0]
        params = {n: v[0] for n, v in page.params.items()}
        shown = page.columns["run"][0]
    else:  # not in the store yet: read from git
        point = next((p for p in list_points(repo, sweep) if p.index == index), None)
        if point is None:
            return None
        commit, params, shown = point.commit, dict(point.params), None
    names = views.series_names(store, sweep.name)
    return _detail(repo, store, sweep, index, commit, params, runs, shown, names, options)


def _detail(
    repo: Repository, store: Store | None, sweep: Sweep, index: int, commit: str, params: dict[str, Any],
    runs: list[dict[str, Any]], shown: int | None, names: Sequence[str], options: ViewOptions,
    diff: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A point's detail; ``names`` are the sweep's series names (looked up once by the caller). Its run
    directory is read only when ``options.run_dirs`` and only if it is one of that point's."""
    run = next((r for r in runs if r["id"] == shown), runs[-1] if runs else None)
    found = {}
    if run is not None and (options.run_dirs or run["status"] != "running"):
        read = views.live_series if run["status"] == "running" else views.series_of
        found = {n: read(store, [run["id"]], n, 2000).get(run["id"]) for n in names}
    reading = run is not None and run["run_dir"] and options.run_dirs
    return {
        "index": index, "commit": commit, "params": {k: finite([v])[0] for k, v in params.items()},
        "diff": repo.diffs(sweep.base, [commit]).get(commit, "") if diff is None else diff,
        "runs": [{**r, "duration": finite([r["duration"]])[0]} for r in runs],
        "files": views.run_files(run["run_dir"], sweep.name, index) if run and reading else {},
        "series": {n: [s[0], finite(s[1])] for n, s in found.items() if s is not None},
    }  # fmt: skip


def report_data(
    repo: Repository, store: Store | None, sweeps: Sequence[Sweep], options: ViewOptions
) -> dict[str, Any]:
    """Everything the report file carries: the home rows and, per sweep, its summary, every point, the
    series (thinned) of up to ``options.series_runs`` runs and the details of up to ``options.details``
    points (the best first)."""
    out: dict[str, Any] = {"home": home(repo, store, sweeps, options), "sweeps": {}}
    for sweep in sweeps:
        info = sweep_info(repo, store, sweep, options)
        table = _all_points(repo, store, sweep, info["metrics"])
        order = _best_first(table, info["metric"], options)
        runs = [r for r in (table["columns"]["run"][k] for k in order) if r is not None][
            : options.series_runs
        ]
        info["points"] = table
        running = views.run_cursor(store, sweep.name)[1]
        info["series"] = {n: series(store, n, runs, running, options) for n in info["series_names"]}
        chosen = order[: options.details]
        info["details"] = _details(repo, store, sweep, table, chosen, info["series_names"], options)
        out["sweeps"][sweep.name] = info
    return out


def _all_points(
    repo: Repository, store: Store | None, sweep: Sweep, metrics: Sequence[str]
) -> dict[str, Any]:
    table = points(repo, store, sweep, metrics)
    while table["after"] is not None:
        page = points(repo, store, sweep, metrics, table["after"])
        for part in ("columns", "params", "metrics"):
            for name, values in page[part].items():
                table[part][name].extend(values)
        table["after"] = page["after"]
    return table


def _best_first(table: dict[str, Any], metric: str | None, options: ViewOptions) -> list[int]:
    """Positions of the points, the best by the metric first, then those without it in index order."""
    order = list(range(len(table["columns"]["index"])))
    if metric is not None:
        values = table["metrics"][metric]
        sign = -1 if options.maximize else 1
        order.sort(key=lambda k: (values[k] is None, sign * values[k] if values[k] is not None else 0))
    return order


def _details(
    repo: Repository, store: Store | None, sweep: Sweep, table: dict[str, Any], chosen: list[int],
    names: Sequence[str], options: ViewOptions,
) -> dict[str, Any]:  # fmt: skip
    """Details (diff, attempts, logs, meta, series) of the points at positions ``chosen``."""
    columns = table["columns"]
    diffs = repo.diffs(sweep.base, [columns["commit"][k] for k in chosen])
    out = {}
    for k in chosen:
        index, commit = columns["index"][k], columns["commit"][k]
        params = {n: v[k] for n, v in table["params"].items()}
        runs = views.point_runs(store, sweep.name, index)
        out[str(index)] = _detail(
            repo, store, sweep, index, commit, params, runs, columns["run"][k], names, options,
            diffs.get(commit, ""),
        )  # fmt: skip
    return out
