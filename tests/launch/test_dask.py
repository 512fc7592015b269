"""``gitgrid run --on dask`` against a real Dask cluster on 127.0.0.1: a ``dask scheduler`` and two
``dask worker`` processes, started and stopped by the tests. Nothing on the Dask path is mocked; a
worker is killed (its whole process group, as a node dies) while it runs a point."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitgrid.query.tables import results
from tests.helpers import cli, sim

DASK = Path(sys.executable).parent / "dask"
pytestmark = pytest.mark.skipif(
    not DASK.exists(), reason="dask[distributed] (the dev extra) is not installed"
)


class Cluster:
    """A scheduler and workers on 127.0.0.1, each in a session of its own (so a worker and its nanny
    can be killed together)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    def start(self, workers: int, env: dict[str, str] | None = None) -> str:
        self._spawn(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"], "scheduler")
        deadline = time.monotonic() + 60
        while not self.file.exists():
            assert time.monotonic() < deadline, (self.folder / "scheduler.log").read_text()
            time.sleep(0.2)
        for number in range(workers):
            self.workers.append(self.worker(number, env))
        self.wait_for(workers)
        return self.address

    def worker(
        self, number: int, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
    ) -> subprocess.Popen[bytes]:
        args = ["worker", self.address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"]
        return self._spawn([*args, "--name", f"w{number}"], f"worker-{number}", env, prefix)

    @property
    def address(self) -> str:
        return str(json.loads(self.file.read_text())["address"])

    def wait_for(self, count: int) -> None:
        distributed: Any = importlib.import_module("distributed")
        with distributed.Client(self.address, timeout=30) as client:
            try:
                client.wait_for_workers(count, timeout=120)
            except Exception:
                logs = sorted(self.folder.glob("worker-*.log"))
                raise AssertionError("\n".join(p.read_text()[-3000:] for p in logs)) from None

    def _spawn(
        self, args: list[str], name: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
    ) -> subprocess.Popen[bytes]:
        command = [*prefix, str(DASK), *args]
        if args[0] == "scheduler":
            command += ["--scheduler-file", str(self.file)]
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **(env or {})},
            )  # fmt: skip
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            with _quiet():
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)  # type: ignore[arg-type]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    folder = tmp_path / "dask"
    folder.mkdir()
    running = Cluster(folder)
    try:
        yield running
    finally:
        running.stop()


def metas(repo: Path) -> list[dict[str, object]]:
    return [
        json.loads(p.read_text()) for p in sorted((repo / ".gitgrid/runs").glob("*/*/attempt-*/meta.json"))
    ]


def test_points_run_as_tasks_on_the_workers_and_come_back_to_the_store(swept: Path, cluster: Cluster) -> None:
    address = cluster.start(2)
    result = cli("run", "--on", "dask", "--opt", f"address={address}", "--", *sim(), repo=swept)
    assert result.exit_code == 0, result.output
    assert "grid_search-2026-11-18: 12 succeeded, 0 failed" in result.stderr
    table = results(swept)
    assert len(table.rows) == 12
    for row in table.rows:
        assert (row["loss"], row["rate"]) == (row["a"] * row["b"], row["a"] + row["b"])
    assert len(metas(swept)) == 12 and all(m["status"] == "success" for m in metas(swept))
    again = cli("run", "--on", "dask", "--opt", f"address={address}", "--", *sim(), repo=swept)
    assert "0 succeeded, 0 failed, 0 timed out, 0 interrupted, 12 skipped" in again.stderr


def test_a_worker_killed_mid_point_loses_no_point(swept: Path, cluster: Cluster) -> None:
    """The point the dead worker ran runs again on the other one; the attempt it left is recorded."""
    address = cluster.start(2)
    command = ["env", "SIM_SLEEP=2", *sim()]
    run = subprocess.Popen(
        [sys.executable, "-m", "gitgrid", "-C", str(swept), "run", "--on", "dask", "--opt", f"address={address}",
         "--", *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    victim = _worker_running_a_point(swept, cluster)
    os.killpg(victim.pid, signal.SIGKILL)  # the worker, its nanny: a node gone
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "12 succeeded, 0 failed" in err
    table = results(swept)
    assert len(table.rows) == 12 and {row["index"] for row in table.rows} == set(range(12))
    lost = [m for m in metas(swept) if m["status"] != "success"]
    assert lost and all(m["status"] == "interrupted" for m in lost)
    assert all("its Dask worker was lost; the point ran again as attempt" in str(m["reason"]) for m in lost)
    status = cli("status", repo=swept).stdout
    assert "success      12" in status


def test_a_worker_that_does_not_share_the_filesystem_is_named(
    swept: Path, cluster: Cluster, tmp_path: Path
) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], check=False).returncode:
        pytest.skip("unshare -m is not allowed here: no worker with a filesystem of its own")
    address = cluster.start(1)
    hide = f'cd / && mount -t tmpfs none {tmp_path} && exec "$@"'  # this worker sees an empty folder there
    cluster.worker(1, prefix=("unshare", "-m", "sh", "-c", hide, "sh"))
    cluster.wait_for(2)
    result = cli("run", "--on", "dask", "--opt", f"address={address}", "--", *sim(), repo=swept)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert (
        line.startswith("gitgrid: error: Dask worker tcp://127.0.0.1:")
        and "cannot see the repository" in line
    )
    assert line.endswith("on a filesystem the workers share with this machine (docs/cluster.md, Dask)")
    assert not metas(swept)  # nothing ran


def test_no_scheduler_there_is_one_line(swept: Path) -> None:
    result = cli("run", "--on", "dask", "--opt", "address=tcp://127.0.0.1:9", "--", *sim(), repo=swept)
    assert result.exit_code == 2 and result.stderr.startswith(
        "gitgrid: error: --opt address=tcp://127.0.0.1:9: no Dask scheduler answers there"
    )
    missing = cli("run", "--on", "dask", "--", *sim(), repo=swept)
    assert (
        missing.stderr
        == "gitgrid: error: --on dask needs the scheduler's address: --opt address=tcp://HOST:8786\n"
    )


def _worker_running_a_point(repo: Path, cluster: Cluster) -> subprocess.Popen[bytes]:
    """The worker (by its session) whose process started the command of a running point."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for meta in metas(repo):
            pid = meta.get("pid")
            if meta["status"] == "running" and isinstance(pid, int):
                try:
                    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                    session = os.getsid(parent)
                except (OSError, ValueError, IndexError):
                    continue
                for worker in cluster.workers:
                    if worker.pid == session:
                        return worker
        time.sleep(0.1)
    raise AssertionError("no point started on a worker")


def test_points_a_stored_success_stands_for_are_not_sent_to_the_workers(
    swept: Path, cluster: Cluster
) -> None:
    """Reuse through Dask (#19): a sweep made again on the same base sends only the points no stored
    success has the run key of; the workers' runs are keyed too, so a third sweep sends none."""
    from gitgrid import create_sweep
    from tests.helpers import stored_rows

    address = cluster.start(1)
    on = ("--on", "dask", "--opt", f"address={address}")
    first = cli("run", "--where", "b == 10", "--", *sim(), repo=swept)
    assert first.exit_code == 0, first.output
    create_sweep(swept / "spec.yaml", swept, name="again")
    result = cli("run", "again", *on, "--", *sim(), repo=swept)
    assert result.exit_code == 0, result.output
    assert "again: 9 succeeded, 0 failed" in result.stderr
    assert "3 reused (runs of grid_search-2026-11-18 with the same run key)" in result.stderr
    assert sorted(int(str(m["index"])) for m in metas(swept) if m["sweep"] == "again") == [
        i for i in range(12) if i % 4
    ]
    assert [r["loss"] for r in results(swept, "again").rows] == [
        r["a"] * r["b"] for r in results(swept, "again").rows
    ]
    create_sweep(swept / "spec.yaml", swept, name="third")
    third = cli("run", "third", *on, "--", *sim(), repo=swept)
    assert third.exit_code == 0, third.output
    assert "third: 0 succeeded" in third.stderr and "12 reused" in third.stderr
    sources = stored_rows(swept / ".gitgrid/results.db",
                          "SELECT reused_sweep, COUNT(*) FROM runs WHERE sweep = 'third' GROUP BY 1 ORDER BY 1")  # fmt: skip
    assert sources == [("again", 9), ("grid_search-2026-11-18", 3)]
