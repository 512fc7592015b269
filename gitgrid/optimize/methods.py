"""The optimisation methods by name, as the Python API and ``gitgrid optimize`` both choose them.

Every method starts the same way: the start is measured (twice, or four times with noise: see
:mod:`gitgrid.optimize.ledger`); ``auto`` then chooses a method from what it measured
(:mod:`gitgrid.optimize.auto`), and the method runs on the ledger that holds those measurements. Its
answer is then made never worse than what was measured (:func:`~gitgrid.optimize.ledger.finish`).

Every method minimises; maximising wraps it so that it is sent negated values and its answer's value is
turned back, while the history keeps the values as measured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from gitgrid.errors import OptimizeError
from gitgrid.optimize.auto import AUTO, Choice, choose, engine_for, smallest_budget
from gitgrid.optimize.box import Box
from gitgrid.optimize.evolution import ENGINES, cma_spsa_steps, cma_steps
from gitgrid.optimize.history import Outcome, Steps
from gitgrid.optimize.ledger import Ledger, finish, measure_start
from gitgrid.optimize.samplers import OPTUNA_SAMPLERS, optuna_steps, random_steps
from gitgrid.optimize.stochastic import SpsaSettings, spsa_steps
from gitgrid.optimize.trust import trust_steps
from gitgrid.spec.values import Value

__all__ = [
    "CATEGORICAL_METHODS",
    "METHODS",
    "Announce",
    "categorical_problem",
    "method_steps",
    "smallest_budget",
]

METHODS = (AUTO, "cma", "cmaes", "cma-spsa", "trust-region", "spsa", "random", *OPTUNA_SAMPLERS)
CATEGORICAL_METHODS = (AUTO, "random", *OPTUNA_SAMPLERS)  # the methods that accept a 'values:' param
Announce = Callable[[Choice], None]  # told the method that will run, once the start is measured


def categorical_problem(method: str) -> str:
    """Why ``method`` cannot search a param that is a ``values:`` list, and what to do."""
    return (
        f"is categorical (a 'values:' list): {method} searches numbers only; "
        f"use --method {' or '.join(CATEGORICAL_METHODS)}, or fix it to one value"
    )


def method_steps(
    method: str,
    box: Box,
    x0: Sequence[Value],
    budget: int,
    seed: int | None,
    *,
    parallel: int = 1,
    settings: SpsaSettings | None = None,
    maximize: bool = False,
    replay: Sequence[Sequence[Value]] = (),
    announce: Announce | None = None,
) -> Steps:
    """The generator of batches of ``method`` (see :mod:`gitgrid.optimize.history`); every check of the
    arguments is made here, before the first evaluation."""
    if method not in METHODS:
        raise OptimizeError(f"unknown method '{method}' (known: {', '.join(METHODS)})")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise OptimizeError(f"seed {seed!r}: give a whole number, 0 or more (below 2**63)")
    if parallel < 1:
        raise OptimizeError(f"parallel must be at least 1, got {parallel}")
    categorical = next((d.name for d in box.dims if d.categorical), None)
    if categorical is not None and method not in CATEGORICAL_METHODS:
        raise OptimizeError(f"param '{categorical}': {categorical_problem(method)}")
    integer = next((d.name for d in box.dims if d.integer), None)
    if integer is not None and method == "cmaes":
        raise OptimizeError(
            f"param '{integer}' is an integer: cmaes lets a step shrink below one unit, where the point "
            "no longer moves; use --method cma (which keeps integer steps of a unit) or auto"
        )
    chosen = replace(settings or SpsaSettings(), gradient_samples=parallel)
    chosen.check()
    least = smallest_budget(method, parallel, chosen)
    if budget < least:
        raise OptimizeError(f"a budget of {budget} evaluations is less than {method} needs: at least {least}")
    box.check_start(x0)
    steps = _steps(method, box, tuple(x0), budget, seed, parallel, chosen, replay, announce)
    return _maximizing(steps) if maximize else steps


def _steps(
    method: str,
    box: Box,
    start: tuple[Value, ...],
    budget: int,
    seed: int | None,
    parallel: int,
    settings: SpsaSettings,
    replay: Sequence[Sequence[Value]],
    announce: Announce | None,
) -> Steps:
    ledger = Ledger(budget)
    noise = yield from measure_start(ledger, start)
    choice = choose(box, budget, noise, parallel) if method == AUTO else Choice(method, "")
    if announce is not None:
        announce(choice)
    if choice.method == "spsa":
        outcome = yield from spsa_steps(box, start, ledger, seed, settings)
    elif choice.method in ENGINES:
        outcome = yield from cma_steps(box, start, ledger, seed, parallel, engine=choice.method)
    elif choice.method == "cma-spsa":
        outcome = yield from cma_spsa_steps(box, start, ledger, seed, parallel, engine_for(box))
    elif choice.method == "trust-region":
        outcome = yield from trust_steps(box, start, ledger, seed, parallel)
    elif choice.method == "random":
        outcome = yield from random_steps(box, start, ledger, seed, parallel)
    else:
        outcome = yield from optuna_steps(box, start, ledger, seed, choice.method, parallel, replay)
    return replace(finish(outcome, ledger, start), method=choice.method, reason=choice.reason)


def _maximizing(steps: Steps) -> Steps:
    """``steps`` maximising: it is sent negated values; its answer's value is turned back."""
    batch = next(steps)
    try:
        while True:
            values = yield batch
            batch = steps.send([-v for v in values])
    except StopIteration as stop:
        outcome: Outcome = stop.value
    best = (-outcome.best[0], outcome.best[1]) if outcome.best is not None else None
    return replace(outcome, value=-outcome.value, best=best)
