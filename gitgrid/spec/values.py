"""Param values: what a value may be, how it is written into a file, and its canonical JSON.

A value is an int, a float, a str or a bool, nothing else, so that every value survives a round trip through
JSON (commit trailers, the results store, ``GITGRID_PARAMS``) unchanged.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Callable, Mapping, Sequence

from gitgrid.errors import excerpt

Value = int | float | str | bool

__all__ = [
    "INT_RANGE",
    "Value",
    "canonical_json",
    "canonical_json_encoder",
    "check_format",
    "check_value",
    "format_value",
]

INT_RANGE = (-(2**63), 2**63 - 1)  # what the results store, JSON readers and most languages hold exactly
# Characters a commit message, a trailer or a file line cannot carry safely: NUL and the other C0 controls
# (tab and line breaks excepted: templates may hold them; rewritten lines refuse line breaks themselves).
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_FORMAT_NUMBER = 1000  # widths and precisions beyond this are bombs, not formats


def check_value(value: object) -> Value:
    """Return ``value`` if it may be a param value, else raise ``TypeError`` that says why."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise TypeError(f"{excerpt(value)} does not fit in 64 bits (whole numbers are stored as such)")
        return value
    if isinstance(value, str):
        return _check_text(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{value!r} is not a finite number")
        return value
    kind = "null" if value is None else type(value).__name__
    raise TypeError(f"a value must be a number, a string or a bool, not {kind}")


def _check_text(value: str) -> str:
    bad = _FORBIDDEN.search(value)
    if bad is not None:
        raise TypeError(
            f"value '{excerpt(value)}' holds the control character {bad.group()!r}, "
            "which a commit or a rewritten file cannot carry"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise TypeError(f"value '{excerpt(value)}' is not valid Unicode text (a lone surrogate)") from None
    return value


def check_format(fmt: object) -> str:
    """``fmt`` if it is a ``str.format`` template that only formats the value, else ``ValueError``.

    A format takes the value alone: ``{}``, ``{0}``, ``{:.2f}``, ``{!r}``. Attribute and item access
    (``{0.__class__}``) would write Python internals into a file, and nested fields or huge widths
    (``{:>1000000000}``) would be bombs, so they are refused before any value is formatted (#9).
    """
    if not isinstance(fmt, str):
        raise ValueError("'format' must be a string such as '{:.2f}'")
    bad = _FORBIDDEN.search(fmt)
    if bad is not None:
        raise ValueError(f"a format holds the control character {bad.group()!r}, which a commit cannot carry")
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(fmt) if name is not None]
    except ValueError as exc:
        raise ValueError(f"not a valid format: {exc}") from None
    for name, spec in fields:
        if name not in ("", "0"):
            raise ValueError(
                f"a format may only use the value itself ({{}}, {{:.2f}}, {{!r}}), not '{excerpt(name)}'"
            )
        if spec and ("{" in spec or any(_too_big(n) for n in re.findall(r"\d+", spec))):
            raise ValueError(
                f"widths and precisions are at most {_MAX_FORMAT_NUMBER}, and fields do not nest"
            )
        if (spec or "").endswith("c"):  # a number as the character of that code: NUL, ESC, any control
            raise ValueError("the 'c' type writes a character code, which may be a control character")
    return fmt


def _too_big(number: str) -> bool:
    return len(number) > 4 or int(number) > _MAX_FORMAT_NUMBER


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
