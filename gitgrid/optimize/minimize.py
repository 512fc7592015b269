"""The optimiser as a Python API: any objective, the evaluations of each batch run at once on an executor.

Any :class:`concurrent.futures.Executor` will do: the default :class:`~concurrent.futures.ProcessPoolExecutor`
(``initializer`` loads data once per worker), a thread pool, Dask's ``Client.get_executor()``, submitit,
mpi4py's ``MPIPoolExecutor``. An executor the caller passes is the caller's: it is used, never shut down.
A :class:`~gitgrid.optimize.sharded.Sharded` objective runs its own processes, so its calls are made
from threads.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

import numpy as np

from gitgrid.errors import OptimizeError
from gitgrid.optimize.box import make_box
from gitgrid.optimize.history import Evaluate, Request, Result, drive, finite
from gitgrid.optimize.methods import method_steps
from gitgrid.optimize.sharded import Sharded
from gitgrid.optimize.stochastic import SpsaSettings

__all__ = ["minimize", "spsa"]

Objective = Callable[[Any], object]
Bounds = Sequence[tuple[float, float]] | tuple[float, float]


def spsa(
    fn: Objective,
    x0: Sequence[float],
    *,
    bounds: Bounds,
    budget: int,
    seed: int | None = None,
    executor: Executor | None = None,
    maximize: bool = False,
    log: bool | Sequence[bool] = False,
    integer: bool | Sequence[bool] = False,
    names: Sequence[str] | None = None,
    workers: int | None = None,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    **options: Any,
) -> Result:
    """Minimise (or ``maximize``) ``fn`` by SPSA from ``x0`` within ``bounds`` in ``budget`` evaluations.

    ``fn`` gets the point as a numpy array. ``options`` are the fields of
    :class:`~gitgrid.optimize.stochastic.SpsaSettings` (``a``, ``c``, ``A``, ``alpha``, ``gamma``,
    ``gradient_samples``, ``max_step``, ``ftol``, ``param_tol``, ``final``, ``checks``, ...).
    """
    known = {f.name for f in fields(SpsaSettings)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise OptimizeError(f"spsa() got unknown options {unknown} (known: {', '.join(sorted(known))})")
    settings = SpsaSettings(**options)
    return minimize(
        fn, x0, bounds=bounds, budget=budget, seed=seed, method="spsa", executor=executor,
        maximize=maximize, log=log, integer=integer, names=names, workers=workers,
        initializer=initializer, initargs=initargs, parallel=settings.gradient_samples, settings=settings,
    )  # fmt: skip


def minimize(
    fn: Objective,
    x0: Sequence[float],
    *,
    bounds: Bounds,
    budget: int,
    seed: int | None = None,
    method: str = "auto",
    executor: Executor | None = None,
    maximize: bool = False,
    log: bool | Sequence[bool] = False,
    integer: bool | Sequence[bool] = False,
    names: Sequence[str] | None = None,
    workers: int | None = None,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    parallel: int = 1,
    settings: SpsaSettings | None = None,
) -> Result:
    """Like :func:`spsa` with the method named: ``spsa``, ``random``, ``optuna-tpe``, ``optuna-cmaes``.

    ``parallel`` is the number of gradient samples (SPSA) or trials (the others) per batch.
    """
    box = make_box(bounds, len(x0), log, integer, names)
    steps = method_steps(
        method, box, list(x0), budget, seed, parallel=parallel, settings=settings, maximize=maximize
    )
    with _executor(fn, executor, workers, initializer, initargs) as pool:
        return drive(steps, _evaluator(fn, pool))


@contextmanager
def _executor(
    fn: Objective,
    given: Executor | None,
    workers: int | None,
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
) -> Iterator[Executor]:
    """The executor to use: the caller's, threads for a ``Sharded``, else a process pool we own."""
    if given is not None:
        yield given
        return
    size = workers or os.cpu_count() or 1
    if isinstance(fn, Sharded):
        owned: Executor = ThreadPoolExecutor(size, initializer=initializer, initargs=initargs)
    else:
        _check_picklable(fn)
        owned = ProcessPoolExecutor(size, initializer=initializer, initargs=initargs)
    with owned:
        yield owned


def _check_picklable(fn: Objective) -> None:
    try:
        pickle.dumps(fn)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise OptimizeError(
            f"the objective cannot be sent to worker processes ({exc}): define it at module level, "
            "or pass executor=ThreadPoolExecutor() (or another executor that pickles closures, e.g. Dask's)"
        ) from None


def _evaluator(fn: Objective, executor: Executor) -> Evaluate:
    def evaluate(batch: Sequence[Request]) -> list[float]:
        futures = [executor.submit(fn, np.asarray(request.x, dtype=float)) for request in batch]
        return [finite(f.result(), f"x={list(r.x)}") for f, r in zip(futures, batch, strict=True)]

    return evaluate
