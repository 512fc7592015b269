"""Benchmark of results that travel with git and of reuse (issue 19), each figure beside its baseline,
measured in the same run.

Usage: python benchmarks/bench_results_git.py [--points 100000] [--keep DIR]

It creates an N-point sweep (``gitgrid create``, the 200-file repository of ``bench_create.py``), stores
one successful run per point (two metrics, a start time and a duration each, their recipe and run key)
through the store's own bulk path, then measures:

  push     ``git push`` of the sweep's branch and tag to an empty bare remote (the baseline), then
           ``gitgrid push`` of the results to it (writing the notes from the store, and pushing them);
           ``gitgrid push`` of everything to another empty remote
  size     bytes per point of the results as ``git push`` sends them (``git pack-objects`` of the notes
           ref alone), and of the pack gitgrid wrote them into
  pull     ``git fetch`` of the branch into an empty repository (the baseline), then ``gitgrid pull`` in a
           fresh clone (fetch the notes, check them, store N runs)
  reuse    a reuse lookup per point (the store's index, in process), and ``gitgrid run`` of the same
           sweep created again (every point reused) beside ``gitgrid status`` of another such sweep
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_create import compile_gitgrid, make_repo, spec

from gitgrid.git.repository import open_repository
from gitgrid.run.contract import Run
from gitgrid.store import open_store
from gitgrid.store.record import recipe_of, run_key
from gitgrid.sweep.catalog import find_sweep, list_points

GITGRID = [sys.executable, "-m", "gitgrid"]
COMMAND = ["python3", "sim.py"]


Figure = tuple[float, float]  # wall seconds, CPU seconds (user + system, of every process it started)


def run(command: list[str], cwd: Path) -> Figure:
    """Wall and CPU time of ``command`` (which must succeed). On a shared machine the CPU time is the
    steadier figure; both are printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def fill(repo: Path, name: str) -> int:
    """One successful run per point, stored as gitgrid stores pulled runs, then marked
    not shared: as if they had all run here. Returns the number of runs."""
    repository = open_repository(repo)
    sweep = find_sweep(repository, name)
    points = list(list_points(repository, sweep))
    trees = repository.trees([p.commit for p in points])
    recipe, rng, now = recipe_of(COMMAND, None, None), random.Random(19), time.time()
    runs = []
    for point in points:
        started = now + point.index * 0.05 + rng.random() * 0.01
        ended = started + 0.03 + rng.random() * 0.02
        metrics = {"loss": rng.random() * 100, "rate": rng.random()}
        run = Run(
            name, point.index, point.commit, 1, "success", "", host="node17", started=started, ended=ended,
            exit_code=0, metrics=metrics, recipe=recipe, key=run_key(trees[point.commit], recipe),
        )  # fmt: skip
        runs.append((run, run.key))
    _, store = open_store(repository)
    try:
        store.sweeps.sync(sweep, points)
        for start in range(0, len(runs), 20_000):
            store.shares.add_pulled(runs[start : start + 20_000], ())
        store.shares.unshare_all()
    finally:
        store.close()
    return len(runs)


def lookup_per_point(repo: Path, name: str) -> float:
    """Seconds per point of looking every point's key up among the stored successful runs."""
    repository = open_repository(repo)
    sweep = find_sweep(repository, name)
    points = list(list_points(repository, sweep))
    trees = repository.trees([p.commit for p in points])
    recipe = recipe_of(COMMAND, None, None)
    keys = [run_key(trees[p.commit], recipe) for p in points]
    _, store = open_store(repository)
    try:
        started = time.perf_counter()
        found = store.reuse.sources(keys, "a sweep reusing them")
        seconds = time.perf_counter() - started
    finally:
        store.close()
    assert len(found) >= len(points) * 0.99, len(found)
    return seconds / len(points)


def notes_bytes(repo: Path) -> int:
    """Bytes of the pack ``git push`` would send for the notes ref alone."""
    pack = subprocess.run(
        ["git", "pack-objects", "--revs", "--stdout", "-q"], cwd=repo, input=b"refs/notes/gitgrid\n",
        capture_output=True, check=True,
    )  # fmt: skip
    return len(pack.stdout)


BRANCH_PUSH = "git push of the branch and tag (baseline)"
RESULTS_PUSH = "gitgrid push of the results"
BRANCH_FETCH = "git fetch of the branch (baseline)"
PULL = "gitgrid pull (a fresh clone)"
STATUS = "gitgrid status (a sweep created again, first look; baseline)"
REUSED = "gitgrid run (a sweep created again: every point reused)"


def report(figures: dict[str, Figure], n: int, sent: int, written: int, per_point: float) -> None:
    print("| figure | wall (s) | CPU (s) |\n| --- | --- | --- |")
    for name, (wall, cpu) in figures.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    for name, figure, baseline in (
        ("push", RESULTS_PUSH, BRANCH_PUSH),
        ("pull", PULL, BRANCH_FETCH),
        ("all reused", REUSED, STATUS),
    ):
        (wall, cpu), (base_wall, base_cpu) = figures[figure], figures[baseline]
        print(f"{name}: {wall / base_wall:.2f}x the baseline's wall time, {cpu / base_cpu:.2f}x its CPU time")
    print(f"results as pushed: {sent / n:.1f} bytes per point; as written: {written / n:.1f}")
    print(f"reuse lookup: {per_point * 1e6:.1f} us per point")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    args = parser.parse_args()
    compile_gitgrid()  # gitgrid as installed: its modules byte-compiled
    work = args.keep or Path(tempfile.mkdtemp(prefix="gitgrid-results-git-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    n = args.points
    origin = make_repo(work / "origin", "nested")
    (origin / "spec.yaml").write_text(spec(n))
    git(origin, "add", "spec.yaml")
    git(origin, "commit", "-q", "-m", "spec")
    run([*GITGRID, "create", "--name", "study", "spec.yaml"], origin)
    started = time.perf_counter()
    count = fill(origin, "study")
    print(f"{n} points; store filled with {count} runs in {time.perf_counter() - started:.1f} s")
    for remote in ("a.git", "b.git"):
        git(work, "init", "-q", "--bare", remote)
    remote_a, remote_b = str(work / "a.git"), str(work / "b.git")
    figures: dict[str, Figure] = {}
    figures[BRANCH_PUSH] = run(["git", "push", "-q", remote_a, "study", "gitgrid/study"], origin)
    before = {p.name for p in (origin / ".git/objects/pack").glob("*.pack")}
    figures[RESULTS_PUSH] = run([*GITGRID, "push", remote_a], origin)
    written = [p for p in (origin / ".git/objects/pack").glob("*.pack") if p.name not in before]
    figures["gitgrid push (everything, to an empty remote)"] = run([*GITGRID, "push", remote_b], origin)
    sent = notes_bytes(origin)
    git(work, "init", "-q", "empty")
    figures[BRANCH_FETCH] = run(["git", "fetch", "-q", remote_b, "study:study"], work / "empty")
    git(work, "clone", "-q", remote_b, "laptop")
    figures[PULL] = run([*GITGRID, "pull"], work / "laptop")
    per_point = lookup_per_point(origin, "study")
    run([*GITGRID, "create", "--name", "again", "spec.yaml"], origin)
    run([*GITGRID, "create", "--name", "other", "spec.yaml"], origin)
    figures[STATUS] = run([*GITGRID, "status", "other"], origin)
    figures[REUSED] = run([*GITGRID, "run", "again", "--", *COMMAND], origin)
    report(figures, n, sent, sum(p.stat().st_size for p in written), per_point)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
