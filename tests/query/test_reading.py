"""Reading results (issues 8 and 9): the tables people read, new and replaced sweeps shown at once, any
number of metrics, bad limits refused, the best value over the whole sweep, rows from an unfinished rerun."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import SIM, SPEC, cli, git, make_repo, sim

REPORT = """\
import json, math, os
i = int(os.environ["GITGRID_INDEX"])
metrics = {"zeta": 1 / 3 + i, "alpha": float("nan") if i == 0 else 123456.789 * i}
if i == 4:
    del metrics["alpha"]
json.dump(metrics, open(os.environ["GITGRID_RESULT"], "w"))
"""


@pytest.fixture
def swept(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM, "report.py": REPORT})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    return repo


def test_tables_are_readable_and_exports_exact(swept: Path) -> None:
    run_sweep([sys.executable, "report.py"], repo=swept, options=RunOptions(jobs=2, where="b == 10"))
    table = cli("results", repo=swept).stdout.splitlines()
    assert table[0].split() == [
        "index",
        "commit",
        "a",
        "b",
        "zeta",
        "alpha",
        "status",
        "attempt",
        "duration_s",
    ]
    cells = [line.split() for line in table[2:]]
    assert [row[4:6] for row in cells] == [
        ["0.333333", "nan"],
        ["4.33333", "success"],
        ["8.33333", "987654.0"],
    ]
    assert cli("results", "--digits", "3", repo=swept).stdout.splitlines()[2].split()[4] == "0.333"
    rows = list(csv.reader(io.StringIO(cli("results", "-f", "csv", repo=swept).stdout)))
    assert [row[4:6] for row in rows[1:]] == [["0.3333333333333333", "nan"], ["4.333333333333333", ""],
                                             ["8.333333333333334", "987654.312"]]  # fmt: skip
    data = json.loads(cli("results", "-f", "json", repo=swept).stdout)
    assert [(d["zeta"], d["alpha"]) for d in data[:2]] == [(1 / 3, None), (1 / 3 + 4, None)]
    python = results(swept)
    assert math.isnan(python.rows[0]["alpha"]) and python.rows[1]["alpha"] is None
    assert python.metrics == ("zeta", "alpha")  # the order the command reported them in


@pytest.mark.parametrize("best", ["-1", "0", "9223372036854775808"])
def test_best_must_be_a_positive_number_of_rows(swept: Path, best: str) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="b == 10"))
    done = cli("results", "--best", best, repo=swept)
    assert (
        done.exit_code == 2
        and done.stderr
        == f"gitgrid: error: --best {best}: give the number of rows to show, 1 or more (below 2**63)\n"
    )


def test_results_of_a_sweep_that_never_ran_after_another_did(swept: Path) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="b == 10"))
    (swept / "other.yaml").write_text("files: [model.py]\nparams:\n  a: [7.5]\n  r: {range: [1, 3, 1]}\n")
    (swept / "model.py").write_text("a = 0.0\nb = 0\nr = 0\n")
    git(swept, "commit", "-qam", "r")
    create_sweep(swept / "other.yaml", swept, name="other")
    shown = cli("results", "other", repo=swept)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.split()[:7] == ["index", "commit", "a", "r", "status", "attempt", "duration_s"]
    everything = results(swept, "other", include_all=True).rows
    assert [(r["r"], r["status"]) for r in everything] == [
        (1, "never run"),
        (2, "never run"),
        (3, "never run"),
    ]


def test_a_sweep_created_again_is_shown_at_once(swept: Path) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    name = results(swept).sweep.name
    (swept / "spec.yaml").write_text(SPEC.replace("[1.5, 2.5, 3.5]", "[4.5, 5.5]"))
    create_sweep(swept / "spec.yaml", swept, name=name, force=True)
    everything = results(swept, include_all=True).rows
    assert [(r["a"], r["status"]) for r in everything] == [
        (a, "never run") for a in (4.5, 5.5) for _ in range(4)
    ]
    assert results(swept).rows == []
    status = cli("status", repo=swept).stdout
    assert f"{name}: 8 points" in status and "never run    8" in status and "success" not in status


def test_any_number_of_metrics(swept: Path) -> None:
    (swept / "wide.py").write_text(
        "import json, os\ni = int(os.environ['GITGRID_INDEX'])\n"
        "json.dump({f'm{k}': k + i for k in range(2100)}, open(os.environ['GITGRID_RESULT'], 'w'))\n"
    )
    summary = run_sweep(
        [sys.executable, str(swept / "wide.py")], repo=swept, options=RunOptions(jobs=2, where="b == 10")
    )
    assert summary.state.succeeded == 3
    table = results(swept, sort="m2099", descending=True)
    assert len(table.metrics) == 2100 and table.metrics[:3] == ("m0", "m1", "m2")
    assert [(r["index"], r["m0"], r["m2099"]) for r in table.rows] == [
        (8, 8.0, 2107.0),
        (4, 4.0, 2103.0),
        (0, 0.0, 2099.0),
    ]
    rows = list(csv.DictReader(io.StringIO(cli("results", "-f", "csv", repo=swept).stdout)))
    assert rows[1]["m1234"] == "1238.0" and len(rows[1]) == 7 + 2100


def test_a_param_named_like_a_metric_column_keeps_its_values(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "r",
        {
            "model.txt": "m.loss = 0\n",
            "s.py": "import json, os\njson.dump({'loss': 0.5}, open(os.environ['GITGRID_RESULT'], 'w'))\n",
        },
    )
    (repo / "spec.yaml").write_text("files: [model.txt]\nparams:\n  m.loss: [1, 2]\n")
    create_sweep(repo / "spec.yaml", repo)
    run_sweep([sys.executable, "s.py"], repo=repo, options=RunOptions(jobs=2))
    assert [(r["m.loss"], r["loss"]) for r in results(repo).rows] == [(1, 0.5), (2, 0.5)]


def test_watch_shows_the_best_over_the_whole_sweep(swept: Path) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, where="a == 1.5"))  # loss 15.0 at point 0
    rest = run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, watch="loss"))
    assert rest.state.succeeded == 8 and rest.state.best == (15.0, 0)
    highest = cli("run", "--watch", "rate", "--maximize", "--", *sim(), repo=swept)
    assert "best rate: 43.5 (point 11)" in highest.stderr


def test_rows_from_an_unfinished_rerun_are_marked(swept: Path) -> None:
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2))
    plain = cli("results", repo=swept)
    assert "rerun" not in plain.stdout.splitlines()[0] and "rerun" not in plain.stderr
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, rerun=True, where="a == 1.5"))
    shown = cli("results", "-f", "csv", repo=swept)
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert [(r["a"], r["rerun"], r["attempt"]) for r in rows[3:5]] == [("1.5", "1", "2"), ("2.5", "0", "1")]
    assert "4 of 12 rows come from rerun 1, the others from earlier runs (column 'rerun')" in shown.stderr
    run_sweep(sim(), repo=swept, options=RunOptions(jobs=2, rerun=True))  # finishes rerun 1
    assert "rows come from rerun" not in cli("results", repo=swept).stderr
