"""Fixtures: an isolated git environment with fixed identities and dates, so commit ids are reproducible."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    BROWSER_ARGS,
    CANONICAL_MODEL,
    CANONICAL_SPEC,
    CHROMIUM,
    CUBE_SPEC,
    SERIES_SIM,
    SIM,
    SPEC,
    XSS_SIM,
    XSS_SPEC,
    XSS_SUBJECT,
    browser_missing,
    git,
    make_repo,
    sim,
    sim_command,
)

FIXED_DATE = "1795000000 +0000"  # 2026-11-18


@pytest.fixture(autouse=True)
def git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in git_environment(tmp_path_factory.mktemp("home")).items():
        monkeypatch.setenv(key, value)
    yield


def git_environment(home: Path) -> dict[str, str]:
    """A fixed git identity and date, and a home of its own (fixtures wider than one test use it too)."""
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = master\n")
    return {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada Researcher",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada Researcher",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
        "GIT_AUTHOR_DATE": FIXED_DATE,
        "GIT_COMMITTER_DATE": FIXED_DATE,
    }


@pytest.fixture
def sim_repo(tmp_path: Path) -> Path:
    """The canonical simulation repository: src/model.py with param1..3 assignments, and spec.yaml."""
    repo = make_repo(tmp_path / "sim", {"src/model.py": CANONICAL_MODEL, "README": "a simulation\n"})
    (repo / "spec.yaml").write_text(CANONICAL_SPEC)
    return repo


@pytest.fixture
def swept(tmp_path: Path) -> Path:
    """The small simulation (``sim.py`` writing ``loss`` and ``rate`` from ``model.py``'s ``a`` and
    ``b``) with its 12-point sweep created, nothing run."""
    from gitgrid import create_sweep

    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    return repo


@pytest.fixture
def ran(swept: Path) -> Path:
    """``swept`` with every point but the three of ``b == 40`` run."""
    from gitgrid.run.runner import RunOptions, run_sweep

    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="b != 40"))
    return swept


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (starting one costs a second). Without chromium or
    playwright the browser tests are skipped, saying why; with GITGRID_REQUIRE_BROWSER=1 (as in CI) they
    fail instead."""
    missing = browser_missing()
    if missing is not None:
        if os.environ.get("GITGRID_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GITGRID_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A repository with three sweeps, run: ``before`` (12 points with series), ``after`` (the same grid
    on a base whose subject carries a script tag, every loss 1 higher) and ``xss`` (string params,
    a metric, a series name and stderr holding XSS payloads), then ``cube`` (8 points over a, b and c,
    whose loss ignores c)."""
    from gitgrid import create_sweep
    from gitgrid.run.runner import RunOptions, run_sweep

    with pytest.MonkeyPatch.context() as patch:
        for key, value in git_environment(tmp_path_factory.mktemp("home")).items():
            patch.setenv(key, value)
        files = {"model.py": "a = 0.0\nb = 0\n", "sim.py": SERIES_SIM, "config.ini": "label = x\nn = 0\n"}
        repo = make_repo(tmp_path_factory.mktemp("studies") / "sim", files)
        (repo / "spec.yaml").write_text(SPEC)
        (repo / "xss.yaml").write_text(XSS_SPEC)
        create_sweep(repo / "spec.yaml", repo, name="before")
        run_sweep(sim(), repo=repo, options=RunOptions(jobs=2))
        (repo / "sim.py").write_text(SERIES_SIM.replace('"loss": a * b', '"loss": a * b + 1'))
        (repo / "xss_sim.py").write_text(XSS_SIM)
        (repo / "model.py").write_text("a = 0.0\nb = 0\nc = 0\n")
        (repo / "cube.yaml").write_text(CUBE_SPEC)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", XSS_SUBJECT)
        patch.setenv("GIT_COMMITTER_DATE", "1795000100 +0000")
        create_sweep(repo / "spec.yaml", repo, name="after")
        run_sweep(sim(), "after", repo=repo, options=RunOptions(jobs=2))
        create_sweep(repo / "xss.yaml", repo, name="xss")
        run_sweep(sim_command("xss_sim.py"), "xss", repo=repo, options=RunOptions(jobs=2))
        create_sweep(repo / "cube.yaml", repo, name="cube")
        run_sweep(sim(), "cube", repo=repo, options=RunOptions(jobs=2))
        yield repo


@pytest.fixture
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A 2 MiB tmpfs (another size by indirect parametrisation, e.g. ``"4m"``; needs root, as in CI);
    skipped where mounting is not allowed."""
    mount = tmp_path / "small"
    mount.mkdir()
    size = getattr(request, "param", "2m")
    mounting = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)]
    done = subprocess.run(mounting, capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def read_only() -> Iterator[Callable[..., None]]:
    """Make a folder read-only for the rest of the test, as a read-only file system is (a bind mount,
    remounted read-only: chmod stops no write of root's, and CI runs as root), except the folders
    below it given as ``writable``; skipped where mounting is not allowed."""
    mounted: list[Path] = []

    def mount(folder: Path, mode: str) -> None:
        for args in (["--bind", str(folder), str(folder)], ["-o", f"remount,{mode},bind", str(folder)]):
            done = subprocess.run(["mount", *args], capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"cannot bind-mount {folder} here: {done.stderr.decode().strip()}")
            if args[0] == "--bind":
                mounted.append(folder)

    def make(folder: Path, writable: tuple[Path, ...] = ()) -> None:
        mount(folder, "ro")
        for inner in writable:
            mount(inner, "rw")

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)
