"""SPSA's gain sequences and how gitgrid calibrates them (Spall 1998, "Implementation of the simultaneous
perturbation algorithm for stochastic optimization").

The step gain ``a_k = a / (A + k + 1)**alpha`` and the perturbation ``c_k = c / (k + 1)**gamma``, with
Spall's ``alpha = 0.602`` and ``gamma = 0.101``. Measured on the benchmark suite (docs/optimize.md):
``A`` = 10% of the iterations keeps the first steps from being the largest (``A = 0`` was 10-100x worse);
``a`` chosen so that the first step moves about 5% of each param's range; ``c`` about the noise's
standard deviation, as Spall advises for params scaled to order one, within ``[0.005, 0.1]`` of the range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["C_RANGE", "Gains", "perturbation_size", "step_gain"]

C_RANGE = (0.005, 0.1)  # of each param's range: below, round-off and rounding; above, a coarse difference


@dataclass(frozen=True)
class Gains:
    """The two gain sequences of SPSA."""

    a: float
    c: float
    A: float
    alpha: float = 0.602
    gamma: float = 0.101

    def a_k(self, k: int) -> float:
        """The step gain of iteration ``k`` (from 0)."""
        return self.a / float((self.A + k + 1) ** self.alpha)

    def c_k(self, k: int) -> float:
        """The perturbation size of iteration ``k`` (from 0), in unit coordinates."""
        return self.c / float((k + 1) ** self.gamma)


def perturbation_size(values_at_start: Sequence[float]) -> float:
    """``c`` from repeated values at the start: their standard deviation, clipped to :data:`C_RANGE`.

    Without noise (or with one value) the smallest size: differences of a noise-free objective are exact.
    """
    if len(values_at_start) < 2:
        return C_RANGE[0]
    mean = sum(values_at_start) / len(values_at_start)
    variance = sum((v - mean) ** 2 for v in values_at_start) / (len(values_at_start) - 1)
    return min(max(math.sqrt(variance), C_RANGE[0]), C_RANGE[1])


def step_gain(gradient_sizes: Sequence[float], first_step: float, A: float, alpha: float) -> float:
    """``a`` such that the first step, ``a_0 * |g|``, moves ``first_step`` of the range.

    ``gradient_sizes`` are the magnitudes of the gradient components estimated at the start; their mean
    stands for ``|g|``. A flat start (all zero) is taken as a gradient of one per unit of range.
    """
    sizes = [s for s in gradient_sizes if math.isfinite(s) and s > 0]
    size = sum(sizes) / len(sizes) if sizes else 1.0
    return first_step * float((A + 1) ** alpha) / size
