"""Start-up: every call of ``gitgrid`` in a pipeline pays for what it imports before it can work.

The time is measured in benchmarks/bench_scale.py; these tests keep the heavy libraries out of the import
of the CLI and out of ``gitgrid list``, where a module-level import in any command module would put them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gitgrid import create_sweep

LOADED_ON_USE = {
    "git": "GitPython (reading trees)",
    "jinja2": "templates",
    "yaml": "spec files",
    "rich": "progress bars",
    "sqlite3": "the results store",
    "pandas": "results_frame",
    "tempfile": "spilling a long listing",
    "gitgrid.spec.expression": "--where",
    "gitgrid.rewrite": "create",
    "gitgrid.run": "run, collect",
    "gitgrid.cluster": "submit",
    "gitgrid.launch.launcher": "run, submit (the launchers)",
    "gitgrid.query": "results, status",
}
PROBE = """
import sys
import gitgrid.cli
if len(sys.argv) > 1:
    try:
        gitgrid.cli.main()
    except SystemExit:
        pass
print("\\n".join(sys.modules), file=sys.stderr)
"""


def heavy_imports(*args: str) -> list[str]:
    """What of LOADED_ON_USE ``gitgrid ARGS`` (or, without arguments, importing the CLI) loads."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    loaded = set(result.stderr.split())
    assert "typer" in loaded and "gitgrid.cli.sweeps" in loaded  # the probe sees what it should
    assert bool(result.stdout) == bool(args)  # and the command did its work
    return [
        f"{name} ({why})"
        for name, why in LOADED_ON_USE.items()
        if name in loaded or any(module.startswith(name + ".") for module in loaded)
    ]


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert heavy_imports() == []


def test_gitgrid_list_loads_none_either(sim_repo: Path) -> None:
    create_sweep(sim_repo / "spec.yaml", sim_repo)
    assert heavy_imports("-C", str(sim_repo), "list") == []
    assert heavy_imports("-C", str(sim_repo), "list", "--format", "csv") == []
