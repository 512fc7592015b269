"""The values one param takes: explicit lists, exact ranges, linspace and logspace.

Every axis is a lazy sequence: ``len`` and indexing cost O(1) and no axis stores its values, so a range of
10^6 steps costs nothing until it is read. Ranges and spaces are computed in decimal arithmetic from the
decimal text of their bounds, so ``0.1`` steps give ``0.3`` and never ``0.30000000000000004``; the result is
converted to a float once, at the end, which is how a user would have typed it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import overload

from gitgrid.spec.values import Value

__all__ = [
    "MAX_AXIS_VALUES",
    "RANGE_KINDS",
    "Axis",
    "LinspaceAxis",
    "LogspaceAxis",
    "RangeAxis",
    "RangeKind",
    "ValuesAxis",
    "to_decimal",
]

_PRECISION = 40  # digits: far beyond float's 17, so converting to float rounds once, correctly
# One param's values: far beyond any study (a sweep is one commit per point), and small enough that a
# typo such as {range: [0, 1e20, 1]} is an error at once instead of an OverflowError or an endless loop.
MAX_AXIS_VALUES = 10**9


def _check_size(size: int | Decimal, what: str) -> None:
    if size > MAX_AXIS_VALUES:
        shown = f"{size:.3g}" if size >= 10**15 else str(size)
        raise ValueError(f"{what} gives {shown} values; a param takes at most 10^9")


def to_decimal(number: int | float) -> Decimal:
    """The decimal a user meant: ``0.1`` becomes ``Decimal('0.1')``, not 0.1000000000000000055..."""
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ValueError(f"expected a number, got {number!r}")
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


class Axis(Sequence[Value]):
    """A finite, indexable, lazily computed sequence of values."""

    kind: str = "values"

    def _at(self, index: int) -> Value:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Value: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Value]: ...
    def __getitem__(self, index: int | slice) -> Value | Sequence[Value]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        return self._at(index)

    def __iter__(self) -> Iterator[Value]:
        return (self._at(i) for i in range(len(self)))


@dataclass(frozen=True, eq=False)
class ValuesAxis(Axis):
    """Explicit values, in the order given."""

    values: tuple[Value, ...]
    kind = "values"

    def __len__(self) -> int:
        return len(self.values)

    def _at(self, index: int) -> Value:
        return self.values[index]


@dataclass(frozen=True, eq=False)
class RangeAxis(Axis):
    """``start, start+step, ...`` up to ``stop``, which is included when it lies on the grid.

    Ints when start, stop and step are all ints, floats otherwise.
    """

    start: Decimal
    stop: Decimal
    step: Decimal
    floats: bool
    kind = "range"

    @classmethod
    def build(cls, start: int | float, stop: int | float, step: int | float | None = None) -> RangeAxis:
        d_start, d_stop = to_decimal(start), to_decimal(stop)
        if step is None:
            step = 1 if d_stop >= d_start else -1
        d_step = to_decimal(step)
        if d_step == 0:
            raise ValueError("step is 0: the range would never end")
        if (d_stop - d_start) * d_step < 0:
            direction = "up" if d_stop > d_start else "down"
            raise ValueError(f"step {step} goes the wrong way: from {start} {direction} to {stop}")
        floats = any(isinstance(x, float) for x in (start, stop, step))
        with localcontext(prec=_PRECISION):
            _check_size((d_stop - d_start) / d_step + 1, f"range [{start}, {stop}, {step}]")
        return cls(d_start, d_stop, d_step, floats)

    def __len__(self) -> int:
        with localcontext(prec=_PRECISION):
            return int((self.stop - self.start) / self.step) + 1

    def _at(self, index: int) -> Value:
        with localcontext(prec=_PRECISION):
            value = self.start + self.step * index
        return float(value) if self.floats else int(value)


@dataclass(frozen=True, eq=False)
class LinspaceAxis(Axis):
    """``count`` evenly spaced floats from ``start`` to ``stop``, both included (like numpy.linspace)."""

    start: Decimal
    stop: Decimal
    size: int
    kind = "linspace"

    @classmethod
    def build(cls, start: int | float, stop: int | float, count: int) -> LinspaceAxis:
        return cls(to_decimal(start), to_decimal(stop), _check_count(count, "linspace"))

    def __len__(self) -> int:
        return self.size

    def _at(self, index: int) -> Value:
        return float(_lerp(self.start, self.stop, index, self.size))


@dataclass(frozen=True, eq=False)
class LogspaceAxis(Axis):
    """``count`` floats from ``base**start`` to ``base**stop``, evenly spaced in the exponent."""

    start: Decimal
    stop: Decimal
    size: int
    base: Decimal
    kind = "logspace"

    @classmethod
    def build(cls, start: int | float, stop: int | float, count: int, base: int | float = 10) -> LogspaceAxis:
        d_base = to_decimal(base)
        if d_base <= 0:
            raise ValueError(f"base must be positive, got {base}")
        axis = cls(to_decimal(start), to_decimal(stop), _check_count(count, "logspace"), d_base)
        for end in (0, axis.size - 1):
            try:
                axis._at(end)
            except ArithmeticError:  # OverflowError, decimal.Overflow
                raise ValueError(
                    f"{base}**{axis.stop if end else axis.start} is too large for a float"
                ) from None
        return axis

    def __len__(self) -> int:
        return self.size

    def _at(self, index: int) -> Value:
        exponent = _lerp(self.start, self.stop, index, self.size)
        with localcontext(prec=_PRECISION):
            value = float(self.base**exponent)
        if math.isinf(value):
            raise OverflowError(f"{self.base}**{exponent} is too large for a float")
        return value


def _check_count(count: object, kind: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError(f"count must be a whole number, got {count!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    _check_size(count, f"{kind} count")
    return count


def _lerp(start: Decimal, stop: Decimal, index: int, count: int) -> Decimal:
    if count == 1:
        return start
    with localcontext(prec=_PRECISION):
        return start + (stop - start) * index / (count - 1)


@dataclass(frozen=True)
class RangeKind:
    """A computed kind of axis as a spec writes it: ``{name: [numbers]}``.

    The one registry of range kinds: the spec reader checks arity and prints the example from here, so a
    new kind is a class above and one line below.
    """

    name: str
    arity: tuple[int, ...]
    example: str
    build: Callable[..., Axis]


RANGE_KINDS: dict[str, RangeKind] = {
    kind.name: kind
    for kind in (
        RangeKind("range", (2, 3), "[0.5, 3.0, 0.5] (start, stop, step)", RangeAxis.build),
        RangeKind("linspace", (3,), "[0.1, 0.5, 5] (start, stop, count)", LinspaceAxis.build),
        RangeKind("logspace", (3, 4), "[-4, -1, 4] (start and stop exponents, count)", LogspaceAxis.build),
    )
}
