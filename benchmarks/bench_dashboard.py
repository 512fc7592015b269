"""Benchmark of the dashboard under the load of issue 17: a running run's 70 MB series file.

Usage: python benchmarks/bench_dashboard.py [--mb 70] [--repeat 5]

Figures printed (medians over ``--repeat``):
  * reading the series file whole (``read_series``, what ``/api/series`` did before) against sampling it
    (``sample_series``, what it does now), and the ratio;
  * ``/api/series`` answered by a running dashboard for that run;
  * a small request (``/api/sweep`` of an unknown name) answered while 4 ``/api/series`` requests are
    under way: with one lock for every request it waited for them, now it does not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

SIM = "import json, os\njson.dump({'loss': 1.0}, open(os.environ['GITGRID_RESULT'], 'w'))\n"


def timed(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def setup(folder: Path, megabytes: int) -> tuple[Path, int, Path]:
    from gitgrid import create_sweep
    from gitgrid.run.runner import RunOptions, run_sweep

    repo = folder / "sim"
    repo.mkdir()
    for args in (
        ["init", "-q", "-b", "master"],
        ["config", "user.name", "b"],
        ["config", "user.email", "b@x"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    (repo / "model.py").write_text("a = 0\n")
    (repo / "sim.py").write_text(SIM)
    (repo / "spec.yaml").write_text("files: [model.py]\nparams:\n  a: [1, 2, 3, 4]\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "i"], cwd=repo, check=True)
    create_sweep(repo / "spec.yaml", repo)
    run_sweep([sys.executable, "sim.py"], repo=repo, options=RunOptions(jobs=2))
    with sqlite3.connect(repo / ".gitgrid/results.db") as db:  # one run made to look under way
        run_id, run_dir = db.execute("SELECT id, run_dir FROM runs WHERE idx = 0").fetchone()
        db.execute("UPDATE runs SET status = 'running' WHERE id = ?", (run_id,))
    series = Path(run_dir) / "series.jsonl"
    line = b'{"step": %d, "v": 0.123456789, "w": 1.5, "x": 2.5}\n'
    with series.open("wb") as out:
        step = 0
        while out.tell() < megabytes * 2**20:
            out.write(b"".join(line % (step + k) for k in range(10_000)))
            step += 10_000
    return repo, run_id, series


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=70)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from gitgrid import open_repository
    from gitgrid.report.data import ViewOptions
    from gitgrid.report.server import Dashboard, make_server
    from gitgrid.run.series import read_series, sample_series

    with tempfile.TemporaryDirectory() as tmp:
        repo, _, series = setup(Path(tmp), args.mb)
        size = series.stat().st_size / 2**20
        whole = timed(lambda: read_series(series.parent), args.repeat)
        sampled = timed(lambda: sample_series(series.parent, "v"), args.repeat)
        print(f"series file: {size:.0f} MiB")
        print(f"  read whole (before): {whole * 1000:9.1f} ms")
        print(f"  sampled (now):       {sampled * 1000:9.1f} ms   ratio {whole / sampled:.0f}x")
        board = Dashboard(open_repository(repo), ViewOptions())
        server = make_server(board, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        name = json.loads(urllib.request.urlopen(f"{base}/api/sweeps").read())["sweeps"][0]["name"]

        def get(path: str) -> bytes:
            with urllib.request.urlopen(f"{base}{path}", timeout=120) as answer:
                return bytes(answer.read())

        def small() -> None:
            with contextlib.suppress(urllib.error.HTTPError):
                get("/api/sweep?name=nosuch")

        answered = timed(lambda: get(f"/api/series?sweep={name}&name=v"), args.repeat)
        print(f"  /api/series:         {answered * 1000:9.1f} ms")
        busy = [
            threading.Thread(target=lambda: [get(f"/api/series?sweep={name}&name=v") for _ in range(5)])
            for _ in range(4)
        ]
        for thread in busy:
            thread.start()
        alone = timed(small, args.repeat)
        for thread in busy:
            thread.join()
        print(f"  small request while 4 series requests run: {alone * 1000:.1f} ms")
        server.shutdown()
        server.server_close()
        board.close()
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
