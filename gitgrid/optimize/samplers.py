"""Random search and Optuna's samplers (TPE, CMA-ES) as generators of batches, like SPSA.

Each evaluates the start first, then ``parallel`` trials per batch until the budget is spent, and answers
with the best value seen: for a noisy objective that value is optimistic (docs/optimize.md). Random
search needs nothing extra; Optuna is an optional extra (``pip install 'gitgrid[optuna]'``), driven
through its ask-and-tell interface. An interrupted Optuna study continues by telling Optuna the recorded
trials again (``replay``, each enqueued with its recorded params), so it needs no Optuna storage.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from gitgrid.errors import OptimizeError
from gitgrid.optimize.box import Box, Dimension
from gitgrid.optimize.history import Outcome, Request, Steps
from gitgrid.spec.values import Value

__all__ = ["OPTUNA_SAMPLERS", "optuna_steps", "random_steps"]

OPTUNA_SAMPLERS = {"optuna-tpe": "TPESampler", "optuna-cmaes": "CmaEsSampler"}


def _check(budget: int, parallel: int) -> None:
    if parallel < 1:
        raise OptimizeError(f"parallel must be at least 1, got {parallel}")
    if budget < 1 + parallel:
        raise OptimizeError(
            f"a budget of {budget} evaluations is less than the start and one batch of {parallel} trials"
        )


def random_steps(box: Box, x0: Sequence[Value], budget: int, seed: int | None, parallel: int = 1) -> Steps:
    """Uniform random points in the box (log-uniform on a log scale), ``parallel`` at a time."""
    _check(budget, parallel)
    box.check_start(x0)
    rng = np.random.default_rng(seed)
    start = tuple(x0)
    values = yield [Request(start, 0, "start")]
    best = (values[0], start)
    done, k = 1, 0
    while done < budget:
        k += 1
        points = [box.from_unit(rng.random(len(box))) for _ in range(min(parallel, budget - done))]
        values = yield [Request(x, k, "trial") for x in points]
        best = min([best, *zip(values, points, strict=True)], key=lambda pair: pair[0])
        done += len(points)
    return Outcome(best[1], best[0], k, "budget")


def optuna_steps(
    box: Box,
    x0: Sequence[Value],
    budget: int,
    seed: int | None,
    method: str,
    parallel: int = 1,
    replay: Sequence[Sequence[Value]] = (),
) -> Steps:
    """An Optuna study with the sampler ``method`` names, asked ``parallel`` trials per batch."""
    _check(budget, parallel)
    box.check_start(x0)
    optuna = _optuna()
    names = box.names
    distributions = {d.name: _distribution(optuna, d) for d in box.dims}
    study = optuna.create_study(direction="minimize", sampler=_sampler(optuna, method, seed))
    done, k = 0, 0
    while done < budget:
        trials: list[Any] = []
        for _ in range(min(parallel, budget - done) if done else 1):
            fixed = replay[done + len(trials)] if done + len(trials) < len(replay) else None
            if fixed is not None or done + len(trials) == 0:
                study.enqueue_trial(dict(zip(names, fixed if fixed is not None else x0, strict=True)))
            trials.append(study.ask(distributions))
        points = [tuple(trial.params[name] for name in names) for trial in trials]
        role = "start" if done == 0 else "trial"
        values = yield [Request(x, k, role) for x in points]
        for trial, value in zip(trials, values, strict=True):
            study.tell(trial, value)
        done += len(trials)
        k += 1
    best = study.best_trial
    return Outcome(tuple(best.params[name] for name in names), float(best.value), k - 1, "budget")


def _optuna() -> Any:
    try:
        optuna = importlib.import_module("optuna")
    except ImportError:
        raise OptimizeError(
            "the Optuna methods need Optuna: pip install 'gitgrid[optuna]' (or use --method spsa or random)"
        ) from None
    optuna.logging.set_verbosity(logging.WARNING)
    return optuna


def _distribution(optuna: Any, dim: Dimension) -> Any:
    distributions = optuna.distributions
    if dim.categorical:
        return distributions.CategoricalDistribution(list(dim.choices))
    if dim.integer:
        return distributions.IntDistribution(int(dim.low), int(dim.high), log=dim.log)
    return distributions.FloatDistribution(dim.low, dim.high, log=dim.log)


def _sampler(optuna: Any, method: str, seed: int | None) -> Any:
    samplers = optuna.samplers
    if method == "optuna-tpe":
        return samplers.TPESampler(seed=seed)
    if method == "optuna-cmaes":  # the start is its first trial (enqueued), as for TPE
        return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    raise OptimizeError(f"unknown Optuna method {method!r} (known: {', '.join(OPTUNA_SAMPLERS)})")
