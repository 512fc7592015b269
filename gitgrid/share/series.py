"""Runs' series (metrics over time) in their own notes ref, ``refs/notes/gitgrid-series``, behind
``--series``: they can be large, and most uses of a sweep's results need only its final metrics.

The same layout as the records (:mod:`gitgrid.share.notes`: a note per 64 points, on the commit of the
first), one line per run that has series, canonical JSON::

    {"attempt":1,"commit":"<40 hex>","host":"node17","index":7,"series":{"rate":[[0,1.5],[10,2.25]]},
     "started":1795000123.5,"sweep":"grid_search-2026-11-22"}

naming its run as the store knows runs (commit, attempt, host, start). A push writes every finished
run's series of the chosen sweeps (merged as a union with what the notes hold: writing them again
changes nothing); a pull stores the series of the runs it holds and has no series of. Lines read back
are untrusted and checked as :mod:`gitgrid.share.record` checks records, within their own bounds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from gitgrid.errors import excerpt
from gitgrid.git.notes import read_notes, write_notes
from gitgrid.git.repository import ZERO, RefUpdate, Repository
from gitgrid.run.contract import shown
from gitgrid.share.notes import CHUNK, MAX_NOTES, SERIES, anchor, note_lines, read_contents, union
from gitgrid.share.record import RecordProblem, parse_identity
from gitgrid.store import Store
from gitgrid.store.shares import SeriesOf

__all__ = ["MAX_STEPS", "encode_series", "export_series", "import_series", "parse_series"]

MAX_LINE = 64 << 20  # bytes of one run's series
MAX_STEPS = 1 << 21  # (name, step) values of one run
_INT63 = 2**63


def encode_series(found: SeriesOf) -> bytes:
    """The line of a run's series (without its newline); a value that is NaN or infinite is null."""
    sweep, index, (commit, attempt, host, started), rows = found
    series: dict[str, list[list[Any]]] = {}
    for name, step, value in rows:
        series.setdefault(name, []).append([step, value if value is None or math.isfinite(value) else None])
    record = {"sweep": sweep, "index": index, "commit": commit, "attempt": attempt, "host": host,
              "started": started, "series": series}  # fmt: skip
    kept = {key: value for key, value in record.items() if value is not None}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def parse_series(line: bytes) -> SeriesOf:
    """A run's series from its line, checked; :class:`RecordProblem` saying why not."""
    if len(line) > MAX_LINE:
        raise RecordProblem(f"a line of {len(line)} bytes, more than {MAX_LINE}")
    data, sweep, index, identity = parse_identity(line)
    series = data.get("series")
    if not isinstance(series, dict):
        raise RecordProblem(f"'series' must be a JSON object, not {shown(series)}")
    rows: list[tuple[str, int, float | None]] = []
    for name, points in series.items():
        if len(name) > 255 or not isinstance(points, list):
            raise RecordProblem(f"series '{excerpt(name)}' must be a list of [step, value]")
        for point in points:
            rows.append((name, *_point(name, point)))
        if len(rows) > MAX_STEPS:
            raise RecordProblem(f"more than {MAX_STEPS} values")
    return sweep, index, identity, rows


def _point(name: str, point: Any) -> tuple[int, float | None]:
    if not (isinstance(point, list) and len(point) == 2):
        raise RecordProblem(f"series '{excerpt(name)}': {shown(point)} is not [step, value]")
    step, value = point
    if isinstance(step, bool) or not isinstance(step, int) or abs(step) >= _INT63:
        raise RecordProblem(f"series '{excerpt(name)}': step {shown(step)} is not a whole number")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise RecordProblem(f"series '{excerpt(name)}': value {shown(value)} is not a number")
    if isinstance(value, int) and abs(value) >= 2**1023:
        raise RecordProblem(f"series '{excerpt(name)}': value {shown(value)} is too large")
    return step, None if value is None or not math.isfinite(value) else float(value)


def export_series(repo: Repository, store: Store, sweeps: Sequence[str]) -> str | None:
    """Write the series of the finished runs of ``sweeps`` into the series notes; their commit after."""
    local = repo.ref_value(SERIES.ref)
    additions: dict[str, list[bytes]] = {}
    for sweep in sweeps:
        anchors = store.shares.commits(sweep, CHUNK)
        for found in store.shares.series(sweep):
            target = anchors.get(anchor(found[1]))
            if target is not None:
                additions.setdefault(target, []).append(encode_series(found))
    if not additions:
        return local
    what = "the local series notes (refs/notes/gitgrid-series)"
    ours = read_notes(repo, local, MAX_NOTES, what)
    old = read_contents(repo, [ours.notes[t] for t in additions if t in ours.notes], what, SERIES)
    changed = {}
    for target, lines in additions.items():
        previous = old.get(ours.notes.get(target, ""), b"")
        if (content := union(previous, b"\n".join(lines))) != previous:
            changed[target] = content
    if not changed:
        return local
    commit = write_notes(repo, {**ours.notes, **changed}, [local] if local else [], "gitgrid: series")
    repo.update_refs([RefUpdate(SERIES.ref, commit, local or ZERO)])
    return commit


def import_series(store: Store, contents: Mapping[str, bytes]) -> tuple[int, int]:
    """Store the series the notes ``contents`` hold for runs the store has without series: (runs that
    gained their series, lines skipped as unusable)."""
    stored = skipped = 0
    for content in contents.values():
        found = []
        for line in note_lines(content):
            try:
                found.append(parse_series(line))
            except RecordProblem:
                skipped += 1
        stored += store.shares.add_series(found)
    return stored, skipped
