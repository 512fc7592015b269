"""Growing a sweep (gitgrid optimize's points): commits made as create makes a grid's, chained onto the
tip, branch and tag moving together; the store keeps the runs of a sweep that grew."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitgrid import create_sweep, find_sweep, list_points, open_repository, run_sweep
from gitgrid.errors import SweepError
from gitgrid.run.runner import RunOptions
from gitgrid.spec.reader import load_spec
from gitgrid.sweep.append import NewPoint, append_points, delete_sweep, plan_growth, point_trailers, retag
from tests.helpers import SIM, SPEC, git, make_repo, refs, sim


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (path / "spec.yaml").write_text(SPEC)
    return path


def test_points_are_written_like_a_grids_and_chained_onto_the_tip(repo: Path) -> None:
    grid = create_sweep(repo / "spec.yaml", repo, name="grid")
    opened = open_repository(repo)
    grower = plan_growth(opened, load_spec(repo / "spec.yaml"), "grown", capacity=9)
    first = append_points(grower, None, [NewPoint((1.5, 10)), NewPoint((2.5, 20), (("Gitgrid-Role", "x"),))])
    assert (first.count, first.base) == (2, grid.base)
    second = append_points(grower, first, [NewPoint((3.5, 30))], {"settings": {"seed": 1}})
    assert git(repo, "rev-parse", f"{second.tip}^") == first.tip + "\n"
    assert git(repo, "rev-parse", "grown") == second.tip + "\n"
    assert find_sweep(opened, "grown") == second and second.optimize == {"settings": {"seed": 1}}
    points = list(list_points(opened, second))
    assert [(p.index, dict(p.params)) for p in points] == [
        (0, {"a": 1.5, "b": 10}), (1, {"a": 2.5, "b": 20}), (2, {"a": 3.5, "b": 30}),
    ]  # fmt: skip
    # the same message as the grid's point with the same values, but for sweep, count and the extra trailer
    grid_message = git(repo, "log", "-1", "--format=%B", next(p.commit for p in list_points(opened, grid)
                                                              if p.params == {"a": 1.5, "b": 10}))  # fmt: skip
    ours = git(repo, "log", "-1", "--format=%B", points[0].commit)
    assert ours == grid_message.replace("Sweep: grid", "Sweep: grown").replace("Count: 12", "Count: 9")
    assert git(repo, "show", f"{points[1].commit}:model.py") == "a = 2.5\nb = 20\n"
    trailers = [(i, rest) for i, _, _, rest in point_trailers(opened, second, ["Gitgrid-Role"])]
    assert trailers == [(0, [""]), (1, ["x"]), (2, [""])]


def test_retag_and_delete(repo: Path) -> None:
    opened = open_repository(repo)
    before = refs(repo)
    grower = plan_growth(opened, load_spec(repo / "spec.yaml"), "grown", capacity=3)
    sweep = append_points(grower, None, [NewPoint((1.5, 10))])
    answered = retag(opened, sweep, {"answer": {"value": 1.0}})
    assert find_sweep(opened, "grown").optimize == {"answer": {"value": 1.0}} and answered.tip == sweep.tip
    delete_sweep(opened, answered)
    assert refs(repo) == before


def test_a_stale_sweep_is_refused_and_left_as_it_was(repo: Path) -> None:
    opened = open_repository(repo)
    grower = plan_growth(opened, load_spec(repo / "spec.yaml"), "grown", capacity=3)
    first = append_points(grower, None, [NewPoint((1.5, 10))])
    append_points(grower, first, [NewPoint((2.5, 10))])
    after = refs(repo)
    with pytest.raises(SweepError, match="changed while points were added to it"):
        append_points(grower, first, [NewPoint((3.5, 10))])  # from the old tip: another writer won
    assert refs(repo) == after


def test_the_store_keeps_the_runs_of_a_sweep_that_grew(repo: Path) -> None:
    opened = open_repository(repo)
    grower = plan_growth(opened, load_spec(repo / "spec.yaml"), "grown", capacity=4)
    sweep = append_points(grower, None, [NewPoint((1.5, 10)), NewPoint((2.5, 10))])
    assert run_sweep(sim(), "grown", repo, RunOptions(jobs=1)).state.succeeded == 2
    append_points(grower, sweep, [NewPoint((3.5, 10))])
    summary = run_sweep(sim(), "grown", repo, RunOptions(jobs=1))
    assert (summary.state.succeeded, summary.state.skipped) == (1, 2)  # the first two are still done
    from gitgrid.query.tables import results

    table = results(repo, "grown")
    assert [(r["index"], r["loss"], r["attempt"]) for r in table.rows] == [
        (0, 15.0, 1),
        (1, 25.0, 1),
        (2, 35.0, 1),
    ]
