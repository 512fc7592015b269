"""The problems of ``bench_optimize.py``: what researchers fit and tune, each built as a random instance.

A problem is a family (a quadratic, a curve fit, a multimodal function, Rosenbrock), a dimension and a
noise level; an instance draws what a family leaves open (the rotation and the optimum of a quadratic,
the true parameters and the data of a curve fit, the start) from its own number. The benchmark tunes on
the instances and seeds 0-9 and reports on 1000-1009: the same families, other draws.

Every instance says its box (each param's bounds, of different scales for the curve fits), its start,
its true (noise-free) objective and that objective's minimum ``best``: zero where the family knows it,
else found by polishing from the true parameters (a curve fit's data are noisy, so its minimum is not
at the parameters that made them). A noisy problem adds Gaussian noise to every call, of a standard
deviation that is a fraction of the start's excess over the minimum: ``light`` 1e-3, ``heavy`` 3e-2.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares
from scipy.stats import special_ortho_group

__all__ = ["NOISE", "Instance", "Problem", "instance"]

Vector = NDArray[np.float64]
NOISE = {"none": 0.0, "light": 1e-3, "heavy": 3e-2}


@dataclass(frozen=True)
class Problem:
    """A family, its variant (a condition number, a model), a dimension and a noise level."""

    family: str  # quadratic, rosenbrock, mild, rastrigin, sphere, epidemic, ricker, oscillator, pk
    variant: str
    dimension: int
    noise: str  # none, light, heavy; "sd=0.1" for the sphere of the standing goal

    @property
    def label(self) -> str:
        variant = f" {self.variant}" if self.variant else ""
        return f"{self.family}{variant} d={self.dimension} {self.noise}"


@dataclass(frozen=True)
class Instance:
    """One draw of a problem: the box, the start, the true objective and its minimum, the noise's sd."""

    problem: Problem
    low: Vector
    high: Vector
    start: Vector
    true: Callable[[Vector], float]
    best: float
    noise_sd: float

    @property
    def at_start(self) -> float:
        return self.true(self.start)

    def regret(self, x: Vector) -> float:
        """How far the true objective at ``x`` (clipped into the box) lies above the minimum."""
        return max(self.true(np.clip(np.asarray(x, dtype=float), self.low, self.high)) - self.best, 0.0)


def instance(problem: Problem, number: int) -> Instance:
    """Instance ``number`` of ``problem`` (the same number, the same draw)."""
    return _instance(problem, number)


@cache
def _instance(problem: Problem, number: int) -> Instance:
    rng = np.random.default_rng([number, _code(problem.family), problem.dimension])
    build = SYNTHETIC.get(problem.family) or FITS[problem.family]
    low, high, start, true, best = build(problem, rng)
    excess = true(start) - best
    sd = float(problem.noise[3:]) if problem.noise.startswith("sd=") else NOISE[problem.noise] * excess
    return Instance(problem, low, high, start, true, best, sd)


def _code(text: str) -> int:
    return int.from_bytes(text.encode()[:8], "little")  # not hash(): the same in every process


Built = tuple[Vector, Vector, Vector, Callable[[Vector], float], float]


# synthetic functions -------------------------------------------------------------------------------------
def _quadratic(problem: Problem, rng: np.random.Generator) -> Built:
    """``(x - x*)' R' D R (x - x*)``: eigenvalues log-spaced from 1 to the condition number, R a random
    rotation ("rotated") or the identity."""
    d, (condition, rotated) = problem.dimension, _variant(problem.variant)
    scales = condition ** (np.arange(d) / max(d - 1, 1))
    rotation = special_ortho_group.rvs(d, random_state=rng) if rotated and d > 1 else np.eye(d)
    rng.shuffle(scales)
    matrix = rotation.T @ np.diag(scales) @ rotation
    optimum = rng.uniform(-3.0, 3.0, d)

    def f(x: Vector) -> float:
        z = x - optimum
        return float(z @ matrix @ z)

    return -_box(d, 5.0), _box(d, 5.0), rng.uniform(-4.0, 4.0, d), f, 0.0


def _variant(text: str) -> tuple[float, bool]:
    condition, _, how = text.partition(" ")
    return float(condition.removeprefix("cond=")), how == "rotated"


def _rosenbrock(problem: Problem, rng: np.random.Generator) -> Built:
    d = problem.dimension

    def f(x: Vector) -> float:
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))

    return -_box(d, 5.0), _box(d, 5.0), rng.uniform(-3.0, 3.0, d), f, 0.0


def _sphere(problem: Problem, rng: np.random.Generator) -> Built:
    """The noisy sphere of the standing goal: optimum at 1, start at -3."""
    d = problem.dimension

    def f(x: Vector) -> float:
        return float(np.sum((x - 1.0) ** 2))

    return -_box(d, 5.0), _box(d, 5.0), np.full(d, -3.0), f, 0.0


def _ripples(amplitude: float) -> Callable[[Problem, np.random.Generator], Built]:
    """A bowl with ripples, rotated: Rastrigin's function of amplitude 10 is strongly multimodal, one
    of amplitude 1 only mildly (the bowl dominates beyond a few periods)."""

    def build(problem: Problem, rng: np.random.Generator) -> Built:
        d = problem.dimension
        rotation = special_ortho_group.rvs(d, random_state=rng) if d > 1 else np.eye(d)
        optimum = rng.uniform(-2.0, 2.0, d)

        def f(x: Vector) -> float:
            z = rotation @ (x - optimum)
            return float(np.sum(z**2) + amplitude * np.sum(1.0 - np.cos(2.0 * math.pi * z)))

        return -_box(d, 5.12), _box(d, 5.12), rng.uniform(-4.5, 4.5, d), f, 0.0

    return build


def _box(d: int, side: float) -> Vector:
    return np.full(d, side)


SYNTHETIC: dict[str, Callable[[Problem, np.random.Generator], Built]] = {
    "quadratic": _quadratic,
    "rosenbrock": _rosenbrock,
    "sphere": _sphere,
    "mild": _ripples(1.0),
    "rastrigin": _ripples(10.0),
}


# curve fits: a model's parameters from noisy data -------------------------------------------------------
@dataclass(frozen=True)
class Model:
    """A model to fit: its params' bounds (of different scales), how true params are drawn, and what it
    predicts (as the residuals are taken: log counts for the epidemic and the population)."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    draw: Callable[[np.random.Generator], Vector]
    predict: Callable[[Vector], Vector]
    data_noise: float


def _sir(p: Vector) -> Vector:
    """Log of the weekly reported cases of a discrete-time SIR epidemic: infection rate beta, recovery
    rate gamma (per day), log10 of the infected fraction at day 0, the fraction reported."""
    beta, gamma, log_i0, reported = (float(v) for v in p)
    s, i, weekly, cases = 1.0 - 10.0**log_i0, 10.0**log_i0, [], 0.0
    for day in range(84):
        new = beta * s * i
        s, i, cases = s - new, i + new - gamma * i, cases + new
        if day % 7 == 6:
            weekly.append(math.log1p(1e6 * reported * cases))
            cases = 0.0
    return np.array(weekly)


def _ricker(p: Vector) -> Vector:
    """Log population of the Ricker model ``N' = N exp(r (1 - N/K))`` over 30 generations."""
    r, k, n = (float(v) for v in p)
    out = []
    for _ in range(30):
        out.append(math.log(n))
        n = n * math.exp(r * (1.0 - n / k))
    return np.array(out)


def _oscillator(p: Vector) -> Vector:
    """A damped oscillator ``x'' + 2 zeta omega x' + omega^2 x = 0`` sampled 60 times over 10 s."""
    omega, zeta, amplitude, phase = (float(v) for v in p)
    t = np.linspace(0.0, 10.0, 60)
    damped = omega * math.sqrt(1.0 - zeta**2)
    return amplitude * np.exp(-zeta * omega * t) * np.cos(damped * t + phase)


def _pk(p: Vector) -> Vector:
    """One-compartment pharmacokinetics, oral dose of 100: absorption ka, elimination ke, volume V."""
    ka, ke, volume = (float(v) for v in p)
    t = np.array([0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0])
    if abs(ka - ke) < 1e-9:
        ka += 1e-9
    return 100.0 * ka / (volume * (ka - ke)) * (np.exp(-ke * t) - np.exp(-ka * t))


FITS_MODELS = {
    "epidemic": Model(
        (0.05, 0.02, -7.0, 0.05), (1.0, 0.5, -2.0, 1.0),
        lambda g: np.array([g.uniform(0.25, 0.6), g.uniform(0.08, 0.2), g.uniform(-6.0, -4.0),
                            g.uniform(0.1, 0.6)]),
        _sir, 0.1,
    ),
    "ricker": Model(
        (0.1, 10.0, 0.5), (1.8, 1000.0, 50.0),
        lambda g: np.array([g.uniform(0.4, 1.5), g.uniform(50.0, 600.0), g.uniform(1.0, 20.0)]),
        _ricker, 0.1,
    ),
    "oscillator": Model(
        (0.5, 0.01, 0.1, -math.pi), (5.0, 0.5, 10.0, math.pi),
        lambda g: np.array([g.uniform(1.0, 3.0), g.uniform(0.05, 0.3), g.uniform(1.0, 5.0),
                            g.uniform(-2.5, 2.5)]),
        _oscillator, 0.05,
    ),
    "pk": Model(
        (0.1, 0.01, 1.0), (10.0, 1.0, 100.0),
        lambda g: np.array([g.uniform(0.5, 3.0), g.uniform(0.05, 0.3), g.uniform(10.0, 60.0)]),
        _pk, 0.05,
    ),
}  # fmt: skip


def _fit(problem: Problem, rng: np.random.Generator) -> Built:
    """Sum of squared residuals of the model against data made from drawn true params plus noise; the
    start is the middle of the box moved by up to a quarter of each range (a researcher's rough guess)."""
    model = FITS_MODELS[problem.family]
    low, high = np.array(model.low), np.array(model.high)
    truth = model.draw(rng)
    clean = model.predict(truth)
    data = clean + rng.normal(0.0, model.data_noise * max(float(np.std(clean)), 1e-3), clean.shape)

    def residuals(x: Vector) -> Vector:
        return model.predict(np.clip(x, low, high)) - data

    def f(x: Vector) -> float:
        return float(np.sum(residuals(x) ** 2))

    polished = least_squares(residuals, truth, bounds=(low, high), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    start = (low + high) / 2 + rng.uniform(-0.25, 0.25, len(low)) * (high - low)
    return low, high, start, f, min(f(polished.x), f(truth))


FITS = dict.fromkeys(FITS_MODELS, _fit)
