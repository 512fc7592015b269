"""A spec read as a search: which params are searched, within which bounds, from which start.

A ``range``, ``linspace`` or ``logspace`` param is searched continuously between its two ends (a
``logspace`` on a log scale, an integer ``range`` in whole numbers; the step or count only matters to a
grid); ``start:`` sets where the search starts, by default the middle (the geometric middle on a log
scale). A single value stays fixed. A ``values:`` list is categorical: random search and Optuna choose
among its values (starting from the first unless ``start:`` says otherwise); SPSA refuses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gitgrid.errors import SpecError
from gitgrid.optimize.box import Box, Dimension
from gitgrid.spec.axes import LinspaceAxis, LogspaceAxis, RangeAxis, ValuesAxis
from gitgrid.spec.model import ParamSpec, Spec
from gitgrid.spec.values import Value

__all__ = ["DIGITS", "Search", "search_space"]

DIGITS = 10  # significant digits of a searched real value: commit subjects stay readable


@dataclass(frozen=True)
class Search:
    """The searched params as a box, where the search starts, and the params that stay fixed."""

    spec: Spec
    box: Box
    start: tuple[Value, ...]  # one value per searched param, in the box's order
    fixed: Mapping[str, Value]

    def values(self, x: Sequence[Value]) -> tuple[Value, ...]:
        """Every param's value, in the spec's order, for the searched values ``x``."""
        searched = dict(zip(self.box.names, x, strict=True))
        return tuple(searched[n] if n in searched else self.fixed[n] for n in self.spec.names)

    def searched(self, params: Mapping[str, Value]) -> tuple[Value, ...]:
        """The searched values of a point's params (as a commit's trailer records them)."""
        return tuple(params[name] for name in self.box.names)


def search_space(spec: Spec) -> Search:
    """Read ``spec`` as a search; a param that cannot be searched is a :class:`SpecError` naming it."""
    for key, used in (("zip", spec.zip), ("where", spec.where), ("sample", spec.sample)):
        if used:
            raise SpecError(f"{spec.source}: '{key}' shapes a grid; gitgrid optimize cannot use it")
    dims, start, fixed = [], [], {}
    for param in spec.params:
        place = f"{spec.source}:{param.line}: param '{param.name}'"
        try:
            found = _dimension(param)
        except ValueError as exc:
            raise SpecError(f"{place}: {exc}") from None
        if found is None:
            if param.start is not None:
                raise SpecError(f"{place}: has one value, so 'start' has nothing to choose")
            fixed[param.name] = param.axis[0]
            continue
        dims.append(found)
        start.append(_start(found, param.start, place))
    if not dims:
        raise SpecError(f"{spec.source}: no param to search: give one a range, linspace, logspace or values")
    return Search(spec, Box(tuple(dims)), tuple(start), fixed)


def _dimension(param: ParamSpec) -> Dimension | None:
    axis, name = param.axis, param.name
    if isinstance(axis, ValuesAxis):
        return Dimension(name, choices=axis.values) if len(axis.values) > 1 else None
    if isinstance(axis, RangeAxis):
        ends, integer, log = (float(axis.start), float(axis.stop)), not axis.floats, False
    elif isinstance(axis, LinspaceAxis):
        ends, integer, log = (float(axis.start), float(axis.stop)), False, False
    elif isinstance(axis, LogspaceAxis):
        ends = (float(axis.base**axis.start), float(axis.base**axis.stop))
        integer, log = False, True
    else:  # pragma: no cover - every kind of RANGE_KINDS is handled above
        raise ValueError(f"cannot search a '{axis.kind}' param")
    low, high = min(ends), max(ends)
    if low >= high:
        raise ValueError(f"its bounds [{low}, {high}] must have min < max: nothing to search between them")
    return Dimension(name, low, high, log=log, integer=integer, digits=None if integer else DIGITS)


def _start(dim: Dimension, given: Value | None, place: str) -> Value:
    if dim.categorical:
        if given is None:
            return dim.choices[0]
        if given not in dim.choices:
            raise SpecError(f"{place}: start {given!r} is not one of its values {list(dim.choices)}")
        return given
    if given is None:
        middle = math.sqrt(dim.low * dim.high) if dim.log else (dim.low + dim.high) / 2
        return dim.from_unit(dim.to_unit(middle))
    if isinstance(given, bool) or not isinstance(given, int | float):
        raise SpecError(f"{place}: start {given!r} must be a number")
    if not dim.contains(given):
        raise SpecError(f"{place}: start {given} lies outside its bounds [{dim.low}, {dim.high}]")
    if dim.integer:
        if not float(given).is_integer():
            raise SpecError(f"{place}: start {given} must be a whole number (an integer range)")
        return int(given)
    return float(given)
