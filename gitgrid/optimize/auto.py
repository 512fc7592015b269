"""``auto``: which method to run, from the dimension, the budget, the categorical params and the noise
measured at the start.

The rules are what the benchmark (``benchmarks/bench_optimize.py``, docs/optimize.md) measured on its
tuning problems; each choice comes with the reason, which the optimisation's record keeps.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from gitgrid.optimize.box import Box
from gitgrid.optimize.ledger import Noise
from gitgrid.optimize.stochastic import SpsaSettings, minimum_budget

__all__ = ["AUTO", "Choice", "choose", "engine_for", "smallest_budget"]

AUTO = "auto"
MODEL_DIMENSIONS = 30  # beyond, a quadratic's coefficients outnumber any budget: CMA-ES
NOISY_MODEL_BUDGET = 150  # with noise, the trust region below this budget
NOISY_MODEL_PER_PARAM = 30  # ... and below this many evaluations per param (10 params: up to 299)
SPSA_TAIL_BUDGET = 500  # with noise, from this budget CMA-ES hands the second half to SPSA (cma-spsa)


@dataclass(frozen=True)
class Choice:
    """The method that runs, and why ``auto`` chose it (empty when it was named)."""

    method: str
    reason: str


def choose(box: Box, budget: int, noise: Noise, parallel: int = 1) -> Choice:
    """The method for this search (see the module)."""
    d = len(box)
    categorical = [dim.name for dim in box.dims if dim.categorical]
    if categorical:
        if importlib.util.find_spec("optuna") is not None:
            return Choice(
                "optuna-tpe", f"categorical params ({', '.join(categorical)}): TPE chooses among values"
            )
        return Choice("random", f"categorical params ({', '.join(categorical)}) and no Optuna installed")
    what = f"{d} params, a budget of {budget}"
    if d > MODEL_DIMENSIONS:
        return Choice("cma", f"{what}: more params than quadratic models fit in the budget")
    if noise.free:
        return Choice("trust-region", f"noise-free (the start measured twice, the same value); {what}")
    noisy = f"noise (sd {noise.sd:.3g} at the start); {what}"
    if budget < NOISY_MODEL_BUDGET:
        return Choice("trust-region", f"{noisy}: a small budget")
    if budget < NOISY_MODEL_PER_PARAM * d:
        return Choice("trust-region", f"{noisy}: fewer than {NOISY_MODEL_PER_PARAM} evaluations per param")
    engine = engine_for(box)
    run_by = f"CMA-ES run by {engine}" + (" (an integer param)" if engine == "cma" else "")
    if budget < SPSA_TAIL_BUDGET:
        return Choice(engine, f"{noisy}: {run_by}")
    return Choice("cma-spsa", f"{noisy}: {run_by}, then SPSA from its mean")


def engine_for(box: Box) -> str:
    """The package that runs CMA-ES with noise: ``cmaes`` (lower than ``cma`` on most of the benchmark's
    noisy tuning problems, see :data:`gitgrid.optimize.evolution.ENGINES`), or ``cma`` when a param is
    an integer (``cma`` keeps its step at a unit or more; ``cmaes`` would let it shrink below, and stall)."""
    return "cma" if any(dim.integer for dim in box.dims) else "cmaes"


def smallest_budget(method: str, parallel: int, settings: SpsaSettings | None = None) -> int:
    """The smallest budget ``method`` accepts: the start's measurements and one step or batch."""
    if method == "spsa":
        return minimum_budget(settings or SpsaSettings(gradient_samples=parallel))
    if method == "cma-spsa":  # a generation, its mean's checks, then an SPSA iteration and its checks
        return 20 + 4 * parallel
    return 4 + parallel  # the start (four times with noise), one batch
