"""The Python API over executors: the default process pool (with an initializer), a thread pool, a Dask
cluster end to end; random search and Optuna through the same API."""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster

from gitgrid.errors import OptimizeError
from gitgrid.optimize import minimize, spsa
from tests.helpers import alive, wait_gone

_OFFSET: list[float] = []  # set in each worker process by the initializer


def load_offset(offset: float) -> None:
    _OFFSET.append(offset)


def offset_sphere(x: np.ndarray) -> float:
    return float(np.sum((x - 1.0) ** 2)) + _OFFSET[0]


def logged_sphere(log: Path, x: np.ndarray) -> float:
    with log.open("a") as out:
        out.write(f"{os.getpid()}\n")
    return float(np.sum((x - 1.0) ** 2))


def test_the_default_process_pool_runs_the_initializer_in_each_worker() -> None:
    result = spsa(
        offset_sphere, [-2.0, 3.0], bounds=(-5, 5), budget=120, seed=1, workers=2,
        initializer=load_offset, initargs=(100.0,),
    )  # fmt: skip
    assert not _OFFSET  # loaded in the workers, not here
    assert len(result.history) <= 120 and all(e.value >= 100.0 for e in result.history)
    assert result.value - 100.0 < 1.0  # from 25


def test_an_objective_processes_cannot_receive_is_refused_with_the_way_out() -> None:
    with pytest.raises(OptimizeError, match=r"cannot be sent to worker processes.*ThreadPoolExecutor"):
        spsa(lambda x: 0.0, [0.0], bounds=(-1, 1), budget=20)
    with ThreadPoolExecutor(2) as threads:
        assert spsa(lambda x: float(x[0] ** 2), [0.5], bounds=(-1, 1), budget=20, executor=threads).x


def test_nan_from_the_objective_stops_with_the_point() -> None:
    with ThreadPoolExecutor(1) as one, pytest.raises(OptimizeError, match=r"returned nan at x=\[0\.5"):
        spsa(lambda x: float("nan"), [0.5], bounds=(-1, 1), budget=20, executor=one)


def test_unknown_options_are_named() -> None:
    with pytest.raises(OptimizeError, match=r"unknown options \['stepsize'\]"):
        spsa(offset_sphere, [0.0], bounds=(-1, 1), budget=20, stepsize=3)


@pytest.mark.slow
def test_a_dask_cluster_runs_every_evaluation_end_to_end(tmp_path: Path) -> None:
    log = tmp_path / "pids.log"
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        workers = set(client.run(os.getpid).values())
        result = spsa(
            functools.partial(logged_sphere, log), [-3.0, 4.0], bounds=(-5, 5), budget=200, seed=3,
            executor=client.get_executor(pure=False),  # else Dask runs the start's repeats once
        )  # fmt: skip
    pids = {int(line) for line in log.read_text().split()}
    assert len(log.read_text().split()) == len(result.history) >= 199  # no noise: a repeated check is not run
    assert pids <= workers and len(pids) == 2 and os.getpid() not in pids
    assert float(np.sum((np.array(result.x) - 1.0) ** 2)) < 0.05  # from 25
    wait_gone(workers)
    assert not any(alive(pid) for pid in workers)


def test_random_search_returns_the_best_point_it_measured() -> None:
    with ThreadPoolExecutor(2) as threads:
        result = minimize(
            lambda x: float(np.sum((x - 1.0) ** 2)), [-3.0, -3.0], bounds=(-5, 5), budget=101,
            method="random", seed=4, parallel=4, executor=threads,
        )  # fmt: skip
    assert len(result.history) == 101 and result.history[0].role == "start"
    assert result.value == min(e.value for e in result.history) < 32.0


@pytest.mark.parametrize("method", ["optuna-tpe", "optuna-cmaes"])
def test_optuna_samplers_through_ask_and_tell(method: str) -> None:
    with ThreadPoolExecutor(1) as one:
        result = minimize(
            lambda x: float(np.sum((x - 1.0) ** 2)), [-3.0, -3.0], bounds=(-5, 5), budget=60,
            method=method, seed=0, executor=one,
        )  # fmt: skip
    assert len(result.history) == 60 and result.history[0].x == (-3.0, -3.0)
    assert result.value == min(e.value for e in result.history) < 2.0


def test_maximize_climbs_and_keeps_the_values_as_measured() -> None:
    with ThreadPoolExecutor(1) as one:
        result = spsa(
            lambda x: -float(np.sum((x - 1.0) ** 2)), [-3.0], bounds=(-5, 5), budget=200, seed=0,
            maximize=True, executor=one,
        )  # fmt: skip
    assert abs(float(result.x[0]) - 1.0) < 0.05 and result.value > -0.01
    assert all(e.value <= 0 for e in result.history)


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(OptimizeError, match="unknown method 'nelder-mead'"):
        minimize(offset_sphere, [0.0], bounds=(-1, 1), budget=20, method="nelder-mead")


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5])
def test_a_seed_that_is_no_generator_seed_is_refused_by_name(seed: object) -> None:
    with pytest.raises(OptimizeError, match=r"seed .*: give a whole number, 0 or more"):
        spsa(offset_sphere, [0.0], bounds=(-1, 1), budget=20, seed=seed)  # type: ignore[arg-type]
