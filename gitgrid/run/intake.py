"""Reading a run directory that gitgrid may not have written: ``meta.json`` and ``result.json`` are
untrusted, so they are read as small regular files only (never a FIFO, a device or a symlink; at most
1 MiB), and every field is checked before anything is stored.

A field that is wrong makes the attempt a ``failed`` run whose reason names the file and the field, so
``gitgrid status`` shows why; a file that is not (yet) valid JSON leaves the attempt pending, as a file
still being written would.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gitgrid.layout import META, RESULT, attempt_number
from gitgrid.run.contract import FINAL, Run
from gitgrid.sweep.record import PointRecord

__all__ = ["MAX_FILE_BYTES", "Intake", "metrics_problem", "read_attempt", "read_small_json"]

MAX_FILE_BYTES = 1 << 20
_STATUSES = (*sorted(FINAL), "running", "prepared")
_NUMBER_FIELDS = ("started", "ended")
_OPTIONAL_INTS = ("exit_code", "pid")
_OPTIONAL_TEXTS = ("reason", "job", "host")


@dataclass(frozen=True)
class Intake:
    """What an attempt folder holds: its finished run (None while it is not finished), and a problem
    worth reporting (the reason of a run recorded as failed, or why the folder is still pending)."""

    run: Run | None
    problem: str | None = None


class _Bad(ValueError):
    """A file or a field that cannot be used; the message says which and why."""


def read_small_json(path: Path, limit: int = MAX_FILE_BYTES) -> Any:
    """The JSON in ``path``: None when there is no such file; :class:`ValueError` (with the reason) when
    it is not a regular file, is too large, or is not valid JSON. Never blocks, never follows a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Bad(f"{path.name} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Bad(f"{path.name} is not a regular file")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise _Bad(f"{path.name} is larger than {limit} bytes")
    try:
        return json.loads(data)
    except RecursionError:
        raise _Bad(f"{path.name} is nested too deeply") from None


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
        run = replace(run, status="success", ended=(folder / RESULT).stat().st_mtime)
    return Intake(replace(run, metrics=dict(data)))


def _failed(run: Run, reason: str) -> Run:
    return replace(run, status="failed", reason=reason, metrics={}, ended=run.ended or run.started)


def _checked(meta: Any, blank: Run, params: Mapping[str, Any]) -> Run:
    """The run a ``meta.json`` describes, every field checked; :class:`_Bad` naming the first bad one."""
    if not isinstance(meta, dict):
        raise _Bad(f"not a JSON object but {type(meta).__name__}")
    status = meta.get("status", "running")
    if status not in _STATUSES:
        raise _Bad(f"'status' must be one of {', '.join(_STATUSES)}, not {_shown(status)}")
    fields: dict[str, Any] = {"status": status}
    for name in _NUMBER_FIELDS:
        value = meta.get(name)
        if value is not None and (_not_number(value) or not math.isfinite(value)):
            raise _Bad(f"'{name}' must be a time in seconds since the epoch, not {_shown(value)}")
        fields[name] = value
    for name in _OPTIONAL_INTS:
        value = meta.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise _Bad(f"'{name}' must be an integer, not {_shown(value)}")
        fields[name] = value
    for name in _OPTIONAL_TEXTS:
        value = meta.get(name)
        if value is not None and not isinstance(value, str):
            raise _Bad(f"'{name}' must be a string, not {_shown(value)}")
        fields[name] = value if value is not None or name != "host" else ""
    rerun = meta.get("rerun", 0)
    if isinstance(rerun, bool) or not isinstance(rerun, int) or not 0 <= rerun < 2**31:
        raise _Bad(f"'rerun' must be a whole number, not {_shown(rerun)}")
    command = meta.get("command", [])
    if not isinstance(command, list) or not all(isinstance(part, str) for part in command):
        raise _Bad(f"'command' must be a list of strings, not {_shown(command)}")
    metrics = meta.get("metrics", {})
    if (problem := metrics_problem(metrics, list(params))) is not None:
        raise _Bad(f"'metrics': {problem}")
    return replace(blank, **fields, rerun=rerun, command=tuple(command), metrics=dict(metrics), params=params)


def metrics_problem(data: Any, params: Sequence[str]) -> str | None:
    """Why ``data`` is not a mapping of metric names to numbers (NaN and infinities allowed), if it is
    not: booleans, strings, lists and objects are not metrics; a metric named like a param would make the
    results ambiguous."""
    if not isinstance(data, dict):
        return f"metrics must be a JSON object, not {type(data).__name__}"
    for name, value in data.items():
        if _not_number(value):
            return f"metric '{_short(name)}' is not a number: {_shown(value)}"
        if name in params:
            return f"metric '{_short(name)}' has the name of a param"
    return None


def _not_number(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, int | float)


def _shown(value: Any) -> str:
    """A short excerpt of a value for a message (a hostile file may hold megabytes)."""
    return _short(json.dumps(value) if not isinstance(value, float) else repr(value))


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
