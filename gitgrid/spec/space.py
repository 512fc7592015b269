"""The space: every point a spec describes, in a fixed order, produced lazily.

Order is the cartesian product of the params in spec order, the first param outermost; a zip group moves
as one dimension at the position of its first member. ``where`` then drops points and ``sample`` keeps a
seeded random subset, still in grid order. Nothing here holds more than one point at a time (a sample holds
its chosen positions), so 10^6 points stream in constant memory; without ``where`` and ``sample`` the count is
a product and costs nothing.
"""

from __future__ import annotations

import random
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from math import prod

from gitgrid.errors import GitgridWarning, SpecError
from gitgrid.spec.axes import Axis
from gitgrid.spec.expression import ExpressionError
from gitgrid.spec.model import Spec
from gitgrid.spec.values import Value, canonical_json

__all__ = ["MAX_FILTERED_GRID", "MAX_SAMPLE", "Dimension", "Point", "Space"]

_CACHE_LIMIT = 1 << 16  # axes up to this length keep their values; longer ones compute them per access
# Points 'where' may test, as many as a sweep may hold: at about 4 us a point, counting takes minutes at
# most (10^9 took about an hour, with nothing to show for it)
MAX_FILTERED_GRID = 10**8
# Points a sample may ask for: a sweep's limit (one commit each, ``sweep.create.MAX_POINTS``); the sample
# holds its chosen positions, so asking for more could only exhaust memory before that limit is checked
MAX_SAMPLE = 10**8


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a space: its 0-based index in the sweep and its param values, in spec order."""

    index: int
    params: Mapping[str, Value]

    @property
    def key(self) -> str:
        """Canonical JSON of the params: the point's identity, independent of index and order."""
        return canonical_json(self.params)


@dataclass(frozen=True)
class Dimension:
    """One independent direction of the grid: a single param, or a zip group whose params move together."""

    names: tuple[str, ...]
    axes: tuple[Axis, ...]

    def __len__(self) -> int:
        return len(self.axes[0])

    def at(self, index: int) -> tuple[Value, ...]:
        return tuple(axis[index] for axis in self.axes)


class Space:
    """All points of a spec, lazily. Iterate for points; ``len()`` counts (one pass if filtered)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.names = spec.names
        self.dimensions = _dimensions(spec)
        self.grid_size = prod(len(d) for d in self.dimensions)
        if spec.where is not None and self.grid_size > MAX_FILTERED_GRID:
            raise SpecError(
                f"{spec.source}: where: the grid has {self.grid_size:.3g} points, more than 'where' can test "
                f"(at most {MAX_FILTERED_GRID:.0e}); narrow the params, or 'sample' without 'where'"
            )

    def __len__(self) -> int:
        return self.count

    @cached_property
    def count(self) -> int:
        """Points after ``where`` and ``sample``; warns when a sample asks for more than there are."""
        filtered = self._filtered_count()
        if self.spec.sample is None:
            return filtered
        if self.spec.sample.size > filtered:
            warnings.warn(
                GitgridWarning(
                    f"{self.spec.source}: sample asks for {self.spec.sample.size} points "
                    f"but the space has {filtered}; taking all of them"
                ),
                stacklevel=2,
            )
        return min(self.spec.sample.size, filtered)

    def __iter__(self) -> Iterator[Point]:
        positions = self._grid_positions()
        for index, values in enumerate(self._values_at(positions)):
            yield Point(index, dict(zip(self.names, values, strict=True)))

    def rows(self) -> Iterator[tuple[Value, ...]]:
        """Param values of each point in spec order, without building Point objects (the fast path)."""
        return self._values_at(self._grid_positions())

    def _filtered_count(self) -> int:
        if self.spec.where is None:
            return self.grid_size
        return sum(1 for _ in self._filtered(self._odometer()))

    def _grid_positions(self) -> Iterator[tuple[int, ...]]:
        sample = self.spec.sample
        if sample is None:
            return self._filtered(self._odometer())
        chosen = _choose(self._filtered_count(), sample.size, sample.seed)
        if self.spec.where is None:
            return (self._decode(i) for i in chosen)
        wanted = set(chosen)
        return (p for n, p in enumerate(self._filtered(self._odometer())) if n in wanted)

    def _filtered(self, positions: Iterator[tuple[int, ...]]) -> Iterator[tuple[int, ...]]:
        where = self.spec.where
        if where is None:
            yield from positions
            return
        for position in positions:
            env = dict(zip(self.names, self._row(position), strict=True))
            try:
                keep = where(env)
            except ExpressionError as exc:
                raise SpecError(f"{self.spec.source}: where: {exc}") from None
            if keep:
                yield position

    def _values_at(self, positions: Iterator[tuple[int, ...]]) -> Iterator[tuple[Value, ...]]:
        return (self._row(position) for position in positions)

    def _row(self, position: tuple[int, ...]) -> tuple[Value, ...]:
        return tuple(self._order(position))

    @cached_property
    def _places(self) -> tuple[tuple[int, int], ...]:
        """For each param in spec order: (dimension number, position within the dimension)."""
        where = {n: (d, k) for d, dim in enumerate(self.dimensions) for k, n in enumerate(dim.names)}
        return tuple(where[name] for name in self.names)

    @cached_property
    def _tables(self) -> tuple[list[tuple[Value, ...]] | None, ...]:
        return tuple(
            [dim.at(i) for i in range(len(dim))] if len(dim) <= _CACHE_LIMIT else None
            for dim in self.dimensions
        )

    def _order(self, position: tuple[int, ...]) -> Iterator[Value]:
        tables = self._tables
        picked = [
            table[i] if table is not None else dim.at(i)
            for table, dim, i in zip(tables, self.dimensions, position, strict=True)
        ]
        return (picked[d][k] for d, k in self._places)

    def _odometer(self) -> Iterator[tuple[int, ...]]:
        sizes = [len(d) for d in self.dimensions]
        index = [0] * len(sizes)
        while True:
            yield tuple(index)
            for d in reversed(range(len(sizes))):
                index[d] += 1
                if index[d] < sizes[d]:
                    break
                index[d] = 0
            else:
                return

    def _decode(self, flat: int) -> tuple[int, ...]:
        position = []
        for dim in reversed(self.dimensions):
            flat, i = divmod(flat, len(dim))
            position.append(i)
        return tuple(reversed(position))


def _choose(population: int, size: int, seed: int) -> list[int]:
    """Sorted positions of a seeded sample, in time and memory that grow with ``size``, not ``population``.

    ``random.sample`` on a range stores only the chosen ones but needs ``len(range)``, a C ``ssize_t``: a
    grid of 10^24 points overflows it. Such a population is sampled by Floyd's algorithm (``size`` draws
    of ``randrange``, which takes any int); a population that fits keeps ``random.sample``, so the
    samples of existing specs stay the same points.
    """
    if size >= population:
        return list(range(population))
    rng = random.Random(seed)
    if population <= sys.maxsize:
        return sorted(rng.sample(range(population), size))
    chosen: set[int] = set()
    for last in range(population - size, population):  # Floyd: each position equally likely, no retries
        drawn = rng.randrange(last + 1)
        chosen.add(last if drawn in chosen else drawn)
    return sorted(chosen)


def _dimensions(spec: Spec) -> tuple[Dimension, ...]:
    group_of = {name: group for group in spec.zip for name in group}
    dimensions = []
    placed: set[str] = set()
    for param in spec.params:
        if param.name in placed:
            continue
        group = group_of.get(param.name, (param.name,))
        axes = tuple(spec.param(name).axis for name in group)
        lengths = {name: len(axis) for name, axis in zip(group, axes, strict=True)}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{n}={k}" for n, k in lengths.items())
            raise SpecError(f"{spec.source}: zip group [{', '.join(group)}] has unequal lengths ({shown})")
        dimensions.append(Dimension(group, axes))
        placed.update(group)
    return tuple(dimensions)
