"""Second-order SPSA's estimate of the Hessian (after Spall 2000), kept at two runs per iteration.

One SPSA pair measures a directional difference, ``y = (f(theta + c D) - f(theta - c D)) / 2c ~ D'g``.
Spall's 2SPSA measures a second pair with the same ``D`` around a displaced centre, so that the change
of ``y`` is ``D'H v`` for the known displacement ``v``: one linear equation in the Hessian's entries
per second pair, at four runs an iteration. Here the second pair *is* the next iteration's pair:
every second iteration keeps the last ``D`` and centres its pair at ``theta + c~ D~`` (``D~`` fresh
random signs, ``c~`` at least a few times the last step), so ``v`` is the step just taken plus that
jitter, and the jitter makes every entry of ``H`` (the diagonal too) appear in the equations. Every
iteration still steps, at two runs whatever the number of params.

Spall averages one rank-two sample per equation; its error in a direction of small curvature is of
the size of the largest curvature, so it needs many samples before it says anything about the
directions that matter. Here the Hessian is instead the least-squares solution of every equation so
far (a small ridge keeps it defined before there are enough): it is exact once the equations span the
entries, and averages the noise beyond that. The preconditioner is the inverse of
``(H^2 + eps^2)^(1/2)`` (Spall's remedy for an estimate that is not positive definite), scaled to a
geometric mean of one: it turns and stretches the step while SPSA's calibrated gain keeps deciding its
size, and the per-param cap keeps it safe.
"""

from __future__ import annotations

import numpy as np

from gitgrid.optimize.box import Vector

__all__ = ["Curvature"]

WINDOW = 4  # equations per entry of the Hessian that count fully: older ones fade
SPREAD = 2.0  # standard errors of the estimate that flatten the preconditioner (noise, a non-quadratic f)
CONDITION = 1e4  # the most the preconditioner stretches one direction against another


class Curvature:
    """The Hessian's normal equations, and the preconditioner made from their solution."""

    def __init__(self, dimension: int) -> None:
        self.rows, self.cols = np.triu_indices(dimension)
        size = len(self.rows)
        self.normal = np.zeros((size, size))
        self.target = np.zeros(size)
        self.squares = 0.0  # the sum of the changes squared: with the above, the residuals' size
        self.samples = 0
        self.needed = size  # equations before the estimate is trusted: one per entry
        self.forget = 1.0 / (WINDOW * size)  # the weight an equation loses per later one
        self.scale: Vector | None = None  # the preconditioner's stretch per eigenvector, and those
        self.vectors: Vector | None = None
        self.hessian: Vector | None = None  # the estimate, once there are enough equations

    def add(self, change: float, delta: Vector, displacement: Vector) -> None:
        """The equation ``change = D'H v``, for ``D = delta`` and ``v = displacement``."""
        outer = np.outer(delta, displacement)
        row = np.where(self.rows == self.cols, np.diag(outer)[self.rows], 0.0)
        off = self.rows != self.cols
        row[off] = outer[self.rows[off], self.cols[off]] + outer[self.cols[off], self.rows[off]]
        keep = 1.0 - self.forget  # older equations fade: the Hessian changes along the way
        self.normal = keep * self.normal + np.outer(row, row)
        self.target = keep * self.target + row * change
        self.squares = keep * self.squares + change**2
        self.samples += 1
        if self.samples >= self.needed:
            self._solve()

    def _solve(self) -> None:
        size = len(self.target)
        ridge = 1e-9 * max(float(np.trace(self.normal)), 1e-300) / size
        inverse = np.linalg.inv(self.normal + ridge * np.eye(size))
        entries = inverse @ self.target
        weight = (1.0 - (1.0 - self.forget) ** self.samples) / self.forget  # the equations' total weight
        freedom = max(weight - size, 1.0)
        residual = max(self.squares - float(entries @ self.target), 0.0) / freedom
        uncertain = SPREAD * float(np.sqrt(residual * np.max(np.diag(inverse)) * size))
        dimension = int(self.rows.max()) + 1
        hessian = np.zeros((dimension, dimension))
        hessian[self.rows, self.cols] = entries
        hessian = hessian + hessian.T - np.diag(np.diag(hessian))
        self.hessian = hessian
        values, self.vectors = np.linalg.eigh(hessian)
        largest = float(np.max(np.abs(values)))
        if largest == 0.0:
            self.scale = None
            return
        sizes = np.sqrt(values**2 + max(largest / CONDITION, uncertain) ** 2)  # noise flattens it
        self.scale = sizes / np.exp(np.mean(np.log(sizes)))  # geometric mean one: SPSA's gain keeps the size

    def shift(self, delta: Vector, displacement: Vector) -> float:
        """``D'H v``: how much a directional difference measured ``v`` away differs, by the estimate."""
        return float(delta @ self.hessian @ displacement) if self.hessian is not None else 0.0

    def precondition(self, gradient: Vector) -> Vector:
        """``gradient`` turned and stretched by the estimate, or as it is until there is one."""
        if self.scale is None or self.vectors is None:
            return gradient
        return np.asarray(self.vectors @ ((self.vectors.T @ gradient) / self.scale))
