"""Random search and Optuna's samplers (TPE, CMA-ES) as generators of batches, like SPSA.

Each asks ``parallel`` trials per batch after the start (measured by every method first, see
:mod:`gitgrid.optimize.ledger`) until the budget is spent, and answers with the best point measured; with
noise, that point is measured again and its value is the mean of those checks (its best reading alone
would be a lucky draw). Random
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
from gitgrid.optimize.ledger import Ledger
from gitgrid.spec.values import Value

__all__ = ["OPTUNA_SAMPLERS", "optuna_steps", "random_steps"]

OPTUNA_SAMPLERS = {"optuna-tpe": "TPESampler", "optuna-cmaes": "CmaEsSampler"}


def _reserve(ledger: Ledger) -> int:
    """With noise, measurements kept for the answer: the best-read point measured again."""
    noisy = ledger.noise is not None and not ledger.noise.free
    return min(4, max(ledger.left // 10, 1)) if noisy else 0


def random_steps(
    box: Box, start: tuple[Value, ...], ledger: Ledger, seed: int | None, parallel: int = 1
) -> Steps:
    """Uniform random points in the box (log-uniform on a log scale), ``parallel`` at a time."""
    rng = np.random.default_rng(seed)
    reserve, k = _reserve(ledger), 0
    while ledger.left > reserve and not ledger.stalled:
        k += 1
        points = [box.from_unit(rng.random(len(box))) for _ in range(min(parallel, ledger.left - reserve))]
        yield from ledger.measure([Request(x, k, "trial") for x in points])
    return (yield from _answer(ledger, reserve, k))


def _answer(ledger: Ledger, reserve: int, k: int) -> Steps:
    """The best-read point; with noise its value is the mean of ``reserve`` new measurements of it."""
    assert ledger.best is not None  # the start was measured
    value, x = ledger.best
    if reserve:
        values = yield from ledger.measure([Request(x, k, "check")] * reserve)
        value = float(np.mean(values))
    return Outcome(x, value, k, "exhausted" if ledger.stalled else "budget")


def optuna_steps(
    box: Box,
    start: tuple[Value, ...],
    ledger: Ledger,
    seed: int | None,
    method: str,
    parallel: int = 1,
    replay: Sequence[Sequence[Value]] = (),
) -> Steps:
    """An Optuna study with the sampler ``method`` names, asked ``parallel`` trials per batch; the start
    is its first trial, with the start's mean value."""
    optuna = _optuna()
    names = box.names
    distributions = {d.name: _distribution(optuna, d) for d in box.dims}
    study = optuna.create_study(direction="minimize", sampler=_sampler(optuna, method, seed))
    assert ledger.noise is not None  # the start was measured
    params = dict(zip(names, start, strict=True))
    study.add_trial(
        optuna.trial.create_trial(params=params, distributions=distributions, value=ledger.noise.mean)
    )
    reserve, k = _reserve(ledger), 0
    while ledger.left > reserve and not ledger.stalled:
        k += 1
        trials: list[Any] = []
        for _ in range(min(parallel, ledger.left - reserve)):
            index = ledger.spent + len(trials)  # the evaluation this trial will be, when it runs
            if index < len(replay):  # continuing: the trial recorded there, whatever Optuna would ask
                study.enqueue_trial(dict(zip(names, replay[index], strict=True)))
            trials.append(study.ask(distributions))
        points = [tuple(trial.params[name] for name in names) for trial in trials]
        values = yield from ledger.measure([Request(x, k, "trial") for x in points])
        for trial, value in zip(trials, values, strict=True):
            study.tell(trial, value)
    return (yield from _answer(ledger, reserve, k))


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
