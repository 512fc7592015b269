"""Metrics over time: the $GITGRID_SERIES file read and checked, stored by the runner and by collect."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.run.contract import Run
from gitgrid.run.runner import RunOptions, run_sweep
from gitgrid.run.series import Series, note_problem, read_series
from tests.helpers import SERIES_SIM, SPEC, cli, make_repo, sim, stored_rows


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "series.jsonl").write_text(text)
    return folder


def test_rows_in_file_order_nulls_and_non_finite_as_none(tmp_path: Path) -> None:
    folder = write(
        tmp_path,
        '{"step": 0, "t": 0.5, "rate": 4}\n\n{"step": 3, "rate": null, "w": NaN}\n{"step": 7, "w": Infinity}\n',
    )
    series = read_series(folder)
    assert series.rows == (
        ("t", 0, 0.5), ("rate", 0, 4.0), ("rate", 3, None), ("w", 3, None), ("w", 7, None),
    )  # fmt: skip
    assert (series.problem, series.last_step, series.names) == (None, 7, ["t", "rate", "w"])


def test_no_file_means_no_series(tmp_path: Path) -> None:
    assert read_series(tmp_path) == Series()


def test_a_half_written_last_line_is_ignored(tmp_path: Path) -> None:
    folder = write(tmp_path, '{"step": 1, "v": 2}\n{"step": 2, "v": 3')
    assert read_series(folder) == Series((("v", 1, 2.0),), None, 1)
    # complete but without its newline: taken
    write(tmp_path, '{"step": 1, "v": 2}\n{"step": 2, "v": 3}')
    assert read_series(folder).rows == (("v", 1, 2.0), ("v", 2, 3.0))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            '{"step": 1}\n{"step": 1, "v": 2}\n{"step": 3}\n',
            "2: step 1 does not increase (the line before has step 1)",
        ),
        ('{"step": 1}\n{"v": 2}\n', "2: 'step' must be an integer, not None"),
        ('{"step": 1}\n{"step": 2.5}\n', "2: 'step' must be an integer, not 2.5"),
        ('{"step": 1}\n{"step": true}\n', "2: 'step' must be an integer, not True"),
        ('{"step": 1}\n{"step": 2, "v": "x"}\n', "2: 'v' is not a number: \"x\""),
        ('{"step": 1}\n[1, 2]\n', "2: not a JSON object but list"),
        ('{"step": 1}\n{"step": 2,\n{"step": 3}\n', "2: not a JSON object: "),
    ],
)
def test_a_bad_line_keeps_the_steps_before_and_names_file_and_line(
    tmp_path: Path, text: str, why: str
) -> None:
    series = read_series(write(tmp_path, text))
    assert series.rows == () and series.last_step == 1
    assert series.problem is not None and series.problem.startswith(f"{tmp_path / 'series.jsonl'}:{why}")


def test_reading_is_bounded(tmp_path: Path) -> None:
    folder = write(tmp_path, "".join(f'{{"step": {i}, "v": {i}}}\n' for i in range(1000)))
    series = read_series(folder, limit=200)
    assert (
        0 < len(series.rows) < 20 and series.problem is not None and "longer than 200 bytes" in series.problem
    )


def test_a_problem_is_added_to_the_reason_never_to_the_status() -> None:
    run = Run("s", 0, "c", 1, "success", "/d")
    assert note_problem(run, Series()) is run
    noted = note_problem(run, Series(problem="f:3: bad"))
    assert (noted.status, noted.reason) == ("success", "f:3: bad")
    failed = note_problem(run.ending("failed", reason="exit status 1"), Series(problem="f:3: bad"))
    assert failed.reason == "exit status 1; f:3: bad"


@pytest.fixture
def series_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SERIES_SIM})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    return repo


def stored_series(repo: Path) -> dict[int, list[tuple[str, int, float]]]:
    rows = stored_rows(
        repo / ".gitgrid/results.db",
        "SELECT r.idx, s.name, s.step, s.value FROM series s JOIN runs r ON r.id = s.run_id "
        "ORDER BY r.idx, s.name, s.step",
    )
    out: dict[int, list[tuple[str, int, float]]] = {}
    for index, name, step, value in rows:
        out.setdefault(index, []).append((name, step, value))
    return out


def test_the_runner_stores_every_points_series_and_status_names_a_bad_line(
    series_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_SERIES_BAD", "4")
    summary = run_sweep(sim(), repo=series_repo, options=RunOptions(jobs=2))
    assert summary.state.succeeded == 12
    stored = stored_series(series_repo)
    assert sorted(stored) == list(range(12))
    a, b = 1.5, 10  # point 0
    assert stored[0] == [("t", s * 10, s * 0.5) for s in range(5)] + [
        ("v", s * 10, a * s + b) for s in range(5)
    ]
    assert len(stored[4]) == 6  # steps 0, 10, 20 kept; the bad line and what follows are not
    status = cli("status", repo=series_repo)
    assert status.exit_code == 0
    line = next(x for x in status.stdout.splitlines() if x.startswith("point 4:"))
    assert line.startswith("point 4: success, but ") and line.endswith(
        "series.jsonl:4: 'v' is not a number: \"high\""
    )
    assert "point 3:" not in status.stdout


def test_collect_stores_the_series_of_runs_made_elsewhere(series_repo: Path, tmp_path: Path) -> None:
    run_sweep(sim(), repo=series_repo, options=RunOptions(jobs=2))
    elsewhere = tmp_path / "cluster-runs"
    shutil.copytree(series_repo / ".gitgrid/runs", elsewhere)
    expected = stored_series(series_repo)
    for path in (series_repo / ".gitgrid").glob("results.db*"):
        path.unlink()
    name = next(elsewhere.iterdir()).name
    result = cli("collect", name, str(elsewhere), repo=series_repo)
    assert result.exit_code == 0, result.output
    assert "stored 12 new runs" in result.stdout
    assert stored_series(series_repo) == expected
    again = cli("collect", name, str(elsewhere), repo=series_repo)
    assert "stored 0 new runs (12 already known" in again.stdout
    assert stored_series(series_repo) == expected


def test_a_sim_without_series_is_unaffected(tmp_path: Path) -> None:
    from tests.helpers import SIM

    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    assert run_sweep(sim(), repo=repo, options=RunOptions(jobs=2)).exit_code == 0
    assert stored_series(repo) == {}
    assert "but" not in cli("status", repo=repo).stdout
