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
landscape is searched. The trust region's hand-over (noise-free, once it converged) starts with twice
the default population, and leaves budget for the trust region to polish what CMA-ES found;
:func:`cma_spsa_steps` hands the second half of a noisy budget to SPSA.

The answer is the distribution's mean, measured at the end: with noise its value is the mean of four
such checks (the best single reading would be a lucky draw), and the point of the best single reading
is measured four times afresh beside it, the lower mean answering (on the benchmark's tuning runs at
200 calls, lower at the median on 9 of the 11 noisy problems ``auto`` runs CMA-ES on: the
pharmacokinetic fit with light noise 0.045 against 0.081 over 30 runs); without noise the mean is the
answer unless a point measured better (:func:`~gitgrid.optimize.ledger.finish`). Integer
params keep a step size of at least a quarter of a unit, and are rounded where they are evaluated.

Two implementations of the same strategy run these generations (the ``engine``): ``cma``, Hansen's
package (``--method cma``), and ``cmaes``, the package Optuna's CMA-ES sampler runs (``--method cmaes``;
what ``auto`` runs with noise, see :data:`ENGINES`). Everything around them (the start, the step size,
the population, the restarts, the hand-over to SPSA, the answer and its checks) is the same code.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gitgrid.errors import OptimizeError
from gitgrid.optimize.box import Box, Vector
from gitgrid.optimize.history import Outcome, Request, Steps
from gitgrid.optimize.ledger import Ledger, first_is_better
from gitgrid.optimize.stochastic import SpsaSettings, spsa_steps
from gitgrid.spec.values import Value

__all__ = ["ENGINES", "SIGMA0", "SPSA_SHARE", "cma_spsa_steps", "cma_steps", "population"]

SIGMA0 = 0.25  # the first step size, of each param's range (cma's advice: a quarter to a fifth)
# with light noise (below LIGHT_NOISE): CMA-ES's first step size, by engine (see cma_steps)
NOISY_SIGMA0 = {"cma": 0.1, "cmaes": 1 / 6}
LIGHT_NOISE = 0.01  # light noise: the start's sd below this share of its mean value's size
SPSA_SHARE = 0.5  # cma-spsa: the share of the budget left after the start that SPSA gets
SPSA_FIRST_STEP = 0.2  # cma-spsa: SPSA's first step, of CMA-ES's last step size (its max step: one)
SPSA_FINAL = "average"  # cma-spsa: SPSA answers with the average of its last half of iterates
SCALE_FLOOR = 0.01  # cma-spsa: SPSA's steps scale with CMA-ES's last step size, but at least this
CHECKS = 4  # with noise: measurements of an answer
# a restart doubles the population (IPOP) at most this many times, as BIPOP-CMA-ES's nine restarts do: on
# a small discrete space whose points are all measured (answered free, without noise) restarts ran
# nothing, and the population grew until cma spent minutes setting up one strategy
MAX_DOUBLINGS = 9
KEEP_MARGIN = 2.0  # cma-spsa keeps CMA-ES's answer if measured lower by this many standard errors
RECHECK_BEST = True  # with noise: the best single reading's point is measured again beside the mean
# The two implementations of CMA-ES, by the name of their package. On the benchmark's tuning runs (30 at
# 200 calls, 20 at 1000; docs/optimize.md), the same generations run by ``cmaes`` ended lower than by
# ``cma`` on 8 of the 11 noisy problems at 200 calls (the lightly noisy pk fit 0.0064 against 0.016,
# the epidemic fit 0.25 against 0.44) and as the first half of cma-spsa on 10 of 14 at 1000 (the
# 20-param quadratic 97 against 339; 2x higher on the heavily noisy 2-param bowl): ``auto`` runs
# ``cmaes``. Why ``cma`` falls behind there was not found (not its bounds, its active update or its
# mirrored samples: each turned off, no change).
ENGINES = ("cma", "cmaes")


def population(dimension: int, parallel: int = 1) -> int:
    """The size of a generation: ``cma``'s default, or ``parallel`` if larger."""
    return max(4 + int(3 * math.log(dimension)), parallel)


def cma_steps(
    box: Box,
    start: tuple[Value, ...],
    ledger: Ledger,
    seed: int | None,
    parallel: int = 1,
    after: int = 0,
    *,
    leave: int = 0,
    growth: int = 1,
    engine: str = "cma",
) -> Steps:
    """CMA-ES over ``box`` from the measured ``start``, one generation per batch (see the module); its
    generations are numbered on from ``after`` (the iterations of a method that ran before it).
    ``leave`` evaluations are left for a method that runs after it; its population is ``growth`` times
    the default; ``engine`` is one of :data:`ENGINES`.

    With light noise (the start's sd below ``LIGHT_NOISE`` of the size of its mean value) the first step
    size is ``NOISY_SIGMA0`` of each range, not ``SIGMA0``. On the benchmark's tuning runs at 200 calls
    (30 runs, docs/optimize.md), a tenth ended lower than a quarter on every lightly noisy problem
    CMA-ES runs on (the pharmacokinetic fit 0.016 against 0.045, the oscillator 0.33 against 1.8) and on
    the noisy sphere in 2 and 5 dimensions, but 2x higher on the heavily noisy 2-param quadratic and
    bowl, whose optima lie further from the start; with heavy noise the quarter stays. Run by
    ``cmaes``, a sixth (Optuna's own first step) ended lower than a tenth on the same runs (the pk fit
    0.0064 against 0.012, the oscillator 0.31 against 0.44, the sphere in 5 dimensions 0.096 against
    0.15; 1.2x higher on Rosenbrock in 5), so the light step is the engine's."""
    noisy = not (ledger.noise is None or ledger.noise.free)
    reserve = min(CHECKS, max(ledger.left // 10, 1)) if noisy else 1
    held = reserve * (2 if noisy and RECHECK_BEST else 1)  # the mean's checks, and the best reading's
    light = noisy and ledger.noise is not None and ledger.noise.sd < LIGHT_NOISE * abs(ledger.noise.mean)
    sigma = NOISY_SIGMA0[engine] if light else None
    strategy = yield from _generations(
        box, start, ledger, seed, parallel, after, leave + held, growth, sigma, engine
    )
    generation = strategy[1] if strategy else after
    # with noise there is no restart: a strategy that met its own stop test leaves budget unspent, and
    # the answer says so (it once said "budget" after 700 of 2000 evaluations)
    converged = noisy and strategy is not None and ledger.left > leave + held and strategy[0].stop()
    outcome = yield from _answer(box, ledger, strategy[0] if strategy else None, generation, reserve, noisy)
    return replace(outcome, stopped="converged") if converged else outcome


def cma_spsa_steps(
    box: Box,
    start: tuple[Value, ...],
    ledger: Ledger,
    seed: int | None,
    parallel: int = 1,
    engine: str = "cmaes",
) -> Steps:
    """With noise and a large budget (what ``auto`` runs then): CMA-ES with the first half of the budget
    (``SPSA_SHARE``), SPSA from its mean with the rest, and the better of the two answers.

    Measured on the benchmark's tuning runs (docs/optimize.md): CMA-ES finds the basin but ends far
    above the noise floor's precision (the noisy sphere of 2 to 10 params at 1000 calls: 0.016 to
    0.063), where SPSA's decreasing gains average the noise out (SPSA alone: 2e-4 to 5e-4); SPSA alone
    cannot find a basin on a rugged landscape or in a curve fit. SPSA starts at CMA-ES's mean, its first
    step a fifth of CMA-ES's last step size (``SPSA_FIRST_STEP``; SPSA's default, 5% of the range where
    the gradient is small, ended 4x higher on the sphere) and no step larger than that step size, or 1%
    of the range if CMA-ES's step had shrunk below it (``SCALE_FLOOR``: on the sphere in 2 dimensions
    CMA-ES sometimes shrank it early, and SPSA could not move: 1.4e-3, with the floor 6e-5 over 30
    tuning runs). SPSA answers with the average of the last half of its iterates (``SPSA_FINAL``;
    1000 calls on the sphere in 10 dimensions: 3.9e-4 against 9e-4 for its final iterate). Both
    answers are measured ``CHECKS`` times; CMA-ES's is kept only if its mean is lower than SPSA's by
    more than ``KEEP_MARGIN`` standard errors of the difference: where SPSA helps the two differ by less
    than the noise, and a looser test kept CMA-ES's worse answer in one or two runs of ten."""
    left = ledger.left
    reserve = min(CHECKS, max(left // 10, 1))
    leave = int(SPSA_SHARE * left)
    ran = yield from _generations(box, start, ledger, seed, parallel, 0, leave + reserve, 1, None, engine)
    if ran is None:  # pragma: no cover - the budget always holds one generation here
        return (yield from _answer(box, ledger, None, 0, reserve, True))
    strategy, generation = ran
    mean = box.from_unit(np.asarray(strategy.result.xfavorite))
    first = yield from ledger.measure([Request(mean, generation, "check")] * min(reserve, ledger.left))
    scale = max(float(np.median(strategy.result.stds)), SCALE_FLOOR)
    settings = SpsaSettings(
        first_step=SPSA_FIRST_STEP * scale,
        max_step=scale,
        checks=reserve,
        gradient_samples=parallel,
        final=SPSA_FINAL,
    )
    second = yield from _renumbered(spsa_steps(box, mean, ledger, seed, settings), generation + 1)
    if first_is_better(first, ledger.seen.get(tuple(second.x), [second.value])[-reserve:], KEEP_MARGIN):
        return Outcome(mean, float(np.mean(first)), second.iterations, "budget")
    return second


def _renumbered(steps: Steps, after: int) -> Steps:
    """``steps`` with its iterations numbered on from ``after``."""
    batch = next(steps)
    try:
        while True:
            values = yield [replace(r, iteration=r.iteration + after) for r in batch]
            batch = steps.send(values)
    except StopIteration as stop:
        outcome: Outcome = stop.value
    return replace(outcome, iterations=outcome.iterations + after)


def _generations(
    box: Box,
    start: tuple[Value, ...],
    ledger: Ledger,
    seed: int | None,
    parallel: int,
    after: int,
    reserve: int,
    growth: int,
    sigma: float | None = None,
    engine: str = "cma",
) -> Generator[list[Request], list[float], tuple[Any, int] | None]:
    """CMA-ES's generations (restarted without noise, see the module) until ``reserve`` evaluations are
    left, from a step size of ``sigma`` (default ``SIGMA0``), run by ``engine``; the last strategy and
    generation (None if the budget held none)."""
    package = _package(engine)
    rng = np.random.default_rng(seed)
    noisy = not (ledger.noise is None or ledger.noise.free)
    size = first = population(len(box), parallel) * growth
    mean = box.to_unit([float(v) for v in start])
    generation, restarts, strategy = after, 0, None
    while ledger.left - reserve >= 1 and not ledger.stalled:
        first_step = SIGMA0 if sigma is None or restarts else sigma
        strategy = _strategy(engine, package, box, mean, size, rng, first_step)
        spent = ledger.spent
        while ledger.left - reserve >= 1 and not strategy.stop() and not ledger.stalled:
            generation += 1
            units = strategy.ask()
            if len(units) > ledger.left - reserve:
                yield from _last(box, ledger, units, generation, reserve)
                break
            points = [box.snap(np.asarray(u))[0] for u in units]
            values = yield from ledger.measure([Request(x, generation, "trial") for x in points])
            strategy.tell(units, values)
        if noisy or ledger.spent == spent:  # a restart that ran nothing: a small discrete space is spent
            break
        restarts += 1
        size = min(size * 2, first << MAX_DOUBLINGS)
        mean = rng.random(len(box))
    return None if strategy is None else (strategy, generation)


def _strategy(
    engine: str, package: Any, box: Box, mean: Vector, size: int, rng: np.random.Generator, sigma: float
) -> Any:
    """A strategy of ``engine`` (its module ``package``), asked and told alike whichever it is."""
    if engine == "cmaes":
        return _Cmaes(package, mean, sigma, size, rng)
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
    if len(box) > 1:
        return package.CMAEvolutionStrategy(list(mean), sigma, options)
    options.update(minstd=0.0, maxstd=float("inf"))  # cma cannot hold one param's step: _OneParam does
    return _OneParam(package.CMAEvolutionStrategy(list(mean), sigma, options), float(box.unit_steps()[0]) / 4)


class _OneParam:
    """A ``cma`` strategy of a single param, holding the limits of its step that ``cma`` holds for two or
    more: at least a quarter of a unit for an integer param (``minstd``), at most the range (``maxstd``,
    which ``cma`` sets from the bounds). With one param ``cma`` (4.5) raises as it holds them (``not yet
    initialized (dimension needed)`` from its ``sigma_vec``), so they are held here, by the step size,
    after each generation."""

    def __init__(self, es: Any, floor: float) -> None:
        self._es, self._floor = es, floor

    def ask(self) -> Any:
        return self._es.ask()

    def tell(self, units: Any, values: list[float]) -> None:
        self._es.tell(units, values)
        std = float(self._es.stds[0])
        if 0.0 < std < self._floor:
            self._es.sigma *= self._floor / std
        elif std > 1.0:
            self._es.sigma /= std

    def stop(self) -> Any:
        return self._es.stop()

    @property
    def result(self) -> Any:
        return self._es.result


@dataclass(frozen=True)
class _Result:
    """What is read of a strategy once it has run, named as ``cma``'s ``result`` names it."""

    xfavorite: Vector  # the distribution's mean
    stds: Vector  # its standard deviation along each param, in the unit cube


class _Cmaes:
    """A strategy of the ``cmaes`` package, asked and told as ``cma``'s is: a generation at a time, its
    samples in the unit cube (``cmaes`` resamples a point outside it, then clips), its draws from a seed
    taken from the optimisation's generator (so a replay asks for the same points)."""

    def __init__(self, package: Any, mean: Vector, sigma: float, size: int, rng: np.random.Generator) -> None:
        d = len(mean)
        self._es = package.CMA(
            mean=np.asarray(mean, dtype=float),
            sigma=sigma,
            bounds=np.array([[0.0, 1.0]] * d),
            seed=int(rng.integers(1, 2**31 - 1)),
            population_size=size,
            n_max_resampling=10 * d,
        )

    def ask(self) -> list[Vector]:
        return [self._es.ask() for _ in range(self._es.population_size)]

    def tell(self, units: list[Vector], values: list[float]) -> None:
        self._es.tell(list(zip(units, values, strict=True)))

    def stop(self) -> bool:
        return bool(self._es.should_stop())

    @property
    def result(self) -> _Result:
        # cmaes has no public step size nor covariance: these two names (the same since its first
        # release) are read, and a test fails if a release renames them
        variances = np.diag(self._es._C)
        return _Result(np.asarray(self._es.mean), self._es._sigma * np.sqrt(variances))


def _last(box: Box, ledger: Ledger, units: Any, generation: int, reserve: int) -> Steps:
    """The budget left cannot hold a generation: measure what it can of this one (the best point
    measured may be among them), and tell ``cma`` nothing."""
    room = ledger.left - reserve
    requests = [Request(box.snap(np.asarray(u))[0], generation, "trial") for u in units[:room]]
    yield from ledger.measure(requests)
    return Outcome((), 0.0, 0, "budget")


def _answer(box: Box, ledger: Ledger, strategy: Any, generation: int, reserve: int, noisy: bool) -> Steps:
    """The distribution's mean, measured ``reserve`` times: with noise, the answer (the mean of those
    checks), unless the best single reading's point, measured as often afresh, has the lower mean
    (``RECHECK_BEST``); without noise, the answer if no point measured better."""
    if strategy is not None and reserve and ledger.left:
        x = box.from_unit(np.asarray(strategy.result.xfavorite))
        candidates = [x]
        if noisy and RECHECK_BEST and ledger.best is not None and ledger.best[1] != tuple(x):
            candidates.append(ledger.best[1])
        checks = max(min(reserve, ledger.left // len(candidates)), 1)
        candidates = candidates[: max(ledger.left // checks, 1)]
        values = yield from ledger.measure(
            [Request(c, generation, "check") for c in candidates for _ in range(checks)]
        )
        if noisy:
            means = [float(np.mean(values[i * checks : (i + 1) * checks])) for i in range(len(candidates))]
            chosen = int(np.argmin(means))
            return Outcome(candidates[chosen], means[chosen], generation, "budget")
    if ledger.best is None:  # pragma: no cover - the start is always measured first
        raise OptimizeError("internal: CMA-ES measured nothing")
    value, x = ledger.best
    return Outcome(x, value, generation, "budget")


def _package(engine: str) -> Any:
    """The module of ``engine`` (one of :data:`ENGINES`: each is its package's name)."""
    try:
        with warnings.catch_warnings():  # cma warns that it cannot plot without matplotlib: it need not
            warnings.filterwarnings("ignore", message="Could not import matplotlib", category=UserWarning)
            return importlib.import_module(engine)
    except ImportError:  # pragma: no cover - both are core dependencies
        raise OptimizeError(f"--method {engine} needs the {engine} package: pip install {engine}") from None
