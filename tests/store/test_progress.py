"""What to run next comes from the store once it knows the sweep at its tip (issue 10): resuming, status
and results read no commit; --where over params keeps its meaning, errors included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitgrid.errors import SpecError
from gitgrid.git.repository import Repository
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import cli, sim


def test_a_known_sweep_is_resumed_without_reading_its_commits(
    swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="b != 40"))

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the sweep's commits were listed again")

    monkeypatch.setattr(Repository, "log_trailers", refused)
    summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="b > 20"))
    assert (summary.state.succeeded, summary.state.skipped) == (3, 3)
    again = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    assert (again.state.total, again.state.skipped) == (0, 12)
    assert len(results(swept).rows) == 12 and "success      12" in cli("status", repo=swept).stdout


def test_where_that_fails_on_a_point_names_it(swept: Path) -> None:
    with pytest.raises(
        SpecError, match=r"--where: 'a / \(b - 10\) > 0' failed for a=1.5, b=10: float division by zero"
    ):
        run_sweep(sim(), repo=swept, options=RunOptions(where="a / (b - 10) > 0"))
    with pytest.raises(SpecError, match=r"--where: .* failed for a=1.5, b=10: "):
        run_sweep(sim(), repo=swept, options=RunOptions(where="a // (b - 10) > 0"))  # asked of Python
    summary = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="b == 10 or a / (b - 10) > 0"))
    assert summary.state.succeeded == 12
