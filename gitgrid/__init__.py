"""gitgrid: turn a parameter study into git history.

A *spec* describes a *space* of *points* (param values); ``create_sweep`` writes one commit per point on a
new branch (the *sweep*); ``list_points`` reads them back. The vocabulary is defined in ``docs/concepts.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gitgrid._version import __version__
from gitgrid.errors import (
    GitFailure,
    GitgridError,
    GitgridWarning,
    RepoError,
    RewriteError,
    RunError,
    SpecError,
    StoreError,
    SubmitError,
    SweepError,
)

if TYPE_CHECKING:
    from gitgrid.collect import Collected, collect_runs
    from gitgrid.create import Plan, Preview, create_sweep, plan_sweep, preview_sweep, write_sweep
    from gitgrid.git import Repository, open_repository
    from gitgrid.prepare import Prepared, prepare_point
    from gitgrid.runner import RunOptions, RunState, RunSummary, run_sweep
    from gitgrid.space import Point, Space
    from gitgrid.spec import Spec, load_spec, parse_spec
    from gitgrid.sweeps import (
        PointRecord,
        Sweep,
        find_sweep,
        list_commits,
        list_points,
        list_sweeps,
        summarize_params,
    )
    from gitgrid.tables import ResultTable, Status, results, results_frame, sweep_status

# The API is loaded on first use (PEP 562): ``gitgrid list`` should not pay for Jinja, YAML and GitPython.
_LAZY = {
    **dict.fromkeys(
        ["Plan", "Preview", "create_sweep", "plan_sweep", "preview_sweep", "write_sweep"], "create"
    ),
    **dict.fromkeys(["Repository", "open_repository"], "git"),
    **dict.fromkeys(["Collected", "collect_runs"], "collect"),
    **dict.fromkeys(["Prepared", "prepare_point"], "prepare"),
    **dict.fromkeys(["ResultTable", "Status", "results", "results_frame", "sweep_status"], "tables"),
    **dict.fromkeys(["RunOptions", "RunState", "RunSummary", "run_sweep"], "runner"),
    **dict.fromkeys(["Point", "Space"], "space"),
    **dict.fromkeys(["Spec", "load_spec", "parse_spec"], "spec"),
    **dict.fromkeys(
        [
            "PointRecord",
            "Sweep",
            "find_sweep",
            "list_commits",
            "list_points",
            "list_sweeps",
            "summarize_params",
        ],
        "sweeps",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"gitgrid.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'gitgrid' has no attribute {name!r}")


__all__ = [
    "Collected",
    "GitFailure",
    "GitgridError",
    "GitgridWarning",
    "Plan",
    "Point",
    "PointRecord",
    "Prepared",
    "Preview",
    "RepoError",
    "Repository",
    "ResultTable",
    "RewriteError",
    "RunError",
    "RunOptions",
    "RunState",
    "RunSummary",
    "Space",
    "Spec",
    "SpecError",
    "Status",
    "StoreError",
    "SubmitError",
    "Sweep",
    "SweepError",
    "__version__",
    "collect_runs",
    "create_sweep",
    "find_sweep",
    "list_commits",
    "list_points",
    "list_sweeps",
    "load_spec",
    "open_repository",
    "parse_spec",
    "plan_sweep",
    "prepare_point",
    "preview_sweep",
    "results",
    "results_frame",
    "run_sweep",
    "summarize_params",
    "sweep_status",
    "write_sweep",
]
