"""Benchmark of ``gitgrid run`` and ``gitgrid results``, with the baselines named in issue 3, in one run.

Usage: python benchmarks/bench_run.py [--repeat N] [--points N] [--results N] [--dvc-points N]
                                      [--large-files N]

Figures printed (medians over ``--repeat`` runs):
  * per-point overhead of ``gitgrid run -j 2 -- true`` over a 500-point sweep of a ~200-file repository
    (every point checks out its commit, gets a run directory, meta file and store rows), warm worker
    checkouts (``--rerun``), and the first run with its checkouts made;
  * GNU parallel running ``true`` 500 times with ``-j 2`` (no git at all) and the ratio;
  * the same per-point figure on a 20,000-file repository (``--large-files``), where moving a checkout
    by ``git checkout`` alone would stat every file, with GNU parallel measured again beside it;
  * DVC's experiment queue on the same kind of points, when ``dvc`` is on PATH (else the column is skipped,
    saying so);
  * ``gitgrid results`` (CLI, start-up included) over 100,000 stored results.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_create import git, make_repo

GITGRID = [sys.executable, "-m", "gitgrid"]


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def sweep_repo(work: Path, points: int) -> Path:
    repo = make_repo(work / "repo", "nested")
    (repo / "spec.yaml").write_text(f"files: [src/model.py]\nparams:\n  param1: {{range: [1, {points}]}}\n")
    subprocess.run([*GITGRID, "create", "spec.yaml"], cwd=repo, check=True, stdout=subprocess.DEVNULL)
    return repo


def large_repo(work: Path, files: int, points: int) -> Path:
    """A repository of ``files`` files in folders of 100, one of them ``src/model.py`` with the param."""
    repo = work / "large"
    for n in range(files - 1):
        folder = repo / f"pkg{n // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module_{n % 100}.py").write_text(f"value = {n}\n")
    (repo / "src").mkdir()
    (repo / "src/model.py").write_text("param1 = 0\n")
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "large")
    (repo / "spec.yaml").write_text(f"files: [src/model.py]\nparams:\n  param1: {{range: [1, {points}]}}\n")
    subprocess.run([*GITGRID, "create", "spec.yaml"], cwd=repo, check=True, stdout=subprocess.DEVNULL)
    return repo


def bench_gitgrid(repo: Path, points: int, repeat: int) -> tuple[float, list[float]]:
    first = timed([*GITGRID, "run", "-j", "2", "--", "true"], repo) / points
    warm = [
        timed([*GITGRID, "run", "-j", "2", "--rerun", "--", "true"], repo) / points for _ in range(repeat)
    ]
    return first, warm


def bench_parallel(points: int, repeat: int) -> list[float] | None:
    if shutil.which("parallel") is None:
        return None
    args = ["parallel", "-j", "2", "true", ":::", *map(str, range(points))]
    return [timed(args, Path.cwd()) / points for _ in range(repeat)]


def bench_dvc(work: Path, points: int) -> float | None:
    """DVC's queue: one experiment per point, two workers; seconds per point."""
    if shutil.which("dvc") is None:
        return None
    repo = work / "dvc"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "master")
    (repo / "params.yaml").write_text("param1: 0\n")
    (repo / "dvc.yaml").write_text('stages:\n  sim:\n    cmd: "true"\n    params: [param1]\n')
    subprocess.run(["dvc", "init", "-q"], cwd=repo, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "dvc")
    for value in range(points):
        subprocess.run(["dvc", "exp", "run", "--queue", "-S", f"param1={value}"], cwd=repo, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    start = time.perf_counter()
    subprocess.run(["dvc", "queue", "start", "-j", "2"], cwd=repo, check=True, stdout=subprocess.DEVNULL)
    while _dvc_busy(repo):
        time.sleep(0.5)
    return (time.perf_counter() - start) / points


def _dvc_busy(repo: Path) -> bool:
    status = subprocess.run(["dvc", "queue", "status"], cwd=repo, capture_output=True, text=True, check=False)
    return "Queued" in status.stdout or "Running" in status.stdout


def bench_results(work: Path, count: int, repeat: int) -> list[float]:
    """``gitgrid results`` over ``count`` stored results (written through the store API)."""
    from gitgrid import find_sweep, list_points, open_repository
    from gitgrid.run.contract import Run
    from gitgrid.store import open_store

    repo_path = make_repo(work / "results", "nested")
    axes = f"  param1: {{range: [1, {count // 100}]}}\n  param2: {{range: [1, 100]}}\n"
    (repo_path / "spec.yaml").write_text(f"files: [src/model.py]\nparams:\n{axes}")
    subprocess.run([*GITGRID, "create", "spec.yaml"], cwd=repo_path, check=True, stdout=subprocess.DEVNULL)
    repo = open_repository(repo_path)
    sweep = find_sweep(repo)
    points = list(list_points(repo, sweep))
    _, store = open_store(repo)
    store.sweeps.sync(sweep, points)
    for p in points:
        run = Run(sweep.name, p.index, p.commit, 1, "running", f"/runs/{p.index}", started=time.time() - 1)
        run_id = store.runs.add(run)
        store.runs.finish(
            run_id, run.ending("success", exit_code=0, metrics={"loss": p.index * 0.5, "rate": 1.0})
        )
    store.close()
    return [timed([*GITGRID, "results", "--format", "csv"], repo_path) for _ in range(repeat)]


def bench_large(work: Path, files: int, points: int, repeat: int) -> None:
    """The per-point figure on a large repository, against GNU parallel measured in turn with it."""
    repo = large_repo(work, files, points)
    _, warm = bench_gitgrid(repo, points, repeat)
    ours = statistics.median(warm)
    print(f"{files:,}-file repository: gitgrid run -- true {ours * 1e3:6.2f} ms/point", end="")
    theirs = bench_parallel(points, repeat)
    if theirs is None:
        print("; GNU parallel skipped (not installed)")
        return
    base = statistics.median(theirs)
    print(f"; GNU parallel {base * 1e3:.2f} ms/point; gitgrid/parallel = {ours / base:.2f}x (target <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--dvc-points", type=int, default=20)
    parser.add_argument("--large-files", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.update(
        GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="b@example.org",
        GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="b@example.org",
    )  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="gitgrid-bench-run-"))
    try:
        repo = sweep_repo(work, args.points)
        files = len(git(repo, "ls-files").split())
        head = f"gitgrid run benchmark: {args.points} points, {files}-file repository, -j 2"
        print(f"{head}, median of {args.repeat}")
        first, warm = bench_gitgrid(repo, args.points, args.repeat)
        ours = statistics.median(warm)
        print(f"gitgrid run -- true:      {ours * 1e3:6.2f} ms/point (target < 10); "
              f"first run, checkouts made: {first * 1e3:.2f} ms/point")  # fmt: skip
        theirs = bench_parallel(args.points, args.repeat)
        if theirs is None:
            print("GNU parallel:             skipped (parallel is not installed)")
        else:
            base = statistics.median(theirs)
            ratio = ours / base
            line = f"GNU parallel -j 2 true:   {base * 1e3:6.2f} ms/point"
            print(f"{line}; gitgrid/parallel = {ratio:.2f}x (target <= 1.5x)")
        bench_large(work, args.large_files, args.points, args.repeat)
        dvc = bench_dvc(work, args.dvc_points)
        if dvc is None:
            print("DVC queue:                skipped (dvc is not installed)")
        else:
            print(f"DVC queue -j 2:           {dvc * 1e3:6.0f} ms/point ({args.dvc_points} points); "
                  f"DVC/gitgrid = {dvc / ours:.0f}x (target >= 100x)")  # fmt: skip
        listing = statistics.median(bench_results(work, args.results, args.repeat))
        print(f"gitgrid results, {args.results:,} stored results: {listing:.2f} s (target < 1 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
