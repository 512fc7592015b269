"""The search box: each searched param's bounds and scale, and the unit cube the optimisers work in.

Every method works in range-normalised coordinates ``u`` in ``[0, 1]`` per param: ``u = (x - low) /
(high - low)``, or the same in ``log x`` for a param on a log scale. One step size, one perturbation size
and one cap then fit every param whatever its units (5% of the range means the same for a rate in Hz and
a weight in nS), and log-scaled params move by factors rather than by amounts. Integer params are
rounded where they are evaluated; categorical params (random search and Optuna only) map ``[0, 1)`` onto
their choices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gitgrid.errors import OptimizeError
from gitgrid.spec.values import Value

__all__ = ["Box", "Dimension", "Vector", "make_box"]

Vector = NDArray[np.float64]


@dataclass(frozen=True)
class Dimension:
    """One searched param: numeric within ``[low, high]`` (log scale, integer), or one of ``choices``."""

    name: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    integer: bool = False
    choices: tuple[Value, ...] = ()
    digits: int | None = None  # significant digits a real value is rounded to (commit subjects stay short)

    def __post_init__(self) -> None:
        if self.choices:
            return
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise OptimizeError(f"param '{self.name}': bounds must be finite, got [{self.low}, {self.high}]")
        if self.low >= self.high:
            raise OptimizeError(
                f"param '{self.name}': the lower bound {self.low} must be below the upper bound {self.high}"
            )
        if self.log and self.low <= 0:
            raise OptimizeError(f"param '{self.name}': a log scale needs positive bounds, got {self.low}")

    @property
    def categorical(self) -> bool:
        return bool(self.choices)

    def to_unit(self, x: float) -> float:
        low, high, value = self.low, self.high, x
        if self.log:
            low, high, value = math.log(low), math.log(high), math.log(value)
        return (value - low) / (high - low)

    def from_unit(self, u: float) -> Value:
        """The param value at ``u`` (clipped into the box; integers rounded; a choice picked)."""
        u = min(max(u, 0.0), 1.0)
        if self.choices:
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        x = min(max(x, self.low), self.high)  # exp/log round-off must not leave the box
        if self.integer:
            return round(x)
        if self.digits is not None:
            x = min(max(float(f"{x:.{self.digits}g}"), self.low), self.high)
        return x

    def contains(self, x: Value) -> bool:
        if self.choices:
            return x in self.choices
        return isinstance(x, int | float) and not isinstance(x, bool) and self.low <= x <= self.high

    @property
    def unit_step(self) -> float:
        """A move in unit coordinates that always changes a rounded integer param (0 for a real one).

        One unit, measured where units are widest (at ``low`` on a log scale).
        """
        if not self.integer:
            return 0.0
        return self.to_unit(min(self.low + 1, self.high))


@dataclass(frozen=True)
class Box:
    """The searched params, in order; converts between param values and the unit cube."""

    dims: tuple[Dimension, ...]

    def __len__(self) -> int:
        return len(self.dims)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dims)

    def to_unit(self, x: Sequence[float]) -> Vector:
        return np.array([d.to_unit(float(v)) for d, v in zip(self.dims, x, strict=True)])

    def from_unit(self, u: Vector) -> tuple[Value, ...]:
        return tuple(d.from_unit(float(v)) for d, v in zip(self.dims, u, strict=True))

    def snap(self, u: Vector) -> tuple[tuple[Value, ...], Vector]:
        """The point evaluated for ``u`` (integers rounded) and where it lies in unit coordinates."""
        x = self.from_unit(u)
        return x, self.to_unit([float(v) for v in x])

    def unit_steps(self) -> Vector:
        return np.array([d.unit_step for d in self.dims])

    def check_start(self, x0: Sequence[Value]) -> None:
        """Refuse a start outside the box, naming the param."""
        if len(x0) != len(self.dims):
            raise OptimizeError(f"the start has {len(x0)} values but there are {len(self.dims)} params")
        for dim, value in zip(self.dims, x0, strict=True):
            if not dim.contains(value):
                where = f"its values {list(dim.choices)}" if dim.choices else f"[{dim.low}, {dim.high}]"
                raise OptimizeError(f"param '{dim.name}': the start {value!r} lies outside {where}")


def make_box(
    bounds: Sequence[tuple[float, float]] | tuple[float, float],
    size: int,
    log: bool | Sequence[bool] = False,
    integer: bool | Sequence[bool] = False,
    names: Sequence[str] | None = None,
) -> Box:
    """A box from the Python API's arguments: one ``(low, high)`` per param, or one pair for all."""
    items: list[Any] = list(bounds)
    if len(items) == 2 and all(isinstance(b, int | float) for b in items):
        pairs = [(float(items[0]), float(items[1]))] * size
    else:
        pairs = [(float(low), float(high)) for low, high in items]
    if len(pairs) != size:
        raise OptimizeError(f"{len(pairs)} bounds for a start of {size} values")
    logs = [log] * size if isinstance(log, bool) else list(log)
    ints = [integer] * size if isinstance(integer, bool) else list(integer)
    labels = list(names) if names is not None else [f"x{i}" for i in range(size)]
    if not len(logs) == len(ints) == len(labels) == size:
        raise OptimizeError(f"log, integer and names must have one entry per param ({size})")
    return Box(
        tuple(
            Dimension(name, pair[0], pair[1], bool(lg), bool(it))
            for name, pair, lg, it in zip(labels, pairs, logs, ints, strict=True)
        )
    )
