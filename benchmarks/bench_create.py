"""Benchmark of ``gitgrid create`` and ``gitgrid list``, with the baselines named in issue 2, in one run.

Usage: python benchmarks/bench_create.py [--repeat N] [--layout nested|flat] [--keep DIR]

Figures printed (medians over ``--repeat`` runs; these machines are noisy):
  * the old way (per point: ``sed -i`` per param, ``git add``, ``git commit`` in a working tree) against
    ``gitgrid create`` of a fresh 10,000-point sweep, start-up included: time per point and the ratio;
  * ``gitgrid create`` of a fresh 100,000-point sweep: points/s, and the same sweep through
    ``git fast-import`` (gitgrid's other writer) as the baseline;
  * peak memory (largest process, gitgrid or its git children) of that create and of a 1,000,000-point
    ``create --dry-run``;
  * ``gitgrid list`` of the 100,000-point sweep.

The generated repository has ~200 files and a ~200-line ``src/model.py`` holding the three params. With
``--layout nested`` (default) the files are spread over folders as in a typical project; ``--layout flat``
puts all 200 beside the model, the worst case for tree writing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

GITGRID = [sys.executable, "-m", "gitgrid"]
ENV_NOTE = "GIT_AUTHOR/COMMITTER identity fixed; each run in a fresh clone of the generated repo"


def compile_gitgrid() -> None:
    """Byte-compile gitgrid's modules, as ``pip install`` does for an installed package: an editable
    install (``make``) has none, and with ``PYTHONDONTWRITEBYTECODE`` set (as on the development
    machines) every ``gitgrid`` command compiled ~80 modules from source again, ~0.3 s that an
    installed gitgrid never pays and that a figure per point over 500 points counted as 0.6 ms."""
    import compileall

    import gitgrid

    compileall.compile_dir(Path(gitgrid.__file__).parent, quiet=1)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path, layout: str) -> Path:
    """~200 files; src/model.py has ~200 lines, three of them ``self.paramN = ...``."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "master")
    folders = {"src": 30, "tests": 40, "data": 100, "docs": 20, "scripts": 10}
    for folder, count in folders.items():
        target = path / ("src" if layout == "flat" else folder)
        target.mkdir(exist_ok=True)
        for i in range(count - (folder == "src")):
            (target / f"{folder}_{i}.py").write_text("".join(f"value_{j} = {j}\n" for j in range(40)))
    lines = [f"        self.x{j} = {j}.0  # filler {j}\n" for j in range(197)]
    for n, at in ((1, 50), (2, 100), (3, 150)):
        lines.insert(at, f"        self.param{n} = 1.0\n")
    (path / "src/model.py").write_text("class Model:\n    def __init__(self):\n" + "".join(lines))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "simulation")
    return path


def spec(points: int) -> str:
    """A canonical-style spec with ``points`` points (param1 x param2, param3 fixed)."""
    outer = max(1, points // 1000)
    inner = points // outer
    return (
        "files: [src/model.py]\nparams:\n"
        f"  param1: {{range: [1, {outer}]}}\n"
        f"  param2: {{range: [0.01, {inner / 100}, 0.01]}}\n"
        "  param3: -5.0\n"
    )


def clone(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", "--no-local", str(source), str(target)], check=True)
    return target


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall time and peak RSS (KiB, largest process of the command's tree) of one run."""
    probe = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", probe, *command], cwd=cwd, check=True, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    peak, code = out.stdout.split()[-2:]
    if code != "0":
        raise SystemExit(f"{' '.join(command)} failed: {out.stderr}")
    return elapsed, int(peak)


def median(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def old_way(repo: Path, points: int) -> float:
    """Seconds per point of the seed workflow: sed -i per param, git add, git commit."""
    script = repo / "old_way.sh"
    script.write_text(
        "set -e\ngit checkout -q -b old\n"
        f"for i in $(seq 1 {points}); do\n"
        '  sed -i "s/^\\(\\s*self.param1 = \\).*/\\1$i.0/" src/model.py\n'
        '  sed -i "s/^\\(\\s*self.param2 = \\).*/\\1$i.5/" src/model.py\n'
        '  sed -i "s/^\\(\\s*self.param3 = \\).*/\\1-$i.0/" src/model.py\n'
        "  git add src/model.py\n"
        '  git commit -q -m "grid_search $i"\n'
        "done\n"
    )
    start = time.perf_counter()
    subprocess.run(["bash", str(script)], cwd=repo, check=True)
    return (time.perf_counter() - start) / points


ADDED: list[float] = []  # MiB each create added to .git


def create(repo: Path, points: int, *extra: str) -> tuple[float, int]:
    (repo / "spec.yaml").write_text(spec(points))
    before = du(repo / ".git")
    result = timed([*GITGRID, "create", "--name", f"bench-{points}", *extra, "spec.yaml"], repo)
    ADDED.append(du(repo / ".git") - before)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--layout", choices=["nested", "flat"], default="nested")
    parser.add_argument("--old-points", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="gitgrid-bench-"))
    import os

    os.environ.update(
        GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="b@example.org",
        GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="b@example.org",
    )  # fmt: skip
    compile_gitgrid()
    source = make_repo(work / "source", args.layout)
    print(f"gitgrid create benchmark: {args.layout} layout, {len(git(source, 'ls-files').split())} files, "
          f"median of {args.repeat} runs; {ENV_NOTE}")  # fmt: skip

    old = median(args.repeat, lambda: old_way(clone(source, work / "old"), args.old_points))
    small = median(args.repeat, lambda: create(clone(source, work / "small"), 10_000)[0]) / 10_000
    print(f"old way (sed+add+commit), {args.old_points} points: {old * 1e3:8.2f} ms/point")
    print(f"gitgrid create, 10,000 points:      {small * 1e3:8.4f} ms/point (start-up included)")
    print(f"  ratio old/gitgrid: {old / small:6.0f}x   (target >= 200x)")

    runs = [create(clone(source, work / "big"), 100_000) for _ in range(args.repeat)]
    added = ADDED[-1]
    big = statistics.median(t for t, _ in runs)
    fast_import = median(
        args.repeat, lambda: create(clone(source, work / "fi"), 100_000, "--writer", "fast-import")[0]
    )
    print(
        f"gitgrid create, 100,000 points:     {100_000 / big:8.0f} points/s ({big:.2f} s; target >= 20,000)"
    )
    print(f"  baseline, same sweep via git fast-import: {100_000 / fast_import:8.0f} points/s "
          f"({fast_import:.2f} s); ratio {fast_import / big:.2f}x")  # fmt: skip
    print(f"  peak memory: {max(p for _, p in runs) / 1024:6.1f} MiB (largest process; target < 150)")

    (work / "big/spec1m.yaml").write_text(spec(1_000_000))
    dry_time, dry_peak = timed([*GITGRID, "create", "--dry-run", "spec1m.yaml"], work / "big")
    print(
        f"create --dry-run, 1,000,000 points: {dry_time:.2f} s, peak {dry_peak / 1024:.1f} MiB (target < 150)"
    )

    listing = median(args.repeat + 2, lambda: timed([*GITGRID, "list", "bench-100000"], work / "big")[0])
    print(f"gitgrid list, 100,000 points:       {listing:.2f} s (target < 1 s)")
    print(f"one 100,000-point sweep adds {added:.0f} MiB to .git (git gc shrinks it further)")
    if not args.keep:
        shutil.rmtree(work)


def du(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


if __name__ == "__main__":
    main()
