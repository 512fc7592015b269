"""The views of an optimisation (progress over evaluations, the path through parameter space) in a real
headless Chromium: in the report file, and live in the dashboard while ``gitgrid optimize`` grows the sweep."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitgrid import create_sweep, optimize_sweep
from gitgrid.optimize.session import OptimizeOptions
from gitgrid.query.tables import results
from tests.conftest import git_environment
from tests.helpers import ARTEFACTS, SPEC, Watched, cli, gitgrid_command, make_repo
from tests.optimize.test_session import OPT_SIM
from tests.optimize.test_session import SPEC as OPT_SPEC
from tests.optimize.test_session import sim as opt_sim

MODEL = "x = 0.0\ny = 0.0\nz = 0\na = 0.0\nb = 0\n"


@pytest.fixture(scope="module")
def optimized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A repository with an SPSA optimisation (30 evaluations), a random search (12) and a grid."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in git_environment(tmp_path_factory.mktemp("home")).items():
            patch.setenv(key, value)
        repo = make_repo(tmp_path_factory.mktemp("opt") / "sim", {"model.py": MODEL, "sim.py": OPT_SIM})
        (repo / "spec.yaml").write_text(OPT_SPEC)
        (repo / "grid.yaml").write_text(SPEC)
        spsa = OptimizeOptions("loss", method="spsa", budget=30, seed=3, name="spsa")  # auto is the default
        optimize_sweep(repo / "spec.yaml", opt_sim(), spsa, repo)
        random = OptimizeOptions("loss", method="random", budget=12, seed=1, parallel=3, name="random")
        optimize_sweep(repo / "spec.yaml", opt_sim(), random, repo)
        create_sweep(repo / "grid.yaml", repo, name="grid")
        yield repo


@pytest.fixture
def opened(browser: Any) -> Iterator[Watched]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watched = Watched(page)
    yield watched
    page.close()
    watched.check()


def shown(watched: Watched, url: str) -> Any:
    page = watched.page
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    return page


def drawn(page: Any, div: str) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """(id) => { const d = document.getElementById(id);
                 return {points: Number(d.dataset.points), steps: Number(d.dataset.steps || 0),
                         markers: d.data.filter((t) => t.type === "scattergl").reduce((s, t) => s + t.x.length, 0),
                         names: d.data.map((t) => t.name)}; }""",
            div,
        )
    )


def test_the_report_shows_progress_and_path_of_an_optimisation(
    optimized: Path, opened: Watched, tmp_path: Path
) -> None:
    output = tmp_path / "report.html"
    assert cli("report", "spsa", "random", "grid", "-o", str(output), repo=optimized).exit_code == 0
    page = shown(opened, f"{output.as_uri()}?sweep=spsa")
    assert page.locator("#optimize").is_visible()
    progress, path = drawn(page, "progress-plot"), drawn(page, "path-plot")
    assert progress["points"] == progress["markers"] == 30  # every evaluation, by role
    assert set(progress["names"]) == {"start", "theta+", "theta-", "check", "iteration mean"}
    # the start, then each of the 12 iterations' centre (4 at the start, 12 pairs, 2 checks = 30)
    assert path["steps"] == 13 and path["markers"] == 30 and "answer" in path["names"]
    assert "spsa, 30 evaluations at most, loss minimised · answer: point 28" in page.inner_text(
        "#optimize-note"
    )
    ARTEFACTS.mkdir(exist_ok=True)
    page.locator("#optimize").screenshot(path=str(ARTEFACTS / "report-optimize.png"))
    # a table filter reaches these views too
    renders = page.evaluate("document.body.dataset.renders")
    page.fill("input[data-key='c:index']", "<= 9")
    page.wait_for_function(f"document.body.dataset.renders !== '{renders}'", timeout=10000)
    assert drawn(page, "progress-plot")["points"] == 10
    # random search: the path goes through each better point found
    page.select_option("#sweep", "random")
    page.wait_for_function("window.gitgrid.D.name === 'random'", timeout=10000)
    losses = [row["loss"] for row in sorted(results(optimized, "random").rows, key=lambda r: r["index"])]
    better = sum(1 for i, v in enumerate(losses) if v < min(losses[:i], default=float("inf")))
    assert drawn(page, "path-plot")["steps"] == better and drawn(page, "progress-plot")["points"] == 12
    page.select_option("#sweep", "grid")
    page.wait_for_function("window.gitgrid.D.name === 'grid'", timeout=10000)
    assert not page.locator("#optimize").is_visible()


def test_the_dashboard_follows_an_optimisation_as_it_grows(tmp_path: Path, opened: Watched) -> None:
    repo = make_repo(tmp_path / "sim", {"model.py": MODEL, "sim.py": OPT_SIM})
    (repo / "spec.yaml").write_text(OPT_SPEC)
    command = [*gitgrid_command(), "-C", str(repo), "optimize", "spec.yaml", "--metric", "loss",
               "--budget", "40", "--seed", "2", "--", *opt_sim()]  # fmt: skip
    optimizer = subprocess.Popen(command, env={**os.environ, "SIM_SLEEP": "0.3"}, stderr=subprocess.DEVNULL)
    server = subprocess.Popen(
        [*gitgrid_command(), "-C", str(repo), "dashboard", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        page = _first_points(opened, server, repo)
        page.evaluate("window.notReloaded = true")
        before = drawn(page, "progress-plot")["points"]
        page.wait_for_function(
            f"Number(document.getElementById('progress-plot').dataset.points) >= {before + 6}", timeout=30000
        )
        assert page.evaluate("window.notReloaded") is True
        assert drawn(page, "path-plot")["steps"] >= 2
    finally:
        optimizer.send_signal(signal.SIGINT)
        optimizer.wait(timeout=30)
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


def _first_points(watched: Watched, server: subprocess.Popen[str], repo: Path) -> Any:
    """The dashboard's page once the optimisation's sweep exists and shows some evaluations."""
    assert server.stdout is not None
    found = re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline())
    assert found is not None
    while not (repo / ".gitgrid/results.db").exists() or "optimize-" not in cli("sweeps", repo=repo).stdout:
        watched.page.wait_for_timeout(200)
    page = shown(watched, found.group(0))
    page.wait_for_function(
        "Number(document.getElementById('progress-plot').dataset.points) > 0", timeout=30000
    )
    return page
