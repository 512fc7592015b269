"""A trust-region method on quadratic models of the measurements (in the spirit of Powell's BOBYQA and
of response-surface methods), as a generator of batches.

In the unit cube of :mod:`gitgrid.optimize.box`, around the best point so far (the centre) and within a
radius: a quadratic model is fitted to the measurements nearest the centre (interpolating them with the
least curvature while they are fewer than a quadratic's coefficients, by least squares once they are
more, which is how noise averages out), its minimum within the radius and the box is measured, and the
radius grows when the model predicted the change well and shrinks when it did not. A point that
would make the model better determined (where the nearby points leave a direction unexplored) is
measured when the model is poorly determined. Each batch holds the step and, with ``parallel`` P, P - 1
more points spread around it.

It starts with the start and one step of the first radius along each param (as COBYLA and BOBYQA do);
once the radius has shrunk to nothing (noise-free) with budget left, CMA-ES runs from the best point
with twice its default population, and the trust region then polishes the best point it found
(:func:`_hand_over`); the answer is the best point measured. With noise, the model's minimum decides
which point is the centre (a single reading does not), the radius does not shrink below what the noise
lets a model resolve, and the answer is the final centre measured again: its value is the mean of
those checks.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gitgrid.optimize.box import Box, Vector
from gitgrid.optimize.evolution import cma_steps
from gitgrid.optimize.history import Outcome, Request, Steps
from gitgrid.optimize.ledger import Ledger, Measure
from gitgrid.spec.values import Value

__all__ = ["HAND_OVER_GROWTH", "Model", "TrustSettings", "fit", "polish_budget", "step", "trust_steps"]
HAND_OVER_GROWTH = 2  # noise-free, after the trust region converged: CMA-ES's population, times its default
POLISH_RADIUS = 0.01  # the first radius of the trust region polishing CMA-ES's best point
# noise-free, from this many quadratics' worth of budget left after the start, the radius shrinks only on a
# model its points determine whole (see _determined)
DETERMINED_BUDGET = 10


@dataclass(frozen=True)
class TrustSettings:
    """The trust region's knobs, in unit coordinates; the defaults are what the benchmark supports."""

    radius: float = 0.15  # the first radius
    max_radius: float = 0.5
    min_radius: float = 1e-7  # noise-free: converged below this; then a restart
    grow: float = 2.0
    shrink: float = 0.5
    checks: int = 4  # with noise: measurements of the answer


class _Points:
    """The measurements in unit coordinates, grown in place."""

    def __init__(self, d: int) -> None:
        self.u = np.empty((0, d))
        self.f = np.empty(0)

    def add(self, u: Vector, f: float) -> None:
        self.u = np.vstack([self.u, u[None, :]])
        self.f = np.append(self.f, f)

    def __len__(self) -> int:
        return len(self.f)


def _features(s: Vector) -> Vector:
    """A quadratic's basis at the rows of ``s``: 1, s_i, and s_i s_j (i <= j, halved on the diagonal)."""
    n, d = s.shape
    rows, cols = np.triu_indices(d)
    quadratic = s[:, rows] * s[:, cols] * np.where(rows == cols, 0.5, 1.0)
    return np.hstack([np.ones((n, 1)), s, quadratic])


@dataclass(frozen=True)
class Model:
    """``m(s) = c + g's + s'Hs/2`` in coordinates scaled by the radius around the centre; with noise,
    ``cov`` is the covariance of its coefficients per unit of the noise's variance."""

    c: float
    g: Vector
    h: Vector
    cov: Vector | None = None
    residual: float | None = None  # with noise: the residuals' standard deviation, if enough points

    def __call__(self, s: Vector) -> float:
        return float(self.c + self.g @ s + 0.5 * s @ self.h @ s)

    def spread(self, s: Vector, sd: float) -> float:
        """The standard error of ``m(0) - m(s)``: how much of a predicted change noise could make."""
        if self.cov is None:
            return 0.0
        change = _features(s[None, :])[0] - _features(np.zeros((1, len(s))))[0]
        return sd * math.sqrt(max(float(change @ self.cov @ change), 0.0))


def fit(points: _Points, centre: Vector, radius: float, noisy: bool) -> tuple[Model, int]:
    """The model around ``centre`` and how many points it rests on (see the module).

    Noise-free, the points nearest the centre (as many as a quadratic has coefficients, within four
    radii) are interpolated, with the least curvature while they are too few. With noise every point
    counts, weighted by its distance (a Gaussian of two radii): a local quadratic regression, which
    averages the noise of the many points near the centre without letting far ones bend the model.

    Every point, not the nearest few: the regression once rested on the nearest two quadratics' worth,
    and once the centre had gathered that many measurements within a small distance, a model of those
    alone extrapolated to a grown radius said nothing about the far points already measured, 100 noise
    sds worse, and moved the centre to them and back (the benchmark's noisy sphere in 2 dimensions at 50
    calls ended at 5.8 and 20 in 2 of 30 tuning runs, the start at 32, the median 0.14; now 0.011, none
    above 0.06). The cost grows with the points (so with the square of the budget): about 25 ms an
    iteration at 3,000 measurements of 10 params (15 times the nearest few's), nothing beside running a
    simulation. Leaving out the points beyond 8.3 radii (weights below 1e-30) was faster, but through
    rounding moved single runs, and its medians were no better (docs/optimize.md).
    """
    d = len(centre)
    size = 1 + d + d * (d + 1) // 2
    distance = np.linalg.norm(points.u - centre, axis=1)
    order = np.argsort(distance, kind="stable")
    if noisy:
        return _regression(points, centre, radius, order, distance), size
    near = order[:size]
    near = near[distance[near] <= max(4.0 * radius, 1e-12)]
    a = _features((points.u[near] - centre) / radius)
    columns = np.ones(a.shape[1])
    if len(near) < size:  # fewer points than coefficients: the least curvature that fits them
        columns[: 1 + d] = 1e4
    coefficients = np.linalg.lstsq(a * columns, points.f[near], rcond=None)[0] * columns
    return _model(coefficients, d), len(near)


def _regression(points: _Points, centre: Vector, radius: float, near: Any, distance: Vector) -> Model:
    """The local quadratic regression of the noisy case, by its normal equations (a ridge keeps them
    solvable while the points are too few), with the coefficients' covariance for the significance."""
    d = len(centre)
    weight = np.exp(-((distance[near] / radius) ** 2))
    a = _features((points.u[near] - centre) / radius)
    ridge = np.full(a.shape[1], 1e-6)
    ridge[1 + d :] = 1e-3  # curvature the points do not determine stays small
    normal = a.T @ (a * weight[:, None]) + np.diag(ridge)
    inverse = np.linalg.inv(normal)
    coefficients = inverse @ (a.T @ (weight * points.f[near]))
    freedom = float(np.sum(weight)) - a.shape[1]
    residual = None
    if freedom >= a.shape[1]:
        misfit = points.f[near] - a @ coefficients
        residual = math.sqrt(float(np.sum(weight * misfit**2)) / freedom)
    return replace(_model(coefficients, d), cov=inverse, residual=residual)


def _model(coefficients: Vector, d: int) -> Model:
    h = np.zeros((d, d))
    upper, lower = np.triu_indices(d)
    h[upper, lower] = coefficients[1 + d :]
    h = h + h.T - np.diag(np.diag(h))
    return Model(float(coefficients[0]), coefficients[1 : 1 + d], h)


def step(model: Model, centre: Vector, radius: float) -> Vector:
    """An approximate minimiser of ``model`` within the unit ball (scaled) and the box, as a scaled step."""
    low, high = -centre / radius, (1.0 - centre) / radius
    candidates = [_ball_step(model), -model.g / max(float(np.linalg.norm(model.g)), 1e-300)]
    best = min((_into(c, low, high) for c in candidates), key=model)
    for _ in range(40):  # projected gradient descent, kept only where it lowers the model
        gradient = model.g + model.h @ best
        size = float(np.linalg.norm(gradient))
        if size == 0.0:
            break
        trial = _into(best - 0.3 * gradient / max(size, 1e-300) * max(float(np.linalg.norm(best)), 0.1),
                      low, high)  # fmt: skip
        if model(trial) >= model(best):
            break
        best = trial
    return best


def _ball_step(model: Model) -> Vector:
    """The minimiser of the model in the unit ball (the trust-region subproblem, by bisection)."""
    values, vectors = np.linalg.eigh(model.h)
    g = vectors.T @ model.g

    def norm(shift: float) -> float:
        return float(np.linalg.norm(g / np.maximum(values + shift, 1e-12)))

    lowest = float(values[0])
    if lowest > 0 and norm(0.0) <= 1.0:
        return np.asarray(-(vectors @ (g / values)))
    low, high = max(0.0, -lowest) + 1e-12, max(0.0, -lowest) + float(np.linalg.norm(g)) + 1.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if norm(middle) > 1.0 else (low, middle)
    s = -(vectors @ (g / np.maximum(values + high, 1e-12)))
    if float(np.linalg.norm(s)) < 0.5 and lowest < 0:  # the hard case: along the lowest curvature
        s = s + vectors[:, 0] * math.sqrt(max(1.0 - float(s @ s), 0.0))
    return s


def _into(s: Vector, low: Vector, high: Vector) -> Vector:
    """``s`` clipped into the box and then into the unit ball."""
    s = np.clip(s, low, high)
    size = float(np.linalg.norm(s))
    return s / size if size > 1.0 else s


def trust_steps(
    box: Box,
    start: tuple[Value, ...],
    ledger: Ledger,
    seed: int | None,
    parallel: int = 1,
    settings: TrustSettings = TrustSettings(),
) -> Steps:
    """The trust-region method over ``box`` from the measured ``start`` (see the module)."""
    run = _Run(box, ledger, np.random.default_rng(seed), max(parallel, 1), settings)
    for x, values in ledger.seen.items():
        for value in values if run.noisy else values[:1]:
            run.add(box.to_unit([float(v) for v in x]), value)
    centre = box.to_unit([float(v) for v in start])
    if run.noisy:
        reserve = min(settings.checks, max(ledger.left // 10, 1))
        centre = yield from run.descend(centre, reserve)
        return (yield from run.answer(centre, reserve))
    yield from run.descend(centre, 0)
    if ledger.left > len(box) + 1 and not ledger.stalled and ledger.best is not None:
        # converged with budget left: CMA-ES from the best point searches more of the landscape, then
        # the trust region polishes the best point CMA-ES found (see hand_over)
        return (yield from _hand_over(box, ledger.best[1], ledger, seed, run, settings))
    return (yield from run.answer(centre, 0))


def _hand_over(
    box: Box, best: tuple[Value, ...], ledger: Ledger, seed: int | None, run: _Run, settings: TrustSettings
) -> Steps:
    """Noise-free, the trust region converged with budget left: CMA-ES from the best point, with twice
    its default population (``HAND_OVER_GROWTH``), then the trust region again from the best point
    measured, with ``polish_budget`` evaluations and a small first radius.

    Both measured on the tuning runs of the benchmark (docs/optimize.md): CMA-ES with its default
    population from a local minimum of the rippled bowl (5 params, 1000 calls) found the global one in
    14 of 30 runs; with twice the population in 28, but without the polish it ends 1e-6 to 1e-5 off
    (its step size is still shrinking when the budget ends), where the trust region converges in a few
    dozen evaluations. The answer is the best point measured."""
    d = len(box)
    polish = polish_budget(d, ledger.left)
    outcome = yield from cma_steps(
        box, best, ledger, seed, run.parallel, run.iteration, leave=polish, growth=HAND_OVER_GROWTH
    )
    if ledger.left <= d + 1 or ledger.stalled or ledger.best is None:
        return outcome
    again = _Run(box, ledger, run.rng, run.parallel, replace(settings, radius=POLISH_RADIUS))
    again.iteration = outcome.iterations
    for x, values in ledger.seen.items():
        again.add(box.to_unit([float(v) for v in x]), values[0])
    centre = box.to_unit([float(v) for v in ledger.best[1]])
    yield from again.descend(centre, 0)
    return (yield from again.answer(centre, 0))


def polish_budget(dimension: int, left: int) -> int:
    """The evaluations the trust region keeps to polish what CMA-ES found after a hand-over: about two
    quadratic models' worth (``(d + 1)(d + 2)``), at most a quarter of what is left."""
    return min(left // 4, (dimension + 1) * (dimension + 2))


def _determined(dimension: int, left: int, noisy: bool) -> int:
    """How many points a model must rest on before a step it mispredicts shrinks the radius (fewer, and
    a point that improves the model's geometry is measured instead).

    A linear model's worth (``d + 1``) by default. Noise-free, with at least ``DETERMINED_BUDGET``
    quadratics' worth of budget (``(d + 1)(d + 2) / 2`` points each) left when the run starts (after the
    start's two measurements: a budget of 152 for 4 params; the polish after a hand-over, with a few
    dozen left, keeps the linear rule), a quadratic's: on an ill-conditioned
    curved valley (the epidemic fits of the benchmark, condition 10^6 and more, some with their minimum on
    the box's bounds), a model resting on fewer points mispredicted the step again and again, each miss
    halved the radius, and the search crawled for hundreds of evaluations at radii of 1e-5 to 1e-6. As
    BOBYQA does, the model is completed before the region is blamed. Measured on the tuning runs
    (docs/optimize.md): at 1000 calls the 10-param quadratic 0.0025 -> 0.00083 and Rosenbrock in 10
    dimensions 3.1 -> 0.23, every other answer the same but Rastrigin's (2.5 -> 3.0); with smaller budgets
    completing the model costs more than it saves (Rosenbrock in 10 dimensions at 50 calls, 128 -> 1380),
    so they keep the linear rule. With noise the rule is unchanged (its models are regressions)."""
    size = (dimension + 1) * (dimension + 2) // 2
    return size if not noisy and left >= DETERMINED_BUDGET * size else dimension + 1


class _Run:
    """The moving parts of one run: the measurements, the rng, the radius."""

    def __init__(self, box: Box, ledger: Ledger, rng: np.random.Generator, parallel: int,
                 settings: TrustSettings) -> None:  # fmt: skip
        self.box, self.ledger, self.rng, self.parallel, self.s = box, ledger, rng, parallel, settings
        self.points = _Points(len(box))
        self.keys: set[bytes] = set()
        self.iteration = 0
        self.restarts = 0
        self.noisy = not (ledger.noise is None or ledger.noise.free)
        self.sd = ledger.noise.sd if ledger.noise is not None else 0.0
        self.curvature = 0.0  # with noise: the largest curvature of the last significant model
        self.radius = settings.radius
        self.integer = any(dim.integer for dim in box.dims)
        self.determined = _determined(len(box), ledger.left, self.noisy)

    def add(self, u: Vector, value: float) -> None:
        key = u.tobytes()
        if self.noisy or key not in self.keys:
            self.keys.add(key)
            self.points.add(u, value)

    def measure(self, units: Sequence[Vector], role: str = "trial") -> Measure:
        """Measure the points at ``units`` (snapped to what is evaluated); their values."""
        self.iteration += 1
        snapped = [self.box.snap(u) for u in units]
        values = yield from self.ledger.measure([Request(x, self.iteration, role) for x, _ in snapped])
        for (_, u), value in zip(snapped, values, strict=True):
            self.add(u, value)
        return values

    def descend(self, centre: Vector, reserve: int) -> Generator[list[Request], list[float], Vector]:
        """Trust-region iterations from ``centre`` until the radius vanishes or the budget is spent."""
        radius = self.radius = self.s.radius
        if self.restarts:
            yield from self.measure([centre])
        yield from self.measure(self._initial(centre, radius)[: self.ledger.left - reserve])
        while self.ledger.left > reserve and not self.ledger.stalled:
            model, used = fit(self.points, centre, radius, self.noisy)
            if model.residual is not None:  # more measurements than the start's four: a better sd
                self.sd = model.residual
            s = step(model, centre, radius)
            new = np.clip(centre + radius * s, 0.0, 1.0)
            if self.integer:  # the step is judged where it is measured: at its rounded point
                new = self.box.snap(new)[1]
            batch = [new, *self._spread(centre, radius, self.parallel - 1)]
            poised = used >= self.determined and self._poised(centre, radius)
            if not poised and len(batch) <= self.parallel:
                batch.append(self._geometry(centre, radius))
            values = yield from self.measure(batch[: self.ledger.left - reserve])
            centre, radius = self._update(centre, radius, new, values[0], model, s, poised)
            self.radius = radius
            if radius < self.s.min_radius:
                if not self.noisy:
                    break
                radius = self.s.min_radius
        return centre

    def _initial(self, centre: Vector, radius: float) -> list[Vector]:
        """One step of ``radius`` along each param, inward where the box ends."""
        out = []
        for i in range(len(centre)):
            u = centre.copy()
            u[i] += radius if centre[i] + radius <= 1.0 else -radius
            out.append(np.clip(u, 0.0, 1.0))
        return out

    def _spread(self, centre: Vector, radius: float, count: int) -> list[Vector]:
        out = []
        for _ in range(max(count, 0)):
            direction = self.rng.standard_normal(len(centre))
            out.append(np.clip(centre + radius * direction / np.linalg.norm(direction), 0.0, 1.0))
        return out

    def _poised(self, centre: Vector, radius: float) -> bool:
        """Whether the points near the centre span every direction (else the model guesses)."""
        near = self.points.u[np.linalg.norm(self.points.u - centre, axis=1) <= 2.0 * radius] - centre
        if len(near) < len(centre):
            return False
        singular = np.linalg.svd(near / radius, compute_uv=False)
        return bool(singular[-1] > 0.1)

    def _geometry(self, centre: Vector, radius: float) -> Vector:
        """A point one radius away along the direction the nearby points explore least."""
        near = self.points.u[np.linalg.norm(self.points.u - centre, axis=1) <= 2.0 * radius] - centre
        if len(near) == 0:
            direction = self.rng.standard_normal(len(centre))
        else:
            direction = np.linalg.svd(near, full_matrices=True)[2][-1]
        direction = direction / np.linalg.norm(direction)
        forward = np.clip(centre + radius * direction, 0.0, 1.0)
        backward = np.clip(centre - radius * direction, 0.0, 1.0)
        return forward if np.linalg.norm(forward - centre) >= np.linalg.norm(backward - centre) else backward

    def _update(self, centre: Vector, radius: float, new: Vector, value: float, model: Model, s: Vector,
                poised: bool) -> tuple[Vector, float]:  # fmt: skip
        """The next centre and radius, from how well the model predicted the step's value."""
        predicted = model(np.zeros(len(centre))) - model(s)
        if self.noisy:
            return self._update_noisy(centre, radius, new, value, model, s, predicted)
        actual = float(self.points.f[self._index(centre)]) - value
        return (new if actual > 0 else centre), self._resize(radius, actual, predicted, new, centre, poised)

    def _resize(self, radius: float, actual: float, predicted: float, new: Vector, centre: Vector,
                poised: bool) -> float:  # fmt: skip
        ratio = actual / predicted if predicted > 0 else -1.0
        if ratio >= 0.7 and float(np.linalg.norm(new - centre)) > 0.8 * radius:
            return min(radius * self.s.grow, self.s.max_radius)
        if ratio < 0.1 and (poised or predicted <= 0):
            return radius * self.s.shrink
        return radius

    def _update_noisy(self, centre: Vector, radius: float, new: Vector, value: float, model: Model,
                      s: Vector, predicted: float) -> tuple[Vector, float]:  # fmt: skip
        """With noise: a predicted change within twice its standard error says nothing, and the region
        grows, unless the model is curved beyond the noise (then the centre is near its minimum, and it
        shrinks); the centre moves where the refitted model is lower. The radius never shrinks below
        where the curvature last measured changes the value by twice the noise: a smaller region is
        fitted to noise alone."""
        refit, _ = fit(self.points, centre, radius, True)
        here, there = refit(np.zeros(len(centre))), refit((new - centre) / radius)
        bend = 0.5 * float(np.max(np.abs(np.linalg.eigvalsh(model.h))))  # over one radius
        if predicted < 2.0 * model.spread(s, self.sd):
            radius = radius * self.s.shrink if bend > 4.0 * self.sd else radius * self.s.grow
        else:
            self.curvature = 2.0 * bend / radius**2
            actual = here - value if there < here else 0.0  # a lucky reading the model does not confirm
            radius = self._resize(radius, actual, predicted, new, centre, True)
        floor = math.sqrt(4.0 * self.sd / self.curvature) if self.curvature > 0 else 0.0
        if self.integer:  # few distinct points: the model guesses; what was measured there decides
            there, here = self._mean_at(new), self._mean_at(centre)
        return (new if there < here else centre), float(np.clip(radius, floor, self.s.max_radius))

    def _mean_at(self, u: Vector) -> float:
        """The mean of every measurement at exactly ``u`` (a rounded point is measured again and
        again: a step of the trust region that rounds back onto it, the centre's checks). Found by its
        unit coordinates, as the steps are: :meth:`Ledger.mean` keys by param values, which a real
        param's round trip through the unit cube need not give back to the last bit."""
        return float(np.mean(self.points.f[self._at(u)]))

    def _at(self, u: Vector) -> Any:
        """Which measurements lie exactly at ``u``."""
        return np.all(self.points.u == u, axis=1)

    def _index(self, centre: Vector) -> int:
        matches = np.flatnonzero(self._at(centre))
        if len(matches):
            return int(matches[np.argmin(self.points.f[matches])])
        return int(np.argmin(np.linalg.norm(self.points.u - centre, axis=1)))

    def answer(self, centre: Vector, reserve: int) -> Steps:
        x = self.box.from_unit(centre)
        if self.noisy and reserve:
            values = yield from self.measure([centre] * min(reserve, self.ledger.left), "check")
            return Outcome(x, float(np.mean(values)), self.iteration, "budget")
        best = self.ledger.best
        if best is None:
            values = yield from self.measure([centre], "check")
            return Outcome(x, values[0], self.iteration, "budget")
        return Outcome(best[1], best[0], self.iteration, "budget")
