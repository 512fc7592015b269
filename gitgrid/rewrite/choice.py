"""Choosing among several assignments of one target in a file: ``after:``, ``line:``, ``all:``, or an error
that shows every candidate.

A name is often assigned on several lines of real code: a keyword default in a ``def`` and the call sites
that pass it (#8). A param picks one by text that stays put when lines move (``after: "def run("``: the
first assignment at or after the one line holding that text), by line number as a fallback, or takes all;
when it does none of these, the error quotes each line and the construct it sits in, so the user can copy
the text to pick.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitgrid.errors import RewriteError, excerpt
from gitgrid.spec.model import ParamSpec

__all__ = ["choose", "line_of"]

_SHOWN = 6  # candidates quoted in an error message; the rest are counted


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def choose(data: bytes, starts: Sequence[int], param: ParamSpec, path: str) -> list[int]:
    """The value starts of ``param``'s target that it rewrites, from all of them (``starts``, in order)."""
    if param.after is not None:
        return [_after(data, starts, param, param.after, path)]
    if param.at_line is not None:
        chosen = [s for s in starts if line_of(data, s) == param.at_line]
        if not chosen:
            lines = ", ".join(str(line_of(data, s)) for s in starts)
            raise RewriteError(
                f"{path}: param '{param.name}' has 'line: {param.at_line}', but target '{param.target}' "
                f"is assigned on line(s) {lines}"
            )
        return chosen
    if len(starts) > 1 and not param.all:
        raise RewriteError(_ambiguous(data, starts, param, path))
    return list(starts)


def _after(data: bytes, starts: Sequence[int], param: ParamSpec, text: str, path: str) -> int:
    needle = text.encode("utf-8")
    holding = _lines_holding(data, needle)
    where = f"{path}: param '{param.name}': after '{excerpt(text)}'"
    if not holding:
        raise RewriteError(f"{where}: no line of the file holds this text")
    if len(holding) > 1:
        lines = ", ".join(str(line_of(data, offset)) for offset in holding[:_SHOWN])
        raise RewriteError(
            f"{where}: {len(holding)} lines hold this text ({lines}); give text found on one line"
        )
    line_start = data.rfind(b"\n", 0, holding[0]) + 1
    following = [s for s in starts if s >= line_start]
    if not following:
        raise RewriteError(
            f"{where}: target '{param.target}' is not assigned at or after line {line_of(data, holding[0])}"
        )
    return following[0]


def _lines_holding(data: bytes, needle: bytes) -> list[int]:
    """The offset of the first occurrence of ``needle`` on each line that holds it."""
    found: list[int] = []
    at = data.find(needle)
    while at >= 0:
        found.append(at)
        line_end = data.find(b"\n", at)
        if line_end < 0:
            break
        at = data.find(needle, line_end + 1)
    return found


def _ambiguous(data: bytes, starts: Sequence[int], param: ParamSpec, path: str) -> str:
    lines = ", ".join(str(line_of(data, s)) for s in starts)
    shown = []
    for start in starts[:_SHOWN]:
        enclosing = _enclosing(data, start)
        inside = f" in '{excerpt(enclosing, 40)}'" if enclosing else ""
        shown.append(f"line {line_of(data, start)} '{excerpt(_line_text(data, start), 40)}'{inside}")
    more = f", and {len(starts) - _SHOWN} more" if len(starts) > _SHOWN else ""
    example = next((_enclosing(data, s) for s in starts if _enclosing(data, s)), None)
    hint = f'after: "{excerpt(example, 40)}"' if example else "after: TEXT"
    return (
        f"{path}: target '{param.target}' of param '{param.name}' is assigned {len(starts)} times "
        f"(lines {lines}): {'; '.join(shown)}{more}. Pick one with {hint} (text on one line at or "
        "before it), or line: N; or give a more specific 'target:', or 'all: true' to rewrite every one"
    )


def _line_text(data: bytes, offset: int) -> str:
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    return data[start : end if end >= 0 else len(data)].strip().decode("utf-8", "replace")


def _enclosing(data: bytes, offset: int) -> str | None:
    """The nearest line above with less indentation (``def run(``, ``net = run(``), as a hint to pick by."""
    start = data.rfind(b"\n", 0, offset) + 1
    line = data[start : data.find(b"\n", start) if data.find(b"\n", start) >= 0 else len(data)]
    indent = len(line) - len(line.lstrip(b" \t"))
    while start > 0 and indent > 0:
        end = start - 1
        start = data.rfind(b"\n", 0, end) + 1
        above = data[start:end]
        if above.strip() and len(above) - len(above.lstrip(b" \t")) < indent:
            return above.strip().decode("utf-8", "replace")
    return None
