"""Benchmark of ``gitgrid submit`` on the local test cluster (tests/slurm/cluster.sh), as issue 4 asks.

Usage: python benchmarks/bench_submit.py [--points N] [--tasks N] [--repeat N]

Figures printed (medians):
  * ``gitgrid submit`` of a 1,000-point sweep, from command to job id (CLI, start-up included), and how
    many sbatch calls it made (one unless the cluster's MaxArraySize splits the sweep);
  * array-task overhead per point: each task reports its own time minus its command's
    ("gitgrid task ...: ... of which gitgrid (checkout, bookkeeping) X s"), over ``--tasks`` one-point
    tasks running ``true``; and the wall time per point of the whole array on the 2-core node.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_create import make_repo

GITGRID = [sys.executable, "-m", "gitgrid"]


def sweep(work: Path, name: str, points: int) -> Path:
    repo = make_repo(work / name, "nested")
    (repo / "spec.yaml").write_text(f"files: [src/model.py]\nparams:\n  param1: {{range: [1, {points}]}}\n")
    subprocess.run([*GITGRID, "create", "spec.yaml"], cwd=repo, check=True, stdout=subprocess.DEVNULL)
    return repo


def submit(repo: Path) -> tuple[float, list[str]]:
    start = time.perf_counter()
    out = subprocess.run(
        [*GITGRID, "submit", "--", "true"], cwd=repo, check=True, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    ids = re.search(r"job\(s\) ([\d, ]+)$", out.stdout.strip())
    return elapsed, (ids.group(1).split(", ") if ids else [])


def wait(job_ids: list[str]) -> None:
    squeue = ["squeue", "-h", "-j", ",".join(job_ids)]
    while subprocess.run(squeue, capture_output=True, text=True, check=False).stdout.strip():
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("sbatch") is None:
        raise SystemExit("no sbatch: start the test cluster first (sudo bash tests/slurm/cluster.sh start)")
    os.environ.update(
        GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="b@example.org",
        GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="b@example.org",
    )  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="gitgrid-bench-submit-"))
    try:
        times, calls = [], 0
        for n in range(args.repeat):
            repo = sweep(work, f"big{n}", args.points)
            elapsed, ids = submit(repo)
            times.append(elapsed)
            calls = len(ids)
            subprocess.run(["scancel", *ids], check=False)
        took = statistics.median(times)
        print(f"gitgrid submit, {args.points:,} points: {took:.2f} s from command to job id ({calls} sbatch "
              "call(s)); target < 3 s")  # fmt: skip
        repo = sweep(work, "tasks", args.tasks)
        start = time.perf_counter()
        _, ids = submit(repo)
        wait(ids)
        wall = time.perf_counter() - start
        logs = "".join(p.read_text() for p in repo.glob(".gitgrid/runs/*/submissions/*/logs/*.out"))
        own = [float(x) for x in re.findall(r"of which gitgrid \(checkout, bookkeeping\) ([\d.]+) s", logs)]
        if own:
            middle, worst = statistics.median(own) * 1e3, max(own) * 1e3
            note = "the node's first task makes the checkout"
            print(f"array-task overhead: {middle:.0f} ms/point median over {len(own)} tasks "
                  f"(max {worst:.0f} ms: {note}); target < 100 ms")  # fmt: skip
        per_point = wall / args.tasks * 1e3
        print(f"whole array of {args.tasks} one-point tasks on the local node: {per_point:.0f} ms/point wall "
              "(SLURM's own task start included)")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
