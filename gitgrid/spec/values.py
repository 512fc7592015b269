"""Param values: what a value may be, how it is written into a file, and its canonical JSON.

A value is an int, a float, a str or a bool, nothing else, so that every value survives a round trip through
JSON (commit trailers, the results store, ``GITGRID_PARAMS``) unchanged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence

Value = int | float | str | bool

__all__ = ["Value", "canonical_json", "canonical_json_encoder", "check_value", "format_value"]


def check_value(value: object) -> Value:
    """Return ``value`` if it may be a param value, else raise ``TypeError`` that says why."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{value!r} is not a finite number")
        return value
    kind = "null" if value is None else type(value).__name__
    raise TypeError(f"a value must be a number, a string or a bool, not {kind}")


def format_value(value: Value, fmt: str | None = None) -> str:
    """The text written into a file for ``value``.

    Without a format, ints are written as ints, floats as Python's shortest round-tripping ``repr``
    (``3.0``, ``1e-05``), strings as given and bools as Python writes them. ``fmt`` is a ``str.format``
    template with one field, e.g. ``"{:.2f}"`` or ``'"{}"'``.
    """
    if fmt is not None:
        return fmt.format(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def canonical_json(params: Mapping[str, Value]) -> str:
    """The one JSON text for a set of params: sorted keys, no spaces, so equal points give equal text.

    Content-derived identity (commit trailers, store keys) depends on this being stable.
    """
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json_encoder(names: Sequence[str]) -> Callable[[Sequence[Value]], str]:
    """A fast :func:`canonical_json` for many value rows of the same params, given in ``names`` order.

    Writing 10^5 commits calls this once per point; assembling pre-encoded keys is several times
    faster than ``json.dumps`` and gives the same text (tested).
    """
    order = sorted(range(len(names)), key=names.__getitem__)
    keys = [json.dumps(names[i], ensure_ascii=False) + ":" for i in order]

    def encode(values: Sequence[Value]) -> str:
        return "{" + ",".join([k + _json_scalar(values[i]) for k, i in zip(keys, order, strict=True)]) + "}"

    return encode


def _json_scalar(value: Value) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)
