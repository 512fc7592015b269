"""Store-side figures at scale: a results store of N finished points, then status, results and resuming.

Building a real N-commit sweep and running N points takes an hour at 10^6; the store's queries do not
depend on how the rows got there. So this makes a small repository whose sweep record claims N points,
writes N points with finished runs and metrics straight into a store through gitgrid's own
``store.sweeps.sync`` (the code a runner uses), and times the commands against it in fresh processes.
Peak memory is each process's maximum resident set size. ``benchmarks/bench_scale.py`` measures the
whole pipeline on a real sweep.

    python benchmarks/store_scale.py --points 1000000 --repeat 3 [--dir /tmp/store-scale]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from gitgrid.layout import Layout
from gitgrid.store import Store
from gitgrid.sweep.record import PointRecord, Sweep

GITGRID = [sys.executable, "-m", "gitgrid"]
# The rows of `gitgrid results -f csv`, as sqlite3 itself would give them: the baseline.
SAME_ROWS = """SELECT p.idx AS "index", p.commit_id AS "commit", p.a, p.b, p.c,
 (SELECT IFNULL(value, 'nan') FROM metrics WHERE run_id = r.id AND name = 'loss') AS loss,
 (SELECT IFNULL(value, 'nan') FROM metrics WHERE run_id = r.id AND name = 'rate') AS rate,
 COALESCE(r.status, 'never run') AS status, r.attempt, ROUND(r.duration, 3) AS duration_s
 FROM points p JOIN runs r ON r.id = p.success_run WHERE p.sweep = 'scale' ORDER BY p.idx"""


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make(folder: Path, count: int) -> tuple[Path, str]:
    """A repository with one commit and a sweep record claiming ``count`` points, and its store."""
    shutil.rmtree(folder, ignore_errors=True)
    repo = folder / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "master")
    (repo / "model.py").write_text("a = 0\nb = 0.0\nc = 0\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "-m", "base")
    tip = git(repo, "rev-parse", "HEAD")
    side = round(count ** (1 / 3))
    sweep = Sweep("scale", tip, "master", tip, count, ("a", "b", "c"), "2026-11-29T00:00:00+00:00")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@x", "tag", "-a", "gitgrid/scale", tip, "-F", "-",
        stdin=sweep.to_message())  # fmt: skip
    layout = Layout.of(_Repo(repo))
    layout.ensure()
    store = Store.open(layout.store)
    started = time.monotonic()
    _write_runs(store, layout, count, tip)
    store.sweeps.sync(sweep, _points(count, side, tip))  # finds the runs: fills pointers and metrics
    store.close()
    print(f"store of {count} points written in {time.monotonic() - started:.1f} s: {layout.store}")
    return repo, tip


class _Repo:
    def __init__(self, root: Path) -> None:
        self.root, self.git_dir = root, root / ".git"

    def config(self, key: str) -> str | None:
        return None


def _points(count: int, side: int, tip: str) -> Iterator[PointRecord]:
    for index in range(count):
        a, b, c = index // (side * side), (index // side) % side * 0.25, index % side
        yield PointRecord(index, f"{index:040x}", {"a": a, "b": b, "c": c})


def _write_runs(store: Store, layout: Layout, count: int, tip: str) -> None:
    """One successful run per point (one in 1,000 failed, one in 500 with a NaN loss), two metrics,
    written by sqlite3 itself beside gitgrid's connection (10^6 runs through the API take too long)."""
    db = sqlite3.connect(store.path, isolation_level=None)
    rng = random.Random(7)
    db.execute("BEGIN")
    now = time.time()
    for start in range(0, count, 100_000):
        runs: list[tuple[object, ...]] = []
        metrics: list[tuple[object, ...]] = []
        for index in range(start, min(count, start + 100_000)):
            status = "failed" if index % 1000 == 999 else "success"
            run_dir = f"{layout.runs_root}/scale/{index:07d}-{index:012x}/attempt-1"
            code, reason = (0, None) if status == "success" else (2, "exit status 2")
            runs.append((index + 1, "scale", index, f"{index:040x}", 1, 0, status, code, reason, now,
                         now + 1.5, 1.5, "node", run_dir, None, None, "1.5", None, None))  # fmt: skip
            if status == "success":
                loss = float("nan") if index % 500 == 7 else rng.random() * 100
                rate = rng.random()
                metrics += [(index + 1, "loss", loss, repr(loss)), (index + 1, "rate", rate, repr(rate))]
                runs[-1] = (*runs[-1][:-2], '["loss", "rate"]', f"{loss!r},{rate!r}")
        db.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * 19)})", runs)
        db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)", metrics)
    db.execute("COMMIT")
    db.close()


def measure(repo: Path, command: list[str], repeat: int, stdout: Path | None = None) -> tuple[float, float]:
    """Median wall time (s) and peak RSS (MiB, the largest of the runs) of ``command`` in ``repo``.

    The peak comes from GNU time, whose child starts small: a child forked from this (large) process
    would count its parent's pages in its own peak."""
    times, peaks = [], []
    report = repo.parent / "time.txt"
    for _ in range(repeat):
        with (stdout or Path(os.devnull)).open("wb") as out:
            started = time.monotonic()
            done = subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", str(report), *command],
                cwd=repo, stdout=out, stderr=subprocess.DEVNULL, check=False,
            )  # fmt: skip
            times.append(time.monotonic() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed")
        peaks.append(int(report.read_text().split()[-1]) / 1024)
    return statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/gitgrid-store-scale"))
    parser.add_argument("--reuse", action="store_true", help="use the store a previous call made")
    args = parser.parse_args()
    repo = args.dir / "repo"
    if not args.reuse or not repo.is_dir():
        make(args.dir, args.points)
    store = repo / ".gitgrid" / "results.db"
    figures = [
        ("gitgrid status", [*GITGRID, "status"], None),
        ("gitgrid results --sort loss --best 10",
         [*GITGRID, "results", "--sort", "loss", "--best", "10"], None),
        ("gitgrid results --sort loss --desc --best 10",
         [*GITGRID, "results", "--sort", "loss", "--desc", "--best", "10"], None),
        ("gitgrid results --where 'a == 3 and loss < 50' -f csv",
         [*GITGRID, "results", "--where", "a == 3 and loss < 50", "-f", "csv"], None),
        ("gitgrid results --sort b --best 10 (a param)",
         [*GITGRID, "results", "--sort", "b", "--best", "10"], None),
        ("gitgrid results (table)", [*GITGRID, "results"], args.dir / "table.txt"),
        ("gitgrid results -f csv", [*GITGRID, "results", "-f", "csv"], args.dir / "gitgrid.csv"),
        ("sqlite3 -csv of the same rows (baseline)", ["sqlite3", "-csv", "-header", str(store), SAME_ROWS],
         args.dir / "sqlite3.csv"),
        ("gitgrid results -f tsv", [*GITGRID, "results", "-f", "tsv"], args.dir / "gitgrid.tsv"),
        ("gitgrid results -f json", [*GITGRID, "results", "-f", "json"], args.dir / "gitgrid.json"),
        ("gitgrid run -- true (finished sweep: nothing to run)", [*GITGRID, "run", "--", "true"], None),
    ]  # fmt: skip
    print(f"{args.points} points, medians of {args.repeat}; peak RSS the largest of the runs")
    print("| command | time (s) | peak memory (MiB) |\n| --- | --- | --- |")
    results = {}
    for name, command, out in figures:
        seconds, peak = measure(repo, command, args.repeat, out)
        results[name] = seconds
        print(f"| `{name}` | {seconds:.3f} | {peak:.0f} |", flush=True)
    ratio = results["gitgrid results -f csv"] / results["sqlite3 -csv of the same rows (baseline)"]
    print(f"ratio gitgrid csv / sqlite3 -csv: {ratio:.2f}x")


if __name__ == "__main__":
    main()
