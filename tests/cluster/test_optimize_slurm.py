"""gitgrid optimize on the real test SLURM cluster: each batch one array job, results through the store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gitgrid import find_sweep, open_repository
from tests.cluster.test_cluster import slurm  # noqa: F401 (the fixture: the cluster is up)
from tests.helpers import cli, make_repo
from tests.optimize.test_session import OPT_SIM, SPEC, TOLERANCE, sim

BUDGET = 40  # each batch waits for the scheduler (about 3 s here): a smaller budget than the local test's


def test_spsa_on_slurm_converges_with_one_array_job_per_batch(slurm: int, tmp_path: Path) -> None:  # noqa: F811
    repo = make_repo(tmp_path / "opt", {"model.py": "x = 0.0\ny = 0.0\nz = 0\n", "sim.py": OPT_SIM})
    (repo / "spec.yaml").write_text(
        SPEC.replace("start: -2.0", "start: 0.5").replace("start: 1.5", "start: 0.0")
    )
    result = cli(
        "optimize", "spec.yaml", "--metric", "loss", "--method", "spsa", "--budget", str(BUDGET), "--seed", "3",
        "--scheduler", "slurm", "--poll", "0.3", "--opt", "time=0:05:00", "--", *sim(), repo=repo,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    sweep = find_sweep(open_repository(repo))
    answer = sweep.optimize["answer"] if sweep.optimize else {}
    assert sweep.count == BUDGET
    assert abs(answer["params"]["x"] - 1.2) < TOLERANCE and abs(answer["params"]["y"] + 0.7) < TOLERANCE
    with sqlite3.connect(repo / ".gitgrid/results.db") as db:
        runs = db.execute("SELECT idx, status, job FROM runs ORDER BY idx").fetchall()
        jobs = db.execute("SELECT job_id, tasks FROM jobs ORDER BY submitted").fetchall()
    assert [(i, s) for i, s, _ in runs] == [(i, "success") for i in range(BUDGET)]  # each once, on a node
    assert all(job for *_, job in runs)
    # the start twice, twice again (the two differed: noise), then one pair per iteration and the check
    assert [tasks for _, tasks in jobs] == [2] * (BUDGET // 2)


C_MODEL = """\
#include <stdio.h>
#include <stdlib.h>
#include "model.h"

int main(void) {
    FILE *out = fopen(getenv("GITGRID_RESULT"), "w");
    double loss = (X - 1.2) * (X - 1.2) + (Y + 0.7) * (Y + 0.7);
    fprintf(out, "{\\"loss\\": %.17g, \\"x_built\\": %.17g}\\n", loss, X);
    return fclose(out);
}
"""
C_SPEC = """\
files: [model.h]
params:
  X: {range: [-3.0, 3.0], start: 0.5}
  Y: {range: [-3.0, 3.0], start: 0.0}
"""


def c_optimisation(folder: Path) -> Path:
    """A compiled model: its params are #defines, so every evaluation must be built before it runs."""
    files = {
        "model.h": "#define X 0.0\n#define Y 0.0\n", "main.c": C_MODEL,
        "Makefile": "prog: main.c model.h\n\tcc -O0 -o prog main.c\n", ".gitignore": "prog\n",
    }  # fmt: skip
    repo = make_repo(folder, files)
    (repo / "spec.yaml").write_text(C_SPEC)
    return repo


def test_optimize_on_slurm_builds_every_evaluation_on_the_nodes(slurm: int, tmp_path: Path) -> None:  # noqa: F811
    """``optimize --on slurm --build make``: each batch an array job whose tasks build the point they run
    (a stale binary would report another x than the commit's), the answer found, every run on a node."""
    repo = c_optimisation(tmp_path / "c-opt")
    result = cli(
        "optimize", "spec.yaml", "--metric", "loss", "--budget", "24", "--seed", "5", "--on", "slurm",
        "--build", "make", "--poll", "0.3", "--opt", "time=0:05:00", "--", "./prog", repo=repo,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    sweep = find_sweep(open_repository(repo))
    answer = sweep.optimize["answer"] if sweep.optimize else {}
    assert sweep.count == 24 and answer["value"] < 0.5
    with sqlite3.connect(repo / ".gitgrid/results.db") as db:
        runs = db.execute("SELECT idx, status, job, run_dir FROM runs ORDER BY idx").fetchall()
    assert [(i, s) for i, s, *_ in runs] == [(i, "success") for i in range(24)] and all(
        j for *_, j, _ in runs
    )
    for _, _, _, run_dir in runs:  # the metric came from the binary built from the point's own values
        meta = json.loads(Path(run_dir, "meta.json").read_text())
        assert meta["metrics"]["x_built"] == meta["params"]["X"]
        assert "cc -O0 -o prog main.c" in Path(run_dir, "build.log").read_text()
