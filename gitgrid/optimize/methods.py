"""The optimisation methods by name, as the Python API and ``gitgrid optimize`` both choose them.

Every method minimises; maximising wraps it so that it is sent negated values and its answer's value is
turned back, while the history keeps the values as measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitgrid.errors import OptimizeError
from gitgrid.optimize.box import Box
from gitgrid.optimize.history import Outcome, Steps
from gitgrid.optimize.samplers import OPTUNA_SAMPLERS, optuna_steps, random_steps
from gitgrid.optimize.stochastic import SpsaSettings, minimum_budget, spsa_steps
from gitgrid.spec.values import Value

__all__ = ["CATEGORICAL_METHODS", "METHODS", "categorical_problem", "method_steps", "smallest_budget"]

METHODS = ("spsa", "random", *OPTUNA_SAMPLERS)
CATEGORICAL_METHODS = ("random", *OPTUNA_SAMPLERS)  # the methods that accept a 'values:' param


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
) -> Steps:
    """The generator of batches of ``method`` (see :mod:`gitgrid.optimize.history`)."""
    if method not in METHODS:
        raise OptimizeError(f"unknown method '{method}' (known: {', '.join(METHODS)})")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise OptimizeError(f"seed {seed!r}: give a whole number, 0 or more (below 2**63)")
    categorical = next((d.name for d in box.dims if d.categorical), None)
    if categorical is not None and method not in CATEGORICAL_METHODS:
        raise OptimizeError(f"param '{categorical}': {categorical_problem(method)}")
    if method == "spsa":
        chosen = replace(settings or SpsaSettings(), gradient_samples=parallel)
        steps = spsa_steps(box, x0, budget, seed, chosen)
    elif method == "random":
        steps = random_steps(box, x0, budget, seed, parallel)
    else:
        steps = optuna_steps(box, x0, budget, seed, method, parallel, replay)
    return _maximizing(steps) if maximize else steps


def smallest_budget(method: str, parallel: int, settings: SpsaSettings | None = None) -> int:
    """The smallest budget ``method`` accepts: for SPSA calibration, one iteration and the check."""
    if method == "spsa":
        return minimum_budget(replace(settings or SpsaSettings(), gradient_samples=parallel))
    return 1 + parallel


def _maximizing(steps: Steps) -> Steps:
    """``steps`` maximising: it is sent negated values; its answer's value is turned back."""
    batch = next(steps)
    try:
        while True:
            values = yield batch
            batch = steps.send([-v for v in values])
    except StopIteration as stop:
        outcome: Outcome = stop.value
    return replace(outcome, value=-outcome.value)
