"""gitgrid: turn a parameter study into git history.

A *spec* describes a *space* of *points* (param values); ``create_sweep`` writes one commit per point on a
new branch (the *sweep*); ``list_points`` reads them back; ``run_sweep`` runs a command per point here (and
``get_launcher(name).launch`` anywhere else: array jobs, Dask) and ``results`` reads what they reported;
``analyze`` runs an analysis of the finished runs as a stage of its own; ``optimize_sweep`` and ``spsa``
choose points instead of gridding them. The vocabulary is defined in
``docs/concepts.md``, the layout of the package in ``docs/architecture.md``. What ``__all__`` lists is
the public API; the modules of the subpackages are internal.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gitgrid._version import __version__
from gitgrid.errors import (
    GitFailure,
    GitgridError,
    GitgridWarning,
    OptimizeError,
    RepoError,
    ReportError,
    RewriteError,
    RunError,
    SpecError,
    StoreError,
    SubmitError,
    SweepError,
    SyncError,
    WorkerLost,
)

if TYPE_CHECKING:
    from gitgrid.cluster.clean import Cleaned, clean
    from gitgrid.git.repository import Repository, open_repository
    from gitgrid.launch.launcher import Launch, Launcher, LaunchSettings
    from gitgrid.launch.registry import cancel_sweep, get_launcher
    from gitgrid.optimize.minimize import minimize, spsa
    from gitgrid.optimize.session import OptimizeOptions, OptimizeSummary, optimize_sweep
    from gitgrid.optimize.sharded import Sharded
    from gitgrid.query.status import Status, sweep_status
    from gitgrid.query.tables import ResultStream, ResultTable, results, results_frame, stream_results
    from gitgrid.report.data import ViewOptions
    from gitgrid.report.write import Report, write_report
    from gitgrid.run.collect import Collected, collect_runs, rebuild_store
    from gitgrid.run.prepare import Prepared, prepare_point
    from gitgrid.run.runner import RunOptions, RunState, RunSummary, run_sweep
    from gitgrid.run.series import Series, read_series
    from gitgrid.share.sync import Pulled, Pushed, pull_results, push_results
    from gitgrid.spec.model import Spec
    from gitgrid.spec.reader import load_spec, parse_spec
    from gitgrid.spec.space import Point, Space
    from gitgrid.stages.analyze import StageOptions, analyze
    from gitgrid.sweep.catalog import find_sweep, list_commits, list_points, list_sweeps, summarize_params
    from gitgrid.sweep.create import Plan, Preview, create_sweep, plan_sweep, preview_sweep, write_sweep
    from gitgrid.sweep.record import PointRecord, Sweep

# The API is loaded on first use (PEP 562): ``gitgrid list`` should not pay for Jinja, YAML and GitPython.
_LAZY = {
    **dict.fromkeys(["Cleaned", "clean"], "cluster.clean"),
    **dict.fromkeys(["Repository", "open_repository"], "git.repository"),
    **dict.fromkeys(["Launch", "LaunchSettings", "Launcher"], "launch.launcher"),
    **dict.fromkeys(["cancel_sweep", "get_launcher"], "launch.registry"),
    **dict.fromkeys(["minimize", "spsa"], "optimize.minimize"),
    **dict.fromkeys(["OptimizeOptions", "OptimizeSummary", "optimize_sweep"], "optimize.session"),
    **dict.fromkeys(["Sharded"], "optimize.sharded"),
    **dict.fromkeys(["ViewOptions"], "report.data"),
    **dict.fromkeys(["Report", "write_report"], "report.write"),
    **dict.fromkeys(
        ["ResultStream", "ResultTable", "results", "results_frame", "stream_results"], "query.tables"
    ),
    **dict.fromkeys(["Status", "sweep_status"], "query.status"),
    **dict.fromkeys(["Collected", "collect_runs", "rebuild_store"], "run.collect"),
    **dict.fromkeys(["Prepared", "prepare_point"], "run.prepare"),
    **dict.fromkeys(["RunOptions", "RunState", "RunSummary", "run_sweep"], "run.runner"),
    **dict.fromkeys(["Series", "read_series"], "run.series"),
    **dict.fromkeys(["Pulled", "Pushed", "pull_results", "push_results"], "share.sync"),
    **dict.fromkeys(["Spec"], "spec.model"),
    **dict.fromkeys(["load_spec", "parse_spec"], "spec.reader"),
    **dict.fromkeys(["Point", "Space"], "spec.space"),
    **dict.fromkeys(["StageOptions", "analyze"], "stages.analyze"),
    **dict.fromkeys(
        ["find_sweep", "list_commits", "list_points", "list_sweeps", "summarize_params"], "sweep.catalog"
    ),
    **dict.fromkeys(
        ["Plan", "Preview", "create_sweep", "plan_sweep", "preview_sweep", "write_sweep"], "sweep.create"
    ),
    **dict.fromkeys(["PointRecord", "Sweep"], "sweep.record"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"gitgrid.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'gitgrid' has no attribute {name!r}")


__all__ = [
    "Cleaned",
    "Collected",
    "GitFailure",
    "GitgridError",
    "GitgridWarning",
    "Launch",
    "LaunchSettings",
    "Launcher",
    "OptimizeError",
    "OptimizeOptions",
    "OptimizeSummary",
    "Plan",
    "Point",
    "PointRecord",
    "Prepared",
    "Preview",
    "Pulled",
    "Pushed",
    "RepoError",
    "Report",
    "ReportError",
    "Repository",
    "ResultStream",
    "ResultTable",
    "RewriteError",
    "RunError",
    "RunOptions",
    "RunState",
    "RunSummary",
    "Series",
    "Sharded",
    "Space",
    "Spec",
    "SpecError",
    "StageOptions",
    "Status",
    "StoreError",
    "SubmitError",
    "Sweep",
    "SweepError",
    "SyncError",
    "ViewOptions",
    "WorkerLost",
    "__version__",
    "analyze",
    "cancel_sweep",
    "clean",
    "collect_runs",
    "create_sweep",
    "find_sweep",
    "get_launcher",
    "list_commits",
    "list_points",
    "list_sweeps",
    "load_spec",
    "minimize",
    "open_repository",
    "optimize_sweep",
    "parse_spec",
    "plan_sweep",
    "prepare_point",
    "preview_sweep",
    "pull_results",
    "push_results",
    "read_series",
    "rebuild_store",
    "results",
    "results_frame",
    "run_sweep",
    "spsa",
    "stream_results",
    "summarize_params",
    "sweep_status",
    "write_report",
    "write_sweep",
]
