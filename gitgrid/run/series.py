"""Metrics over time: the JSON-lines file a run appends to ``$GITGRID_SERIES``, read back and checked.

Each line is one JSON object: ``step`` (an integer, increasing from line to line) and any number of
metrics (numbers, or null for "no value at this step"), e.g. ``{"step": 120, "t": 0.6, "rate": 4.2}``.
A command writes and flushes lines as it goes, so a reader may meet a last line cut short: that line is
ignored, never fatal. Any other bad line stops the reading there: the steps before it are kept and the
problem names the file and the line, and is recorded with the run (``gitgrid status`` shows it), so a
series is never silently partial. A run that writes no series has none; nothing else changes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from gitgrid.errors import excerpt
from gitgrid.layout import SERIES
from gitgrid.run.contract import Run, open_run_file, read_run_file, shown

__all__ = [
    "MAX_SERIES_BYTES",
    "SAMPLE_BYTES",
    "Series",
    "SeriesRows",
    "note_problem",
    "read_series",
    "sample_series",
]

MAX_SERIES_BYTES = 256 * 1024 * 1024  # read no more of a file than this (bounded time and memory)
SAMPLE_BYTES = 64 * 1024  # a running run's series file up to this size is read whole by a view
_WINDOW = 8192  # bytes read at each place a larger one is sampled: enough to hold a whole line
SeriesRows = Iterable[tuple[str, int, float | None]]  # (name, step, value)


@dataclass(frozen=True)
class Series:
    """The series a run wrote: ``(name, step, value)`` rows in file order, and what stopped the reading."""

    rows: tuple[tuple[str, int, float | None], ...] = ()
    problem: str | None = None
    last_step: int | None = None

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(name for name, _, _ in self.rows))


def read_series(run_dir: Path, limit: int = MAX_SERIES_BYTES) -> Series:
    """The series in ``run_dir`` (none when the file is missing); see the module's docstring."""
    path = run_dir / SERIES
    try:  # a file the run wrote: a regular file only, never blocking (not a FIFO), capped
        data = read_run_file(path, limit, cut=True)
    except FileNotFoundError:
        return Series()
    except ValueError as exc:
        return Series(problem=f"{path} {exc}")
    too_long = len(data) > limit
    lines = data[:limit].split(b"\n")
    rows: list[tuple[str, int, float | None]] = []
    last: int | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            step, values = _parse(line, last)
        except ValueError as exc:
            if number == len(lines):  # no newline after it: still being written, or cut short
                break
            return Series(tuple(rows), f"{path}:{number}: {exc}", last)
        rows.extend((name, step, value) for name, value in values.items())
        last = step
    problem = f"{path}: longer than {limit} bytes; read up to there" if too_long else None
    return Series(tuple(rows), problem, last)


def sample_series(
    run_dir: Path, name: str, points: int = 200, whole: int = SAMPLE_BYTES
) -> list[tuple[str, int, float | None]]:
    """The rows of series ``name`` in ``run_dir``, for a view of a run still running: the file, opened by
    the one reader of run files, is read whole up to ``whole`` bytes; a larger one at ``points`` evenly
    spaced places, one line each (the first whole line after each place, and the file's last whole line),
    so a file of any size costs ``points`` small reads. Lines that cannot be read are skipped (this is a
    view; the run's record is made by :func:`read_series` when it ends)."""
    try:
        fd = open_run_file(run_dir / SERIES)
    except (OSError, ValueError):
        return []
    try:
        size = os.fstat(fd).st_size
        if size <= whole:
            chunks = [(0, os.pread(fd, size, 0), slice(None))]
        else:
            places = [size * k // max(1, points) for k in range(max(1, points))]
            chunks = [(at, os.pread(fd, _WINDOW, at), slice(1)) for at in places]
            end = max(0, size - _WINDOW)
            chunks.append((end, os.pread(fd, _WINDOW, end), slice(-1, None)))
    except OSError:
        return []
    finally:
        os.close(fd)
    return _rows(chunks, name)


def _rows(chunks: list[tuple[int, bytes, slice]], name: str) -> list[tuple[str, int, float | None]]:
    """The rows of ``name`` in the whole lines of each chunk (the ``slice`` of them it stands for)."""
    rows: list[tuple[str, int, float | None]] = []
    last: int | None = None
    for start, data, pick in chunks:
        for line in data.split(b"\n")[1 if start else 0 : -1][pick]:  # the cut ends are not whole lines
            try:
                step, values = _parse(line, last)
            except ValueError:
                continue
            last = step
            if name in values:
                rows.append((name, step, values[name]))
    return rows


def _parse(line: bytes, last: int | None) -> tuple[int, dict[str, float | None]]:
    """One line's step and metrics; ValueError saying what is wrong with it."""
    try:
        record = json.loads(line)
    except RecursionError:
        raise ValueError("not a JSON object: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the int digit limit
        raise ValueError(f"not a JSON object: {str(exc)[:120]}") from None
    if not isinstance(record, dict):
        raise ValueError(f"not a JSON object but {type(record).__name__}")
    step = record.pop("step", None)
    if isinstance(step, bool) or not isinstance(step, int):
        raise ValueError(f"'step' must be an integer, not {step!r}")
    if abs(step) >= 2**63:  # what SQLite stores as an integer
        raise ValueError(f"'step' must be below 2**63, not {shown(step)}")
    if last is not None and step <= last:
        raise ValueError(f"step {step} does not increase (the line before has step {last})")
    values: dict[str, float | None] = {}
    for name, value in record.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"'{excerpt(name)}' is not a number: {shown(value)}")
        try:
            values[name] = None if value is None or not math.isfinite(value) else float(value)
        except OverflowError:  # an integer of hundreds of digits
            raise ValueError(f"'{excerpt(name)}' is too large a number: {shown(value)}") from None
    return step, values


def note_problem(run: Run, series: Series) -> Run:
    """The run with its series' problem added to its reason (its status is the command's own)."""
    if series.problem is None:
        return run
    reason = series.problem if run.reason is None else f"{run.reason}; {series.problem}"
    return replace(run, reason=reason)
