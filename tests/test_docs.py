"""The documented entry points work: the README's commands, the demo, and the public API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import gitgrid

ROOT = Path(__file__).parent.parent


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci/run").read_text()
    assert "GITGRID_REQUIRE_SLURM=1 make test" in ci and "tests/slurm/cluster.sh start" in ci


def test_demo_runs_the_canonical_study(tmp_path: Path) -> None:
    env = {**os.environ, "DEMO_DIR": str(tmp_path / "demo")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        ["bash", str(ROOT / "examples/demo.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "grid_search-" in result.stdout and ": 36 points on master" in result.stdout
    assert "param3  range of 6: -5.0, -10.0, -15.0, -20.0, -25.0, -30.0" in result.stdout
    assert ": 36 succeeded, 0 failed" in result.stderr
    header = "index commit param1 param2 param3 rate loss status attempt duration_s".split()
    assert any(line.split() == header for line in result.stdout.splitlines())
    assert "  success      36" in result.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "gitgrid", "-C", str(tmp_path / "demo"), "list"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(listed) == 36
    # it ends by writing the report and printing its path
    assert result.stdout.rstrip().splitlines()[-1] == str(tmp_path / "demo" / "report.html")
    report = (tmp_path / "demo" / "report.html").read_text()
    assert '"series_names":["rate","t"]' in report and "36 points" in result.stderr


def test_ci_installs_the_browser_and_requires_its_tests() -> None:
    ci = (ROOT / ".ci/run").read_text()
    assert "apt-get install -y -q chromium" in ci and "export GITGRID_REQUIRE_BROWSER=1" in ci
    assert ci.index("export GITGRID_REQUIRE_BROWSER=1") < ci.index("make test")
    dev = (ROOT / "pyproject.toml").read_text()
    assert '"playwright' in dev and "playwright install" not in ci


def test_public_api_is_explicit_and_importable() -> None:
    for name in gitgrid.__all__:
        assert getattr(gitgrid, name) is not None, name
    assert sorted(gitgrid.__all__) == gitgrid.__all__


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert f"docs/{page.name}" in readme, f"{page.name} is not linked from README.md"
