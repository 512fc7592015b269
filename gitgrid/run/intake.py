"""Reading a run directory that gitgrid may not have written: ``meta.json`` and ``result.json`` are
untrusted, so they are read as regular files only (never a FIFO, a device or a symlink; at most
16 MiB, as :mod:`gitgrid.run.contract` reads them for a local run), and every field is checked before
anything is stored.

A field that is wrong makes the attempt a ``failed`` run whose reason names the file and the field, so
``gitgrid status`` shows why; a file that is not (yet) valid JSON leaves the attempt pending, as a file
still being written would.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gitgrid.layout import META, RESULT, attempt_number
from gitgrid.run.contract import FINAL, NotJson, Run, metrics_problem, read_json_file, shown
from gitgrid.store.record import run_key
from gitgrid.sweep.record import PointRecord

__all__ = ["Intake", "read_attempt", "read_small_json"]

_INT_LIMIT = 2**63  # what SQLite stores as an integer
_STATUSES = (*sorted(FINAL), "running", "prepared")
_NUMBER_FIELDS = ("started", "ended")
_OPTIONAL_INTS = ("exit_code", "pid")
_OPTIONAL_TEXTS = ("reason", "job", "host", "reads", "analysis")  # the last two: a stage's run
_RECIPE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Intake:
    """What an attempt folder holds: its finished run (None while it is not finished), and a problem
    worth reporting (the reason of a run recorded as failed, or why the folder is still pending)."""

    run: Run | None
    problem: str | None = None


class _Bad(ValueError):
    """A file or a field that cannot be used; the message says which and why."""


def read_small_json(path: Path) -> Any:
    """The JSON in ``path``, read by :func:`~gitgrid.run.contract.read_json_file`: None when there is no
    such file; :class:`ValueError` when it is not JSON (yet); :class:`_Bad` (the reason) when it is not a
    file to read at all (a FIFO, a link, a device, too large)."""
    try:
        return read_json_file(path)
    except FileNotFoundError:
        return None
    except NotJson:
        raise
    except ValueError as exc:
        raise _Bad(f"{path.name} {exc}") from None


def read_attempt(folder: Path, point: PointRecord, sweep: str) -> Intake:
    """The run recorded in an attempt folder of ``point``. Where it is (sweep, point, commit, attempt)
    comes from the folder, whatever the files say."""
    blank = Run(sweep, point.index, point.commit, attempt_number(folder.name) or 0, "running", str(folder))
    try:
        meta = read_small_json(folder / META)
    except _Bad as exc:
        return Intake(_failed(blank, str(exc)), str(exc))
    except ValueError as exc:  # not JSON (yet): a file being written, or junk; either way not finished
        return Intake(None, f"{META} is not valid JSON: {exc}")
    if meta is None:
        return Intake(None)
    try:
        run = _checked(meta, blank, point.params)
    except _Bad as exc:
        return Intake(_failed(blank, f"{META}: {exc}"), f"{META}: {exc}")
    if run.recipe is not None and point.tree:  # the key from this clone's tree, never from the file
        run = replace(run, key=run_key(point.tree, run.recipe))
    return _finished(run, folder, list(point.params))


def _finished(run: Run, folder: Path, params: Sequence[str]) -> Intake:
    if run.status in FINAL and not (run.status == "success" and not run.metrics):
        return Intake(run)
    if run.status not in (*FINAL, "prepared"):
        return Intake(None)
    try:
        data = read_small_json(folder / RESULT)
    except _Bad as exc:
        return Intake(_failed(run, str(exc)), str(exc))
    except ValueError as exc:
        if run.status == "prepared":  # the command may still be writing it
            return Intake(None, f"{RESULT} is not valid JSON: {exc}")
        return Intake(_failed(run, f"{RESULT} is not valid JSON: {exc}"), f"{RESULT} is not valid JSON")
    if data is None:
        return Intake(run if run.status in FINAL else None)
    problem = metrics_problem(data, params)
    if problem is not None:
        return Intake(_failed(run, f"{RESULT}: {problem}"), f"{RESULT}: {problem}")
    if run.status == "prepared":
        run = replace(run, status="success", ended=os.lstat(folder / RESULT).st_mtime)
    return Intake(replace(run, metrics=dict(data)))


def _failed(run: Run, reason: str) -> Run:
    return replace(run, status="failed", reason=reason, metrics={}, ended=run.ended or run.started)


def _checked(meta: Any, blank: Run, params: Mapping[str, Any]) -> Run:
    """The run a ``meta.json`` describes, every field checked; :class:`_Bad` naming the first bad one."""
    if not isinstance(meta, dict):
        raise _Bad(f"not a JSON object but {type(meta).__name__}")
    status = meta.get("status", "running")
    if status not in _STATUSES:
        raise _Bad(f"'status' must be one of {', '.join(_STATUSES)}, not {shown(status)}")
    fields: dict[str, Any] = {"status": status}
    for name in _NUMBER_FIELDS:
        value = meta.get(name)
        if value is not None and _not_time(value):
            raise _Bad(f"'{name}' must be a time in seconds since the epoch, not {shown(value)}")
        fields[name] = value
    for name in _OPTIONAL_INTS:
        value = meta.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or abs(value) >= _INT_LIMIT
        ):
            raise _Bad(f"'{name}' must be an integer, not {shown(value)}")
        fields[name] = value
    for name in _OPTIONAL_TEXTS:
        value = meta.get(name)
        if value is not None and not isinstance(value, str):
            raise _Bad(f"'{name}' must be a string, not {shown(value)}")
        fields[name] = value if value is not None or name != "host" else ""
    rerun = meta.get("rerun", 0)
    if isinstance(rerun, bool) or not isinstance(rerun, int) or not 0 <= rerun < 2**31:
        raise _Bad(f"'rerun' must be a whole number, not {shown(rerun)}")
    command = meta.get("command", [])
    if not isinstance(command, list) or not all(isinstance(part, str) for part in command):
        raise _Bad(f"'command' must be a list of strings, not {shown(command)}")
    metrics = meta.get("metrics", {})
    if (problem := metrics_problem(metrics, list(params))) is not None:
        raise _Bad(f"'metrics': {problem}")
    recipe = meta.get("recipe")
    if recipe is not None and (not isinstance(recipe, str) or not _RECIPE.fullmatch(recipe)):
        raise _Bad(f"'recipe' must be 64 hex digits, not {shown(recipe)}")
    fields.update(rerun=rerun, command=tuple(command), metrics=dict(metrics), params=params, recipe=recipe)
    return replace(blank, **fields)


def _not_number(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, int | float)


def _not_time(value: Any) -> bool:
    return (
        _not_number(value)
        or (isinstance(value, int) and abs(value) >= _INT_LIMIT)
        or not math.isfinite(value)
    )
