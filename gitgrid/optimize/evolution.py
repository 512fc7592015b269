"""CMA-ES from the ``cma`` package (Hansen's), as a generator of batches: one generation per batch.

In the unit cube of :mod:`gitgrid.optimize.box` (so one step size fits every param), from the start,
with a first step size of a quarter of each range (``cma``'s advice) and the box as ``cma``'s bounds.
The population is ``cma``'s default (4 + 3 ln d), or ``parallel`` when that is larger, so that a batch
keeps every worker busy. ``cma`` draws its samples from a generator seeded by the optimisation's seed
(its ``randn`` option; never numpy's global state, which an objective in the same process may use), so
a generation depends only on the seed and the values told so far: replaying them asks for the same
points.

When ``cma`` stops (its step size or its values no longer change) with budget left, it restarts from a
random point with twice the population (IPOP-CMA-ES, Auger and Hansen 2005): more of a multimodal
landscape is searched. The answer is the distribution's mean, measured at the end: with noise its
value is the mean of four such checks (the best single reading would be a lucky draw); without noise
it is the answer unless a point measured better (:func:`~gitgrid.optimize.ledger.finish`). Integer
params keep a step size of at least a quarter of a unit, and are rounded where they are evaluated.
"""

from __future__ import annotations

import importlib
import math
import warnings
from typing import Any

import numpy as np

from gitgrid.errors import OptimizeError
from gitgrid.optimize.box import Box, Vector
from gitgrid.optimize.history import Outcome, Request, Steps
from gitgrid.optimize.ledger import Ledger
from gitgrid.spec.values import Value

__all__ = ["SIGMA0", "cma_steps", "population"]

SIGMA0 = 0.25  # the first step size, of each param's range (cma's advice: a quarter to a fifth)


def population(dimension: int, parallel: int = 1) -> int:
    """The size of a generation: ``cma``'s default, or ``parallel`` if larger."""
    return max(4 + int(3 * math.log(dimension)), parallel)


def cma_steps(
    box: Box, start: tuple[Value, ...], ledger: Ledger, seed: int | None, parallel: int = 1, after: int = 0
) -> Steps:
    """CMA-ES over ``box`` from the measured ``start``, one generation per batch (see the module); its
    generations are numbered on from ``after`` (the iterations of a method that ran before it)."""
    cma = _cma()
    rng = np.random.default_rng(seed)
    noisy = not (ledger.noise is None or ledger.noise.free)
    reserve = min(4, max(ledger.left // 10, 1)) if noisy else 1
    size = population(len(box), parallel)
    mean = box.to_unit([float(v) for v in start])
    generation, restarts, strategy = after, 0, None
    while ledger.left - reserve >= 1 and not ledger.stalled:
        strategy = _strategy(cma, box, mean, size, rng)
        while ledger.left - reserve >= 1 and not strategy.stop() and not ledger.stalled:
            generation += 1
            units = strategy.ask()
            if len(units) > ledger.left - reserve:
                yield from _last(box, ledger, units, generation, reserve)
                break
            points = [box.snap(np.asarray(u))[0] for u in units]
            values = yield from ledger.measure([Request(x, generation, "trial") for x in points])
            strategy.tell(units, values)
        if noisy:
            break
        restarts += 1
        size *= 2
        mean = rng.random(len(box))
    return (yield from _answer(box, ledger, strategy, generation, reserve, noisy))


def _strategy(cma: Any, box: Box, mean: Vector, size: int, rng: np.random.Generator) -> Any:
    options = {
        "bounds": [0.0, 1.0],
        "popsize": size,
        "randn": lambda *shape: rng.standard_normal(shape),
        "seed": float("nan"),  # cma draws through randn above, never through numpy's global state
        "verbose": -9,
        "verb_log": 0,
        "verb_disp": 0,
        "minstd": list(box.unit_steps() / 4),  # integer params keep moving by at least a unit
        "tolfun": 1e-13,
        "tolx": 1e-12,
    }
    return cma.CMAEvolutionStrategy(list(mean), SIGMA0, options)


def _last(box: Box, ledger: Ledger, units: Any, generation: int, reserve: int) -> Steps:
    """The budget left cannot hold a generation: measure what it can of this one (the best point
    measured may be among them), and tell ``cma`` nothing."""
    room = ledger.left - reserve
    requests = [Request(box.snap(np.asarray(u))[0], generation, "trial") for u in units[:room]]
    yield from ledger.measure(requests)
    return Outcome((), 0.0, 0, "budget")


def _answer(box: Box, ledger: Ledger, strategy: Any, generation: int, reserve: int, noisy: bool) -> Steps:
    """The distribution's mean, measured ``reserve`` times: with noise, the answer (the mean of those
    checks); without, the answer if no point measured better."""
    if strategy is not None and reserve and ledger.left:
        x = box.from_unit(np.asarray(strategy.result.xfavorite))
        values = yield from ledger.measure([Request(x, generation, "check")] * min(reserve, ledger.left))
        if noisy:
            return Outcome(x, float(np.mean(values)), generation, "budget")
    if ledger.best is None:  # pragma: no cover - the start is always measured first
        raise OptimizeError("internal: CMA-ES measured nothing")
    value, x = ledger.best
    return Outcome(x, value, generation, "budget")


def _cma() -> Any:
    try:
        with warnings.catch_warnings():  # cma warns that it cannot plot without matplotlib: it need not
            warnings.filterwarnings("ignore", message="Could not import matplotlib", category=UserWarning)
            return importlib.import_module("cma")
    except ImportError:  # pragma: no cover - a core dependency
        raise OptimizeError("--method cma needs the cma package: pip install cma") from None
