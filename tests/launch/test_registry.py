"""The registry of launchers is the one list of names: the command line, optimize, the docs' table and
the import contract all agree with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gitgrid.errors import RunError
from gitgrid.launch.launcher import Launcher, LaunchSettings
from gitgrid.launch.registry import LAUNCHERS, get_launcher, launcher_class
from tests.helpers import cli

ROOT = Path(__file__).parent.parent.parent


def test_the_docs_table_is_the_registry() -> None:
    text = (ROOT / "docs/cluster.md").read_text()
    table = text.split("<!-- launchers -->", 2)[1]
    rows = re.findall(r"^\| `([\w-]+)` \| (.+) \|$", table, re.MULTILINE)
    assert [(name, launcher_class(name).description) for name in LAUNCHERS] == rows


def test_launchers_stand_alone_by_contract() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (independent,) = [c for c in contracts if c["id"] == "launchers"]
    assert sorted(independent["modules"]) == sorted(path.split(":")[0] for path in LAUNCHERS.values())


@pytest.mark.parametrize("name", list(LAUNCHERS))
def test_each_launcher_is_its_name(name: str) -> None:
    kind = launcher_class(name)
    assert issubclass(kind, Launcher) and kind.name == name and kind.description


@pytest.mark.parametrize("command", [["run"], ["submit"], ["optimize"]])
def test_every_front_door_offers_every_launcher(command: list[str]) -> None:
    shown = "".join(cli(*command, "--help").stdout.replace("│", "").split())  # rich's wrapped columns
    assert ",".join(LAUNCHERS) in shown


def test_an_unknown_launcher_or_a_setting_it_cannot_use_is_named(swept: Path) -> None:
    with pytest.raises(RunError, match=r"--on nowhere: unknown \(known: local, slurm, "):
        get_launcher("nowhere")
    with pytest.raises(RunError, match="--on local takes no --opt"):
        get_launcher("local", LaunchSettings(options=(("partition", "short"),)))
    with pytest.raises(RunError, match="--opt partition: --on local-array does not know it"):
        get_launcher("local-array", LaunchSettings(options=(("partition", "short"),)))
    refused = cli("run", "--on", "local", "--chunk", "2", "--", "true", repo=swept)
    assert refused.exit_code == 2 and refused.stderr == "gitgrid: error: --on local takes no --chunk\n"


def test_a_dry_run_lists_the_points_and_runs_none(swept: Path) -> None:
    result = cli("run", "--dry-run", "--where", "a == 1.5", "--", "false", repo=swept)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "grid_search-2026-11-18: would run 4 points (0, 1, 2, 3); 0 skipped (done before); nothing ran\n"
    )
    assert not (swept / ".gitgrid/runs/grid_search-2026-11-18").exists() or not list(
        (swept / ".gitgrid/runs/grid_search-2026-11-18").glob("*/attempt-*")
    )
