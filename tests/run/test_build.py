"""--build: a compiled model rebuilt for every point, so each point runs the binary of its own values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import cli, make_repo

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None or shutil.which("make") is None, reason="needs a C compiler and make"
)

MAIN_C = """\
#include <stdio.h>
#include <stdlib.h>
#include "model.h"
const double eps = 1.0;  /* weight */

int main(void) {
    FILE *out = fopen(getenv("GITGRID_RESULT"), "w");
    printf("eps=%g n=%d worker=%s\\n", eps, N_EXC, getenv("GITGRID_WORKER"));
    fprintf(out, "{\\"seen_eps\\": %g, \\"seen_n\\": %d}\\n", eps, N_EXC);
    return fclose(out);
}
"""
MAKEFILE = "prog: main.c model.h\n\tcc -o prog main.c\n"
# N_EXC outer, eps inner: with two workers, each worker's eps goes back and forth between values it had
SPEC = "files: [model.h, main.c]\nparams:\n  N_EXC: [1, 2, 3]\n  eps: [1.5, 5.0, 10.0, 20.0]\n"


def c_model(folder: Path, makefile: str = MAKEFILE) -> Path:
    """A C model whose params are a ``#define`` and a ``const double``, built by a Makefile; swept."""
    files = {"model.h": "#define N_EXC 1\n", "main.c": MAIN_C, "Makefile": makefile, ".gitignore": "prog\n"}
    repo = make_repo(folder, files)
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    return repo


def check_every_point_ran_its_own_values(repo: Path, attempt: int) -> dict[str, list[float]]:
    """Each point's output proves the values it was built with; returns each worker's eps in order."""
    by_worker: dict[str, list[tuple[float, float]]] = {}
    runs = sorted((repo / ".gitgrid/runs").glob(f"*/*/attempt-{attempt}"))
    assert len(runs) == 12
    for run_dir in runs:
        meta = json.loads((run_dir / "meta.json").read_text())
        params = meta["params"]
        assert meta["status"] == "success", meta
        assert meta["metrics"] == {"seen_eps": params["eps"], "seen_n": params["N_EXC"]}, run_dir
        shown = (run_dir / "stdout.log").read_text()
        assert shown.startswith(f"eps={params['eps']:g} n={params['N_EXC']} worker=")
        by_worker.setdefault(shown.split("worker=")[1].strip(), []).append((meta["started"], params["eps"]))
    return {worker: [eps for _, eps in sorted(points)] for worker, points in by_worker.items()}


def test_every_point_runs_the_binary_built_from_its_own_values(tmp_path: Path) -> None:
    repo = c_model(tmp_path / "c-model")
    result = cli("run", "-j", "2", "--build", "make", "--", "./prog", repo=repo)
    assert result.exit_code == 0, result.output
    workers = check_every_point_ran_its_own_values(repo, 1)
    assert sorted(workers) == ["0", "1"] and all(len(seen) > 1 for seen in workers.values())
    assert len(results(repo).rows) == 12
    # one worker, every point: eps goes 1.5, 5, 10, 20, then back to 1.5 ... in the same checkout
    again = cli("run", "-j", "1", "--rerun", "--build", "make", "--", "./prog", repo=repo)
    assert again.exit_code == 0, again.output
    assert check_every_point_ran_its_own_values(repo, 2) == {"0": [1.5, 5.0, 10.0, 20.0] * 3}


def test_a_failing_build_fails_that_point_with_its_log(tmp_path: Path) -> None:
    refuse = "\t@if grep -q 'N_EXC 2' model.h; then echo 'no 2 here' >&2; exit 7; fi\n"
    repo = c_model(tmp_path / "c-model", "prog: main.c model.h\n" + refuse + "\tcc -o prog main.c\n")
    summary = run_sweep(["./prog"], repo=repo, options=RunOptions(jobs=2, build="make"))
    assert (summary.state.succeeded, summary.state.failed, summary.exit_code) == (8, 4, 1)
    failed = [r for r in results(repo, include_all=True).rows if r["status"] == "failed"]
    assert sorted(r["N_EXC"] for r in failed) == [2, 2, 2, 2]
    report = cli("status", repo=repo).stdout
    # one group, with the error from build.log (not the empty stderr.log of a command that never ran)
    assert "4 points: failed: build failed (exit status 2); its output is in build.log (points " in report
    assert report.count("build failed") == 1 and "    | no 2 here" in report
    assert "/build.log" in report
    for run_dir in (repo / ".gitgrid/runs").glob("*/*/attempt-1"):
        meta = json.loads((run_dir / "meta.json").read_text())
        if meta["status"] == "failed":
            assert meta["reason"].startswith("build failed") and meta["pid"] is None
            assert "no 2 here" in (run_dir / "build.log").read_text()
            assert not (run_dir / "stdout.log").exists()  # the command never ran


def test_submit_carries_build_to_the_node_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The submission record holds --build and the sweep's files; a node task builds every point
    (through the local array: the job script and ``gitgrid task``, as a cluster runs them)."""
    from gitgrid.launch.launcher import LaunchSettings
    from gitgrid.launch.registry import get_launcher

    repo = c_model(tmp_path / "c-model")
    monkeypatch.setenv("GITGRID_WORKER", "0")  # the node's environment reaches the command
    launcher = get_launcher("local-array", LaunchSettings(chunk=12, options=(("scratch", str(tmp_path)),)))
    launch = launcher.launch(["./prog"], repo=repo, options=RunOptions(build="make"))
    assert launch.submission is not None
    record = json.loads((launch.submission.folder / "submission.json").read_text())
    assert (record["build"], record["files"]) == ("make", ["model.h", "main.c"])
    assert launcher.wait(launch).state.succeeded == 12
    assert check_every_point_ran_its_own_values(repo, 1) == {"0": [1.5, 5.0, 10.0, 20.0] * 3}
