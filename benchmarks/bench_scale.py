"""Benchmark of gitgrid at scale (issue 10): each figure and its baseline, measured in the same run, per size.

Usage: python benchmarks/bench_scale.py [--sizes 10000,100000,1000000] [--repeat 3] [--keep DIR]

For each size N, a sweep of N points over the 200-file repository of ``bench_create.py`` (``param1`` of
N/1000 values, ``param2`` of 1,000, ``param3`` fixed), the medians over ``--repeat`` runs of:

  create      ``gitgrid create``: time, points/s, peak memory of the largest process and a sampled timeline
              of it; baseline ``gitgrid create --writer fast-import`` (the same commits through git)
  list        ``gitgrid list``, ``list --format csv``, ``list --where 'param1 == 1'`` (1,000 rows out);
              baselines: the one git command giving the same data, ``git rev-list --reverse --first-parent
              BASE..TIP`` and ``git log --reverse --first-parent -z --format=<the trailers> BASE..TIP``
  store       filled with one finished run per point (see ``fill_store``), then ``gitgrid status``,
              ``results --sort loss --best 10``, ``results --format csv``, ``results`` (table) and
              ``gitgrid run -j 2 -- true`` on the finished sweep (resuming: nothing to run); baselines:
              ``sqlite3`` of the store (a GROUP BY; ORDER BY ... LIMIT 10; ``-csv`` of the points table)
  .git        growth per point as written, after ``git gc`` and after ``git repack -adf``

and once, start-up: ``gitgrid list`` of a 36-point sweep, importing the CLI, typer alone, Python itself,
against ``git rev-list`` of the same sweep (medians of 21).

Peak memory is the largest process's maximum resident set (``ru_maxrss``), as the issue measured it; the
sampled per-program peaks (gitgrid's Python, git) say which process it was. git's resident set includes
the pack files it maps (file pages the kernel may drop at will), which is most of it. It measures whatever
``gitgrid`` the interpreter imports, through the CLI only, except ``fill_store``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_create import clone, du, git, make_repo, spec

GITGRID = [sys.executable, "-m", "gitgrid"]
TRAILERS = (
    "%H%x00%(trailers:key=Gitgrid-Index,valueonly,separator=%x1d)"
    "%x00%(trailers:key=Gitgrid-Params,valueonly,separator=%x1d)"
)
PROBE = (  # runs the command; prints the largest ru_maxrss among everything it started (KiB)
    "import resource, subprocess, sys; "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode); "
    "print(r.stderr[-2000:] if r.returncode else '', file=sys.stderr)"
)


@dataclass
class Measure:
    """One run of a command: wall time, peak memory (largest process), per-program peaks, a timeline."""

    seconds: float
    peak_kib: int
    programs: dict[str, int] = field(default_factory=dict)  # program name -> sampled peak RSS, KiB
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (s, RSS of the largest process)


def measure(command: Sequence[str], cwd: Path, every: float = 0.1) -> Measure:
    """Run ``command`` (output discarded) and sample the resident memory of its processes meanwhile."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, *command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    start = time.perf_counter()
    result = Measure(0.0, 0)
    sampler = threading.Thread(target=_sample, args=(proc, start, every, result), daemon=True)
    sampler.start()
    out, err = proc.communicate()
    result.seconds = time.perf_counter() - start
    sampler.join()
    peak, code = out.split()
    if code != "0":
        raise SystemExit(f"failed ({code}): {' '.join(command)} in {cwd}: {err.strip()}")
    result.peak_kib = int(peak)
    return result


def _sample(proc: subprocess.Popen[str], start: float, every: float, into: Measure) -> None:
    while proc.poll() is None:
        largest = 0
        for pid in _descendants(proc.pid):
            name, rss = _status(pid)
            if name:
                into.programs[name] = max(into.programs.get(name, 0), rss)
                largest = max(largest, rss)
        into.timeline.append((time.perf_counter() - start, largest))
        time.sleep(every)


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *_descendants(int(child))]
    except OSError:
        pass
    return found


def _status(pid: int) -> tuple[str, int]:
    """Program name and resident set (KiB) of a process, or ("", 0) once it is gone."""
    name, rss = "", 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Name:"):
                name = line.split()[1]
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    except OSError:
        return "", 0
    return ("gitgrid" if name.startswith("python") else name), rss


def repeated(repeat: int, run: Callable[[], Measure]) -> Measure:
    """Median time over ``repeat`` runs; the largest peaks; the timeline of the median run."""
    runs = sorted((run() for _ in range(repeat)), key=lambda m: m.seconds)
    middle = runs[len(runs) // 2]
    programs = {n: max(m.programs.get(n, 0) for m in runs) for n in {n for m in runs for n in m.programs}}
    return Measure(middle.seconds, max(m.peak_kib for m in runs), programs, middle.timeline)


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def memory(m: Measure) -> str:
    by_program = ", ".join(f"{n} {mib(k)}" for n, k in sorted(m.programs.items(), key=lambda x: -x[1]))
    return f"peak {mib(m.peak_kib)}" + (f" ({by_program})" if by_program else "")


def show(label: str, m: Measure, baseline: Measure | None = None, base_label: str = "") -> None:
    line = f"  {label:<42} {m.seconds:8.2f} s  {memory(m)}"
    if baseline is not None:
        line += f"\n  {'  baseline: ' + base_label:<42} {baseline.seconds:8.2f} s  {memory(baseline)}"
        line += f"\n  {'  time gitgrid/baseline':<42} {m.seconds / baseline.seconds:8.2f}x"
    print(line, flush=True)


def timeline(m: Measure, points: int = 12) -> str:
    """The largest process's memory at about ``points`` moments spread over the run."""
    if not m.timeline:
        return "(too short to sample)"
    step = max(1, len(m.timeline) // points)
    return " | ".join(f"{t:.0f}s {k / 1024:.0f}" for t, k in m.timeline[::step])


# create ------------------------------------------------------------------------------------------------
def bench_create(source: Path, work: Path, n: int, repeat: int) -> Path:
    """Create the sweep ``repeat`` times (each in a fresh clone) with each writer; return the last clone."""

    def create(name: str, *extra: str) -> Measure:
        repo = clone(source, work / name)
        (repo / "spec.yaml").write_text(spec(n))
        return measure([*GITGRID, "create", "--name", "bench", *extra, "spec.yaml"], repo, every=0.25)

    pack = repeated(repeat, lambda: create("sweep"))
    fast = repeated(repeat, lambda: create("fast-import", "--writer", "fast-import"))
    shutil.rmtree(work / "fast-import")
    print(
        f"  create: {n / pack.seconds:,.0f} points/s; --writer fast-import {n / fast.seconds:,.0f} points/s"
    )
    show("gitgrid create", pack, fast, "create --writer fast-import")
    print(f"  memory timeline of create (s MiB): {timeline(pack)}")
    return work / "sweep"


# list --------------------------------------------------------------------------------------------------
def bench_list(repo: Path, repeat: int) -> None:
    base, tip = git(repo, "rev-parse", "master", "bench").split()
    commits = ["git", "rev-list", "--reverse", "--first-parent", f"{base}..{tip}"]
    trailers = ["git", "log", "--reverse", "--first-parent", "-z", f"--format={TRAILERS}", f"{base}..{tip}"]
    cases = [
        ("gitgrid list", ["list"], commits, "git rev-list --reverse"),
        ("gitgrid list --format csv", ["list", "--format", "csv"], trailers, "git log --reverse (trailers)"),
        ("gitgrid list --where 'param1 == 1'", ["list", "--where", "param1 == 1"], trailers, "same git log"),
    ]
    for label, args, baseline, base_label in cases:
        ours = repeated(repeat, functools.partial(measure, [*GITGRID, *args, "bench"], repo))
        theirs = repeated(repeat, functools.partial(measure, baseline, repo))
        show(label, ours, theirs, base_label)


# the store ---------------------------------------------------------------------------------------------
RESULT = 'printf \'{"loss": %s, "rate": 1.0}\' "$GITGRID_PARAM_PARAM2" > "$GITGRID_RESULT"'


def fill_store(repo_path: Path) -> float:
    """One finished run per point: 200 points run for real by ``gitgrid run`` (a shell writing
    ``result.json``), every other point stored through the store API as ``gitgrid collect`` stores a run
    found in a run directory (``Store.ingest``), one in a hundred failed. Returns the seconds it took.

    The one place here that uses gitgrid's internals: adapt it if the store's API changes.
    """
    from gitgrid import find_sweep, list_points, open_repository
    from gitgrid.run.contract import Run
    from gitgrid.store import open_store

    start = time.perf_counter()
    subset = "param1 == 1 and param2 <= 2.0"  # points 0-199
    command = [*GITGRID, "run", "-j", "2", "--where", subset, "bench", "--", "sh", "-c", RESULT]
    ran = subprocess.run(command, cwd=repo_path, capture_output=True, text=True, check=False)
    if ran.returncode != 0:
        raise SystemExit(f"gitgrid run failed while filling the store: {ran.stderr.strip()}")
    repo = open_repository(repo_path)
    sweep = find_sweep(repo, "bench")
    layout, store = open_store(repo)
    now = time.time()
    batch: list[tuple[Run, tuple[()]]] = []
    try:
        for p in list_points(repo, sweep):
            if p.index < 200:
                continue
            run_dir = layout.point_dir(sweep.name, p.index, p.commit, sweep.count) / "attempt-1"
            run = Run(sweep.name, p.index, p.commit, 1, "success", str(run_dir), params=p.params,
                      started=now, ended=now + 1.5, exit_code=0, host="bench")  # fmt: skip
            if p.index % 100 == 1:
                run = run.ending("failed", exit_code=1, reason="exit status 1")
            else:
                a, b = float(p.params["param1"]), float(p.params["param2"])
                run = dataclasses.replace(run, metrics={"loss": (b - 5) ** 2 + a / 1000, "rate": a + b})
            batch.append((run, ()))
            if len(batch) == 1000:  # one transaction per thousand runs, as collect stores them
                store.runs.ingest_many(batch)
                batch = []
        store.runs.ingest_many(batch)
    finally:
        store.close()
        repo.close()
    return time.perf_counter() - start


def bench_store(repo: Path, repeat: int) -> None:
    print(f"  store filled in {fill_store(repo):.1f} s (200 runs by gitgrid run, the rest by Store.ingest)")
    db = str(repo / ".gitgrid/results.db")
    shown = (  # the rows of `gitgrid results`, as sqlite3 itself would give them (store schema 2)
        "SELECT p.idx, p.commit_id, p.param1, p.param2, p.param3, "
        "(SELECT value FROM metrics WHERE run_id = r.id AND name = 'loss') AS loss, "
        "(SELECT value FROM metrics WHERE run_id = r.id AND name = 'rate') AS rate, "
        "r.status, r.attempt, ROUND(r.duration, 3) FROM points p JOIN runs r ON r.id = p.success_run "
        "WHERE p.sweep = 'bench'"
    )
    sql = {
        "status": "SELECT state, count(*) FROM points WHERE sweep = 'bench' GROUP BY state",
        "best": "SELECT idx, value FROM point_metrics WHERE sweep = 'bench' AND name = 'loss' "
        "ORDER BY value LIMIT 10",
        "csv": f"{shown} ORDER BY p.idx",
    }
    cases = [
        ("gitgrid status", ["status"], ["sqlite3", db, sql["status"]], "sqlite3 GROUP BY status"),
        ("gitgrid results --sort loss --best 10", ["results", "--sort", "loss", "--best", "10"],
         ["sqlite3", db, sql["best"]], "sqlite3 ORDER BY loss LIMIT 10"),
        ("gitgrid results --format csv", ["results", "--format", "csv"],
         ["sqlite3", "-csv", "-header", db, sql["csv"]], "sqlite3 -csv of the same rows"),
        ("gitgrid results (table)", ["results"], None, ""),
        ("gitgrid run -j 2 -- true (resume)", ["run", "-j", "2", "bench", "--", "true"], None, ""),
    ]  # fmt: skip
    for label, args, baseline, base_label in cases:
        sweep = [] if args[0] == "run" else ["bench"]
        ours = repeated(repeat, functools.partial(measure, [*GITGRID, *args, *sweep], repo))
        theirs = None
        if baseline is not None and shutil.which("sqlite3"):
            try:
                theirs = repeated(repeat, functools.partial(measure, baseline, repo))
            except SystemExit as exc:
                print(f"  (baseline skipped: {exc})")
        show(label, ours, theirs, base_label)


# .git size ---------------------------------------------------------------------------------------------
def bench_size(repo: Path, clone_mib: float, n: int) -> None:
    """What the sweep adds to ``.git`` (over a fresh clone of the source), then after gc and repack."""
    written = du(repo / ".git") - clone_mib
    line = f"  .git growth: {written:.0f} MiB as written ({written * 2**20 / n:.0f} bytes/point)"
    start = time.perf_counter()
    git(repo, "gc", "--quiet")
    gc_time, after_gc = time.perf_counter() - start, du(repo / ".git") - clone_mib
    start = time.perf_counter()
    git(repo, "repack", "-adf", "--quiet")
    repack_time, after_repack = time.perf_counter() - start, du(repo / ".git") - clone_mib
    print(f"{line}; after git gc ({gc_time:.0f} s) {after_gc:.0f} MiB "
          f"({after_gc * 2**20 / n:.0f} bytes/point); after git repack -adf ({repack_time:.0f} s) "
          f"{after_repack:.0f} MiB ({after_repack * 2**20 / n:.0f} bytes/point)")  # fmt: skip


# start-up ----------------------------------------------------------------------------------------------
def bench_startup(work: Path) -> None:
    repo = make_repo(work / "startup", "nested")
    (repo / "spec.yaml").write_text(
        "files: [src/model.py]\nparams:\n  param1: 3.\n  param2: {range: [0.5, 3.0, 0.5]}\n"
        "  param3: {range: [-5., -30., -5.]}\n"
    )
    subprocess.run([*GITGRID, "create", "--name", "small", "spec.yaml"], cwd=repo, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip

    def median_ms(command: list[str]) -> float:
        times = []
        for _ in range(21):
            start = time.perf_counter()
            subprocess.run(command, cwd=repo, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e3

    rev_list = median_ms(["git", "rev-list", "--reverse", "--first-parent", "master..small"])
    listing = median_ms([*GITGRID, "list", "small"])
    print(f"start-up: gitgrid list of a 36-point sweep {listing:.0f} ms; git rev-list {rev_list:.1f} ms")
    python = median_ms([sys.executable, "-c", "pass"])
    typer = median_ms([sys.executable, "-c", "import typer"])
    cli = median_ms([sys.executable, "-c", "import gitgrid.cli"])
    print(f"  python itself {python:.0f} ms; importing typer {typer:.0f} ms; importing the CLI {cli:.0f} ms "
          f"(gitgrid's own modules {cli - typer:.0f} ms)", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated point counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.keep or Path(tempfile.mkdtemp(prefix="gitgrid-bench-scale-"))
    os.environ.update(
        GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="b@example.org",
        GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="b@example.org",
    )  # fmt: skip
    print(f"gitgrid scale benchmark: sizes {', '.join(f'{n:,}' for n in sizes)}; median of {args.repeat}; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start")  # fmt: skip
    try:
        bench_startup(work)
        source = make_repo(work / "source", "nested")
        clone_mib = du(clone(source, work / "empty") / ".git")
        shutil.rmtree(work / "empty")
        for n in sizes:
            print(
                f"\n== {n:,} points ({len(git(source, 'ls-files').split())}-file repository) ==", flush=True
            )
            repo = bench_create(source, work, n, args.repeat)
            bench_list(repo, args.repeat)
            bench_store(repo, args.repeat)
            bench_size(repo, clone_mib, n)
            shutil.rmtree(repo)
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
