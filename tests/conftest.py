"""Fixtures: an isolated git environment with fixed identities and dates, so commit ids are reproducible."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import BROWSER_ARGS, CANONICAL_MODEL, CANONICAL_SPEC, CHROMIUM, browser_missing, make_repo

FIXED_DATE = "1795000000 +0000"  # 2026-11-18


@pytest.fixture(autouse=True)
def git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = master\n")
    for key, value in {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada Researcher",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada Researcher",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
        "GIT_AUTHOR_DATE": FIXED_DATE,
        "GIT_COMMITTER_DATE": FIXED_DATE,
    }.items():
        monkeypatch.setenv(key, value)
    yield


@pytest.fixture
def sim_repo(tmp_path: Path) -> Path:
    """The canonical simulation repository: src/model.py with param1..3 assignments, and spec.yaml."""
    repo = make_repo(tmp_path / "sim", {"src/model.py": CANONICAL_MODEL, "README": "a simulation\n"})
    (repo / "spec.yaml").write_text(CANONICAL_SPEC)
    return repo


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
