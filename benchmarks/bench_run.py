"""Benchmark of ``gitgrid run`` and ``gitgrid results``, with the baselines named in issue 3, in one run.

Usage: python benchmarks/bench_run.py [--repeat N] [--points N] [--results N] [--dvc-points N]
                                      [--large-files N]

Figures printed (medians over ``--repeat`` runs):
  * per-point overhead of ``gitgrid run -j 2 -- true`` over a 500-point sweep of a ~200-file repository
    (every point checks out its commit, gets a run directory, meta file and store row), warm worker
    checkouts (``--rerun``), and the first run with its checkouts made;
  * GNU parallel running ``true`` 500 times with ``-j 2`` (no git at all) and the ratio;
  * the same per-point figure on a 20,000-file repository (``--large-files``), where moving a checkout
    by ``git checkout`` alone would stat every file, with GNU parallel measured again beside it;
  * DVC's experiment queue on the same kind of points, when ``dvc`` is on PATH (else the column is skipped,
    saying so);
  * the store's writes of a point in this process (CPU and wall time): a start and an end in two
    transactions (``store.runs.add``, ``finish``) against the runner's one (``Recorder``);
  * ``gitgrid results`` (CLI, start-up included) over 100,000 stored results (``--results 0`` skips it);
  * the stale-build check of ``--build`` (#16): ``run --build true -- true`` with the check and with it
    switched off (a patched gitgrid, for this measurement only), on both repositories; the difference per
    point is what the check costs (its inotify watches, the swept files' digests, the record); and the
    check alone, in-process, in CPU time per point, which other load on the machine does not blur.

gitgrid's modules are byte-compiled first, as ``pip install`` leaves them (an editable install with
``PYTHONDONTWRITEBYTECODE`` set would compile ~80 modules on every command, ~0.3 s).
gitgrid and GNU parallel are timed in turns (gitgrid then parallel, then the other way round), so both
see the same load; a ratio is the median of the ratios of each pair. A line after the two overhead
figures gives both ratios (200 and 20,000 files) of this one run against issue 18's targets;
``--overhead-only`` stops there.
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
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_create import compile_gitgrid, git, make_repo

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


@dataclass(frozen=True)
class Overhead:
    """Seconds per point of ``gitgrid run --rerun`` (warm checkouts) and of GNU parallel (None when it
    is not installed), measured in turns, and of the first run, which made the checkouts."""

    first: float
    ours: list[float]
    theirs: list[float] | None

    @property
    def ratio(self) -> float | None:
        """The median of the pairs' ratios gitgrid / GNU parallel."""
        if not self.theirs:
            return None
        return statistics.median(a / b for a, b in zip(self.ours, self.theirs, strict=True))


def bench_overhead(repo: Path, points: int, repeat: int) -> Overhead:
    """gitgrid and GNU parallel in turns, each pair in alternating order."""
    first = timed([*GITGRID, "run", "-j", "2", "--", "true"], repo) / points
    ours: list[float] = []
    theirs: list[float] | None = [] if shutil.which("parallel") else None
    gitgrid = [*GITGRID, "run", "-j", "2", "--rerun", "--", "true"]
    parallel = ["parallel", "-j", "2", "true", ":::", *map(str, range(points))]
    for turn in range(repeat):
        if theirs is not None and turn % 2:
            theirs.append(timed(parallel, repo.parent) / points)
        ours.append(timed(gitgrid, repo) / points)
        if theirs is not None and not turn % 2:
            theirs.append(timed(parallel, repo.parent) / points)
    return Overhead(first, ours, theirs)


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


# gitgrid with the stale-build check switched off: the baseline of what the check costs
UNCHECKED = [
    sys.executable, "-c",
    "import sys; from gitgrid.run.checkouts import Checkout; Checkout.build_guard = lambda self, warn: None; "
    "from gitgrid.cli import app; sys.argv[0] = 'gitgrid'; app()",
]  # fmt: skip


def bench_build_check(repo: Path, points: int, repeat: int, label: str) -> None:
    """``--build true`` with the stale-build check and without it, measured in turn; ms per point."""
    args = ["run", "-j", "2", "--rerun", "--build", "true", "--", "true"]
    timed([*GITGRID, *args], repo)  # warm: every point has run once with --build
    checked, unchecked = [], []
    for _ in range(repeat):
        checked.append(timed([*GITGRID, *args], repo) / points)
        unchecked.append(timed([*UNCHECKED, *args], repo) / points)
    on, off = statistics.median(checked), statistics.median(unchecked)
    print(
        f"{label}: run --build true -- true {on * 1e3:6.2f} ms/point with the stale-build check, "
        f"{off * 1e3:.2f} without: +{(on - off) * 1e3:.2f} ms/point, ratio {on / off:.2f}x"
    )


def bench_check_alone(repo: Path, points: int, label: str) -> None:
    """The stale-build check by itself, in this process, on a worker checkout moved from point to point:
    its CPU time (user + system: robust to other load on the machine) and wall time per point around a
    build that writes one file, and the one-off cost of watching the checkout's folders."""
    from gitgrid import find_sweep, list_points, open_repository
    from gitgrid.layout import Layout
    from gitgrid.run.checkouts import sweep_files, worker_checkouts

    opened = open_repository(repo)
    sweep = find_sweep(opened)
    commits = [p.commit for p in list_points(opened, sweep)][:points]
    layout = Layout.of(opened)
    with worker_checkouts(opened, layout, 1, sweep_files(sweep)) as (checkout,):
        checkout.place(commits[0])
        start = time.perf_counter()
        guard = checkout.build_guard(print)
        made = time.perf_counter() - start
        assert guard is not None
        cpu = wall = 0.0
        for commit in commits:
            checkout.move_to(commit)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            guard.begin()
            (checkout.path / "product.o").write_bytes(b"built")  # the build: one product written
            assert guard.end(built=True) is None
            cpu += time.process_time() - cpu0
            wall += time.perf_counter() - wall0
    n = len(commits)
    print(
        f"{label}: the stale-build check alone {cpu / n * 1e3:.3f} ms CPU, {wall / n * 1e3:.3f} ms wall a "
        f"point ({n} points); watching the checkout's folders once: {made * 1e3:.1f} ms"
    )


def bench_large(work: Path, files: int, points: int, repeat: int) -> tuple[float | None, Path]:
    """The per-point figure on a large repository, against GNU parallel measured in turn with it: the
    ratio, and the repository, for more figures."""
    repo = large_repo(work, files, points)
    found = bench_overhead(repo, points, repeat)
    ours = statistics.median(found.ours)
    print(f"{files:,}-file repository: gitgrid run -- true {ours * 1e3:6.2f} ms/point", end="")
    if found.theirs is None:
        print("; GNU parallel skipped (not installed)")
        return None, repo
    base = statistics.median(found.theirs)
    print(f"; GNU parallel {base * 1e3:.2f} ms/point; gitgrid/parallel = {found.ratio:.2f}x (target <= 1.4x)")
    return found.ratio, repo


def bench_store_writes(work: Path, points: int, repeat: int) -> None:
    """A point's store writes as ``gitgrid run`` made them before issue 18 (a transaction when the run
    starts, one when it ends) and as it makes them now (the start with the previous end), in turns."""
    from gitgrid.run.contract import Run
    from gitgrid.sweep.record import PointRecord, Sweep

    try:
        from gitgrid.store import Recorder, Store
    except ImportError:  # benchmarking a gitgrid before issue 18
        print("store writes of a point: skipped (this gitgrid has no Recorder)")
        return

    def one_pass(store: Store, two: bool, attempt: int) -> tuple[float, float]:
        recorder = Recorder(store.runs)
        cpu, wall = time.process_time(), time.perf_counter()
        for index in range(points):
            run = Run("s", index, f"{index:040x}", attempt, "running", f"/r/{index}/{attempt}", started=1.0)
            ended = run.ending("success", exit_code=0, metrics={"loss": index / 2})
            if two:
                store.runs.finish(store.runs.add(run), ended)
            else:
                recorder.ended(recorder.started(run), ended)
        recorder.flush()
        return (time.process_time() - cpu) / points, (time.perf_counter() - wall) / points

    store = Store.open(work / "writes.db")
    sweep = Sweep("s", "b" * 40, "master", "c" * 40, points, ("x",), "2026-01-01")
    store.sweeps.sync(sweep, [PointRecord(i, f"{i:040x}", {"x": i}) for i in range(points)])
    figures: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for turn in range(repeat):
        for two in (True, False) if turn % 2 else (False, True):
            figures[two].append(one_pass(store, two, len(figures[True]) + len(figures[False]) + 1))
    store.close()

    def medians(two: bool) -> str:
        cpu, wall = (statistics.median(f[k] for f in figures[two]) for k in (0, 1))
        return f"{cpu * 1e3:.3f} ms CPU, {wall * 1e3:.3f} ms wall"

    print(f"store writes of a point: two transactions {medians(True)}; one (the runner's) {medians(False)}")


def overhead_figures(work: Path, args: argparse.Namespace) -> tuple[Path, Path, float]:
    """Run overhead on both repositories against GNU parallel, and both ratios on one line; the two
    repositories and gitgrid's seconds per point on the small one."""
    repo = sweep_repo(work, args.points)
    files = len(git(repo, "ls-files").split())
    print(
        f"gitgrid run benchmark: {args.points} points, {files}-file repository, -j 2, median of {args.repeat}"
    )
    small = bench_overhead(repo, args.points, args.repeat)
    ours = statistics.median(small.ours)
    print(f"gitgrid run -- true:      {ours * 1e3:6.2f} ms/point (target < 10); "
          f"first run, checkouts made: {small.first * 1e3:.2f} ms/point")  # fmt: skip
    if small.theirs is None:
        print("GNU parallel:             skipped (parallel is not installed)")
    else:
        line = f"GNU parallel -j 2 true:   {statistics.median(small.theirs) * 1e3:6.2f} ms/point"
        print(f"{line}; gitgrid/parallel = {small.ratio:.2f}x (target <= 1.15x)")
    large, large_path = bench_large(work, args.large_files, args.points, args.repeat)
    if small.ratio is not None and large is not None:
        both = f"{small.ratio:.2f}x at {files} files (target <= 1.15x), "
        both += f"{large:.2f}x at {args.large_files:,} files (target <= 1.4x)"
        print(f"run overhead / GNU parallel: {both}; load average {os.getloadavg()[0]:.1f}")
    bench_store_writes(work, args.points, args.repeat)
    return repo, large_path, ours


def other_figures(work: Path, args: argparse.Namespace, repo: Path, large: Path, ours: float) -> None:
    """The stale-build check on both repositories, DVC's queue and ``gitgrid results``."""
    label = f"{len(git(repo, 'ls-files').split())}-file repository"
    bench_build_check(repo, args.points, args.repeat, label)
    bench_check_alone(repo, args.points, label)
    bench_build_check(large, args.points, args.repeat, f"{args.large_files:,}-file repository")
    bench_check_alone(large, args.points, f"{args.large_files:,}-file repository")
    dvc = bench_dvc(work, args.dvc_points)
    if dvc is None:
        print("DVC queue:                skipped (dvc is not installed)")
    else:
        print(f"DVC queue -j 2:           {dvc * 1e3:6.0f} ms/point ({args.dvc_points} points); "
              f"DVC/gitgrid = {dvc / ours:.0f}x (target >= 100x)")  # fmt: skip
    if args.results:
        listing = statistics.median(bench_results(work, args.results, args.repeat))
        print(f"gitgrid results, {args.results:,} stored results: {listing:.2f} s (target < 1 s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--dvc-points", type=int, default=20)
    parser.add_argument("--large-files", type=int, default=20_000)
    parser.add_argument(
        "--overhead-only", action="store_true", help="only the run overhead against GNU parallel, both sizes"
    )
    args = parser.parse_args()
    os.environ.update(
        GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="b@example.org",
        GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="b@example.org",
    )  # fmt: skip
    compile_gitgrid()  # gitgrid as installed: its modules byte-compiled
    work = Path(tempfile.mkdtemp(prefix="gitgrid-bench-run-"))
    try:
        repo, large, ours = overhead_figures(work, args)
        if not args.overhead_only:
            other_figures(work, args, repo, large, ours)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
