"""Benchmark of ``gitgrid analyze`` (issue 22) against ``gitgrid run`` on the same points, in one run.

Usage: python benchmarks/bench_analyze.py [--repeat N] [--points N] [--scale N]

Figures printed (medians over ``--repeat`` runs, the two commands measured alternately so that other load
on the machine weighs on both alike):
  * per-point overhead of ``gitgrid run -j 2 --rerun -- true`` and of ``gitgrid analyze -j 2 --rerun --
    true`` over the same ``--points`` points of a ~200-file repository (a stage's run: a checkout of the
    analysis code, a stage directory, meta file and store rows, the simulation's run directory looked at
    before and after), and their ratio (the target: within 1.2x);
  * ``gitgrid analyze -- true`` on a ``--scale``-point sweep whose every analysis is current (nothing to
    do: the plan, one hash of the working tree), command start-up included (the target: under 2 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_create import make_repo
from bench_run import GITGRID

# gitgrid as users start it: with Python's byte code cached (a sandbox may switch that off, and then every
# start compiles every module again)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path) -> float:
    """Wall-clock seconds of ``command``; :data:`CPU` gets the seconds of CPU it used (user and system),
    which other load on a shared machine does not lengthen."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


CPU: list[float] = []


def sweep_repo(work: Path, points: int) -> Path:
    repo = make_repo(work / "repo", "nested")
    (repo / "spec.yaml").write_text(f"files: [src/model.py]\nparams:\n  param1: {{range: [1, {points}]}}\n")
    subprocess.run([*GITGRID, "create", "spec.yaml"], cwd=repo, check=True, stdout=subprocess.DEVNULL)
    return repo


def per_point(repo: Path, points: int, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds per point of a warm ``run --rerun`` and a warm ``analyze --rerun``, measured alternately."""
    subprocess.run(
        [*GITGRID, "run", "-j", "2", "--", "true"], cwd=repo, check=True, capture_output=True, env=ENV
    )
    subprocess.run(
        [*GITGRID, "analyze", "-j", "2", "--", "true"], cwd=repo, check=True, capture_output=True, env=ENV
    )
    runs, stages = [], []
    for _ in range(repeat):
        runs.append(timed([*GITGRID, "run", "-j", "2", "--rerun", "--", "true"], repo) / points)
        stages.append(timed([*GITGRID, "analyze", "-j", "2", "--rerun", "--", "true"], repo) / points)
    return runs, stages


def unchanged(repo: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds (wall clock, and CPU) of an ``analyze`` with nothing to do (after one that ran every
    point), and of ``gitgrid status`` beside it."""
    subprocess.run(
        [*GITGRID, "run", "-j", "2", "--", "true"], cwd=repo, check=True, capture_output=True, env=ENV
    )
    subprocess.run(
        [*GITGRID, "analyze", "-j", "2", "--", "true"], cwd=repo, check=True, capture_output=True, env=ENV
    )
    walls, cpus = [], []
    for _ in range(repeat):
        walls.append(timed([*GITGRID, "analyze", "-j", "2", "--", "true"], repo))
        cpus.append(CPU[-1])
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--scale", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        runs, stages = per_point(sweep_repo(Path(work) / "small", args.points), args.points, args.repeat)
        run, stage = statistics.median(runs), statistics.median(stages)
        print(f"per point, {args.points} points, -j 2, warm (median of {args.repeat}):")
        print(f"  gitgrid run --rerun -- true      {run * 1000:7.2f} ms")
        print(f"  gitgrid analyze --rerun -- true  {stage * 1000:7.2f} ms")
        print(f"  ratio analyze / run               {stage / run:7.2f}  (target: within 1.2)")
        walls, cpus = unchanged(sweep_repo(Path(work) / "scale", args.scale), args.repeat)
        print(f"analyze with every analysis current, {args.scale} points (median of {args.repeat}):")
        wall = statistics.median(walls)
        print(f"  gitgrid analyze -- true           {wall:7.2f} s wall clock (target: under 2 s)")
        print(f"                                    {statistics.median(cpus):7.2f} s of CPU")


if __name__ == "__main__":
    main()
