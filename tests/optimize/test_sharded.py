"""Sharded: shards loaded once per worker, per-shard results in order, a dying worker, no leftovers."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from gitgrid.errors import OptimizeError, WorkerLost
from gitgrid.optimize import Sharded, spsa
from tests.helpers import alive, wait_gone


def loader(log: Path) -> Callable[[int], np.ndarray]:
    def load(shard: int) -> np.ndarray:
        with log.open("a") as out:
            out.write(f"{os.getpid()} {shard}\n")
        return np.full(3, float(shard))  # the shard's data: its number, three times

    return load


def weighted(params: np.ndarray, data: np.ndarray) -> float:
    return float(np.sum(data) * params[0])


def as_array(shard: int) -> np.ndarray:
    return np.array(float(shard))


def pid_of(params: object, data: object) -> int:
    return os.getpid()


def test_each_worker_loads_its_shards_once_and_results_come_in_shard_order(tmp_path: Path) -> None:
    log = tmp_path / "loads.log"
    with Sharded(loader(log), list(range(5)), weighted, workers=2) as objective:
        first = objective(np.array([2.0]))
        second = objective(np.array([1.0]))
        zero = objective(np.array([0.0]))
        assert len(objective.pids) == 2
    assert first == [0.0, 6.0, 12.0, 18.0, 24.0]
    assert second == [0.0, 3.0, 6.0, 9.0, 12.0] and zero == [0.0] * 5
    loads = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(shard) for _, shard in loads) == [0, 1, 2, 3, 4]  # each shard loaded once
    assert {pid for pid, _ in loads} == {str(p) for p in objective.pids}


def test_shards_are_evaluated_by_the_worker_that_holds_them() -> None:
    with Sharded(str, ["a", "b", "c", "d"], pid_of, workers=2) as objective:
        owners = objective(None)
        assert owners == [objective.pids[0], objective.pids[1], objective.pids[0], objective.pids[1]]
        assert objective.shards_of(0) == [0, 2]


def test_reduce_sum_and_use_as_an_spsa_objective(tmp_path: Path) -> None:
    def fn(params: np.ndarray, centre: float) -> float:
        return float((params[0] - centre) ** 2)

    with Sharded(float, [0.0, 1.0, 2.0], fn, workers=2, reduce="sum") as objective:
        assert objective(np.array([1.0])) == pytest.approx(2.0)
        result = spsa(objective, [-3.0], bounds=(-5, 5), budget=200, seed=0)  # called from threads
    assert abs(float(result.x[0]) - 1.0) < 0.05 and len(result.history) == 199  # a repeated check: not run


def test_calls_from_several_threads_at_once() -> None:
    with (
        Sharded(as_array, list(range(6)), weighted, workers=2) as objective,
        ThreadPoolExecutor(4) as threads,
    ):
        futures = [threads.submit(objective, np.array([float(i)])) for i in range(20)]
        assert [f.result() for f in futures] == [[float(s * i) for s in range(6)] for i in range(20)]


def test_a_worker_that_dies_raises_a_clear_error_not_a_hang() -> None:
    objective = Sharded(as_array, list(range(4)), weighted, workers=2)
    try:
        os.kill(objective.pids[1], signal.SIGKILL)
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                objective(np.array([1.0]))
            except BaseException as exc:
                outcome.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        caller.join(timeout=30)
        assert not caller.is_alive(), "the call hung on a dead worker"
        assert isinstance(outcome[0], WorkerLost)
        assert "worker 1 (shards 1, 3) died" in str(outcome[0])
    finally:
        objective.close()
    wait_gone(objective.pids)
    assert not any(alive(pid) for pid in objective.pids)


def _fail_on_b(shard: str) -> str:
    if shard == "b":
        raise FileNotFoundError(f"no such shard file: {shard}")
    return shard


def test_a_failure_while_loading_is_reported_with_its_cause() -> None:
    with pytest.raises(
        OptimizeError, match=r"loading shard 1 \('b'\) failed: .*no such shard file: b"
    ) as caught:
        Sharded(_fail_on_b, ["a", "b"], pid_of, workers=1)
    assert "Traceback" in caught.value.__notes__[0]


def test_closing_leaves_no_process_and_refuses_later_calls() -> None:
    objective = Sharded(int, [1, 2, 3], pid_of, workers=3)
    pids = objective.pids
    assert all(alive(pid) for pid in pids)
    objective.close()
    objective.close()  # idempotent
    wait_gone(pids)
    assert not any(alive(pid) for pid in pids)
    with pytest.raises(OptimizeError, match="closed"):
        objective(None)


def test_bad_arguments() -> None:
    with pytest.raises(OptimizeError, match="at least one shard"):
        Sharded(int, list[int](), pid_of)
    with pytest.raises(OptimizeError, match="reduce='mean'"):
        Sharded(int, [1], pid_of, reduce="mean")
