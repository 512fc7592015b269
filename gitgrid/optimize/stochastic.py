"""SPSA, simultaneous perturbation stochastic approximation (Spall 1998), as a generator of batches.

One iteration perturbs every param at once by ``+-c_k`` (Bernoulli signs) around the current point,
evaluates the two points, and steps against the gradient that difference estimates: two evaluations per
iteration whatever the number of params, and robust to noise. Here, in the unit cube of
:mod:`gitgrid.optimize.box`:

1. *Calibration* (when ``a`` or ``c`` are not given): ``start_evaluations`` values at the start estimate
   the noise, which sets ``c``; the size of the gradient samples of the first ``calibration_iterations``
   iterations sets ``a``, recomputed after each (:mod:`gitgrid.optimize.gains`). The start's values
   count against the budget; the calibrating iterations are ordinary iterations that also move.
2. *Iterations*: ``gradient_samples`` perturbation pairs per iteration (averaged), a step capped at
   ``max_step`` of the range per param, the point projected back into the box. The pairs are centred
   far enough inside the box for both points to lie in it.
3. *Stopping*: the budget, or ``ftol`` (the mean value of the last ``patience`` iterations moved less
   than that from the ``patience`` before), or ``param_tol`` (no param moved more than that fraction of
   its range over the last ``patience`` iterations).
4. *Answer*: the final iterate, measured ``checks`` times. ``final="recheck"`` measures the final
   iterate, the average of the last half of the iterates and the best single reading, ``checks`` times
   each, and returns the best mean. Never the best noisy reading as such: that is a lucky draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gitgrid.errors import OptimizeError
from gitgrid.optimize.box import Box, Vector
from gitgrid.optimize.curvature import Curvature
from gitgrid.optimize.gains import Gains, perturbation_size, step_gain
from gitgrid.optimize.history import Outcome, Request, Steps
from gitgrid.optimize.ledger import Ledger
from gitgrid.spec.values import Value

__all__ = ["SpsaSettings", "minimum_budget", "spsa_steps"]
LEARN = 0.5  # 2SPSA: the share of the iterations that learn the Hessian (jittered pairs); then it is kept


@dataclass(frozen=True)
class SpsaSettings:
    """SPSA's knobs; the defaults are what the benchmark (docs/optimize.md) supports."""

    a: float | None = None  # step gain; None: calibrated
    c: float | None = None  # perturbation, in unit coordinates; None: calibrated
    A: float | None = None  # stability constant; None: 10% of the iterations
    alpha: float = 0.602
    gamma: float = 0.101
    gradient_samples: int = 1  # perturbation pairs averaged per iteration
    max_step: float | None = 0.05  # cap on any param's change per iteration, in unit coordinates
    first_step: float = 0.05  # what the calibration of ``a`` aims the first step at
    start_evaluations: int = 4  # values at the start, for the noise (when c is calibrated)
    calibration_iterations: int = 10  # whose gradient sizes set ``a`` (when a is calibrated)
    ftol: float | None = None
    param_tol: float | None = None
    patience: int = 10
    final: str = "iterate"  # or "recheck", or "average" (of the last half of the iterates)
    checks: int | None = None  # measurements of the answer (of each candidate); default 1, recheck 3
    second_order: bool = False  # 2SPSA's Hessian as the step's preconditioner (curvature.py); no noise

    def check(self) -> None:
        positive = {
            "gradient_samples": self.gradient_samples,
            "patience": self.patience,
            "calibration_iterations": self.calibration_iterations,
        }
        for name, value in positive.items():
            if value < 1:
                raise OptimizeError(f"{name} must be at least 1, got {value}")
        if self.final not in ("iterate", "recheck", "average"):
            raise OptimizeError(f"final={self.final!r}: expected 'iterate', 'recheck' or 'average'")
        if self.checks is not None and self.checks < 1:
            raise OptimizeError(f"checks must be at least 1, got {self.checks}")
        for name in ("a", "c", "max_step", "ftol", "param_tol"):
            value = getattr(self, name)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise OptimizeError(f"{name} must be positive and finite, got {value}")


@dataclass(frozen=True)
class _Plan:
    start: int  # evaluations at the start
    iterations: int
    checks: int  # evaluations of each final candidate
    candidates: int


def _plan(ledger: Ledger, s: SpsaSettings) -> _Plan:
    measured = len(ledger.noise.values) if ledger.noise is not None else 0
    noisy = ledger.noise is not None and not ledger.noise.free
    start = max(s.start_evaluations - measured, 0) if s.c is None and noisy else 0
    candidates = 3 if s.final == "recheck" else 1
    checks = s.checks or (3 if s.final == "recheck" else 1)
    pair = 2 * s.gradient_samples
    left = ledger.left - start - candidates * checks
    if left < pair:
        raise OptimizeError(
            f"a budget of {ledger.budget} evaluations is less than one SPSA iteration needs here: "
            f"{minimum_budget(s)} ({s.start_evaluations} at the start, {pair} for an iteration, "
            f"{candidates * checks} to check the answer)"
        )
    if candidates == 1:  # what no iteration can use measures the answer once more
        checks += left % pair
    return _Plan(start, left // pair, checks, candidates)


def minimum_budget(settings: SpsaSettings) -> int:
    """The smallest budget SPSA accepts with ``settings``: calibration, one iteration and the check."""
    s = settings
    start = max(s.start_evaluations if s.c is None else 0, 4)  # the start, measured (noise: four times)
    checks = 3 * (s.checks or 3) if s.final == "recheck" else (s.checks or 1)
    return start + 2 * s.gradient_samples + checks


def spsa_steps(
    box: Box,
    start: tuple[Value, ...],
    ledger: Ledger,
    seed: int | None,
    settings: SpsaSettings = SpsaSettings(),
) -> Steps:
    """SPSA over ``box`` from the measured ``start``, within the ledger's budget (see the module)."""
    settings.check()
    if any(d.categorical for d in box.dims):
        raise OptimizeError("SPSA cannot search a categorical param ('values:' list)")
    plan = _plan(ledger, settings)
    u0 = box.to_unit([float(v) for v in start])
    state = _State(box, settings, plan, np.random.default_rng(seed), u0, ledger)
    start_values = list(ledger.noise.values) if ledger.noise is not None else []
    if plan.start:
        start_values += yield from ledger.measure([Request(start, 0, "start")] * plan.start)
    c = settings.c if settings.c is not None else perturbation_size(start_values)
    state.gains = Gains(settings.a or 0.0, c, _stability(settings, plan), settings.alpha, settings.gamma)
    k = 0
    while k < plan.iterations:
        requests, pairs = state.perturb(k)
        values = yield from ledger.measure(requests)
        state.step(k, pairs, values)
        k += 1
        stopped = state.stopped()
        if stopped:
            return (yield from state.answer(k, stopped))
    return (yield from state.answer(k, "budget"))


def _stability(settings: SpsaSettings, plan: _Plan) -> float:
    return settings.A if settings.A is not None else 0.1 * plan.iterations


class _State:
    """The moving parts of one SPSA run: the iterate, the gains, and what stopping and the answer need."""

    def __init__(self, box: Box, s: SpsaSettings, plan: _Plan, rng: np.random.Generator, u0: Vector,
                 ledger: Ledger) -> None:  # fmt: skip
        self.box, self.s, self.plan, self.rng, self.ledger = box, s, plan, rng, ledger
        self.theta = u0
        self.min_c = box.unit_steps()
        self.gains = Gains(0.0, 0.0, 0.0)
        self.means: list[float] = []  # mean value of each iteration
        self.thetas: list[Vector] = [u0]
        self.best: tuple[float, tuple[Value, ...]] | None = None  # the best single reading
        self.sizes: list[float] = []
        noisy = ledger.noise is not None and not ledger.noise.free
        second = s.second_order and not noisy and not any(d.integer for d in box.dims)
        self.curvature = Curvature(len(box)) if second else None
        self.couple: tuple[Vector, Vector, float] | None = None  # D, D~ and c~ of an odd iteration
        self.previous: tuple[Vector, float, Vector] | None = None  # D, y and centre of the last pair

    def perturb(self, k: int) -> tuple[list[Request], list[tuple[Vector, Vector]]]:
        """The perturbation pairs of iteration ``k``, centred so both points lie inside the box."""
        samples = self.s.gradient_samples
        ck = np.maximum(self.gains.c_k(k), self.min_c)
        deltas = self.rng.choice([-1.0, 1.0], size=(samples, len(self.box)))
        theta, self.couple = self.theta, None
        learning = k < LEARN * self.plan.iterations  # later pairs stay on the iterate: full precision
        if self.curvature is not None and learning and k % 2 == 1 and self.previous is not None:
            jitter = self.rng.choice([-1.0, 1.0], size=len(self.box))
            moved = float(np.max(np.abs(self.theta - self.previous[2])))
            size = max(float(np.max(ck)), 3.0 * moved)  # the step's share, taken off, stays small
            deltas[0], theta = self.previous[0], self.theta + size * jitter
            self.couple = (self.previous[0], jitter, size)
        centre = np.clip(theta, np.minimum(ck, 0.5), np.maximum(1 - ck, 0.5))
        requests, pairs = [], []
        for delta in deltas:
            plus, u_plus = self.box.snap(centre + ck * delta)
            minus, u_minus = self.box.snap(centre - ck * delta)
            requests += [Request(plus, k, "theta+"), Request(minus, k, "theta-")]
            pairs.append((u_plus, u_minus))
        return requests, pairs

    def step(self, k: int, pairs: list[tuple[Vector, Vector]], values: list[float]) -> None:
        """Estimate the gradient from the pairs' values and move the iterate against it."""
        samples = []
        for i, (u_plus, u_minus) in enumerate(pairs):
            difference = u_plus - u_minus
            moved = difference != 0  # an integer param that rounded to the same value tells nothing
            g = np.zeros(len(difference))
            g[moved] = (values[2 * i] - values[2 * i + 1]) / difference[moved]
            samples.append(g)
        if self.curvature is not None:
            self._learn_curvature(pairs[0], values[0] - values[1])
            if self.couple is not None:  # the pair was centred off the iterate: take that off, as estimated
                same, jitter, size = self.couple
                samples[0] = samples[0] - self.curvature.shift(same, size * jitter) * same
        gradient = np.mean(samples, axis=0)
        if self.curvature is not None:
            gradient = self.curvature.precondition(gradient)
        if k < self.s.calibration_iterations and self.s.a is None:
            self.sizes += np.abs(np.concatenate(samples)).tolist()
            a = step_gain(self.sizes, self.s.first_step, self.gains.A, self.gains.alpha)
            self.gains = Gains(a, self.gains.c, self.gains.A, self.gains.alpha, self.gains.gamma)
        step = self.gains.a_k(k) * gradient
        if self.s.max_step is not None:
            step = np.clip(step, -self.s.max_step, self.s.max_step)
        self.theta = np.clip(self.theta - step, 0.0, 1.0)
        self.thetas.append(self.theta)
        self.means.append(float(np.mean(values)))
        self._remember_best(pairs, values)

    def _learn_curvature(self, pair: tuple[Vector, Vector], difference: float) -> None:
        """Keep the first pair's directional difference; after an odd iteration, a Hessian sample."""
        assert self.curvature is not None
        u_plus, u_minus = pair
        span = float(np.max(np.abs(u_plus - u_minus)))
        delta = np.sign(u_plus - u_minus)
        y, centre = difference / span if span else 0.0, (u_plus + u_minus) / 2
        if self.couple is not None and self.previous is not None and span:
            self.curvature.add(y - self.previous[1], self.couple[0], centre - self.previous[2])
        self.previous = (delta, y, centre)

    def _remember_best(self, pairs: list[tuple[Vector, Vector]], values: list[float]) -> None:
        for i, value in enumerate(values):
            if self.best is None or value < self.best[0]:
                self.best = (value, self.box.from_unit(pairs[i // 2][i % 2]))

    def stopped(self) -> str | None:
        w, s = self.s.patience, self.s
        if s.ftol is not None and len(self.means) >= 2 * w:
            recent, before = np.mean(self.means[-w:]), np.mean(self.means[-2 * w : -w])
            if abs(recent - before) < s.ftol:
                return "ftol"
        if s.param_tol is not None and len(self.thetas) > w:
            moved = float(np.max(np.abs(self.thetas[-1] - self.thetas[-1 - w])))
            return "param-tol" if moved < s.param_tol else None
        return None

    def answer(self, k: int, stopped: str) -> Steps:
        """Measure the answer (or the candidates of a recheck) and return the outcome."""
        final = tuple(self.box.from_unit(self.theta))
        if self.s.final == "average":
            final = tuple(self.box.from_unit(np.mean(self.thetas[len(self.thetas) // 2 :], axis=0)))
        candidates = [final]
        if self.s.final == "recheck":
            half = self.thetas[len(self.thetas) // 2 :]
            candidates.append(tuple(self.box.from_unit(np.mean(half, axis=0))))
            candidates.append(self.best[1] if self.best is not None else final)
        n = self.plan.checks
        values = yield from self.ledger.measure(
            [Request(x, k, "check") for x in candidates for _ in range(n)]
        )
        means = [float(np.mean(values[i * n : (i + 1) * n])) for i in range(len(candidates))]
        chosen = int(np.argmin(means))
        g = self.gains
        settings = (("a", g.a), ("c", g.c), ("A", g.A), ("alpha", g.alpha), ("gamma", g.gamma))
        return Outcome(candidates[chosen], means[chosen], k, stopped, settings)
