"""One run of one point: its directory, its environment, the command's life, and its result.

This is the contract between gitgrid and a user's command, the same for ``gitgrid run``, cluster array
tasks and ``gitgrid prepare`` (``docs/run.md``)::

    RUNS_ROOT/<sweep>/<index>-<commit12>/attempt-<n>/   GITGRID_RUN_DIR: the run's own folder
        meta.json     written by gitgrid at the start (status "running") and at the end (final status)
        stdout.log    the command's output
        stderr.log
        result.json   GITGRID_RESULT: the command writes a JSON object of metrics here

Directories are keyed by sweep, point index and commit, never by time, so two runs never collide;
``meta.json`` is replaced atomically, so a reader sees the old record or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitgrid._version import __version__
from gitgrid.values import Value, canonical_json

__all__ = [
    "FINAL",
    "PointRun",
    "Run",
    "claim_attempt",
    "environment",
    "param_env_name",
    "point_dir",
    "read_meta",
    "read_result",
    "write_meta",
]

FINAL = frozenset({"success", "failed", "timeout", "interrupted", "cancelled"})
META, RESULT, STDOUT, STDERR = "meta.json", "result.json", "stdout.log", "stderr.log"
ATTEMPT = re.compile(r"^attempt-(\d+)$")


@dataclass(frozen=True)
class PointRun:
    """What running a point needs to know about it."""

    sweep: str
    index: int
    count: int
    commit: str
    params: Mapping[str, Value]
    texts: Mapping[str, str]  # each value as written into the files


@dataclass(frozen=True)
class Run:
    """One attempt at one point, as recorded in ``meta.json`` and in the store."""

    sweep: str
    index: int
    commit: str
    attempt: int
    status: str
    run_dir: str
    params: Mapping[str, Value] = field(default_factory=dict)
    rerun: int = 0
    host: str = ""
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    reason: str | None = None
    command: tuple[str, ...] = ()
    pid: int | None = None
    job: str | None = None  # the scheduler's job and task ("5_3") when run by a cluster task
    metrics: Mapping[str, float] = field(default_factory=dict)
    gitgrid_version: str = __version__

    @property
    def duration(self) -> float | None:
        return None if self.started is None or self.ended is None else self.ended - self.started

    def to_json(self) -> str:
        """One line of JSON (the C encoder: this is written twice per run)."""
        record = {name: getattr(self, name) for name in _FIELDS}
        record.update(params=dict(self.params), metrics=dict(self.metrics), duration=self.duration)
        return json.dumps(record, allow_nan=True) + "\n"

    @classmethod
    def from_json(cls, text: str, **defaults: Any) -> Run:
        """Parse a ``meta.json``; ``defaults`` fill in fields a hand-written one may leave out."""
        record: dict[str, Any] = {**defaults, **json.loads(text)}
        known = set(cls.__dataclass_fields__)
        record = {k: v for k, v in record.items() if k in known}
        record["command"] = tuple(record.get("command", ()))
        return cls(**record)

    def ending(self, status: str, **changes: Any) -> Run:
        """This run, ended now with ``status``."""
        return replace(self, status=status, ended=time.time(), **changes)


_FIELDS = tuple(Run.__dataclass_fields__)


def point_dir(runs_root: Path, sweep: str, index: int, commit: str, count: int) -> Path:
    """The folder of one point's attempts: index zero-padded to the sweep's width, and the commit."""
    width = max(5, len(str(count - 1)))
    return runs_root / sweep / f"{index:0{width}d}-{commit[:12]}"


def claim_attempt(folder: Path, after: int | None = None) -> tuple[int, Path]:
    """Create the next ``attempt-N`` folder; ``mkdir`` is atomic, so two claimants never share one.

    ``after`` is the highest attempt known to exist (from the store): it saves listing the folder.
    """
    if after is None or not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        taken = [int(m.group(1)) for p in folder.iterdir() if (m := ATTEMPT.match(p.name))]
        after = max(taken, default=0)
    attempt = after + 1
    while True:
        try:
            path = folder / f"attempt-{attempt}"
            path.mkdir()
            return attempt, path
        except FileExistsError:
            attempt += 1


def param_env_name(name: str) -> str:
    """``GITGRID_PARAM_<NAME>``: upper-cased, anything but letters and digits turned into ``_``."""
    return "GITGRID_PARAM_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def environment(point: PointRun, run_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a point's command: ``base`` (default: ours) plus the ``GITGRID_*`` contract."""
    env = dict(os.environ if base is None else base)
    env.update(
        GITGRID_SWEEP=point.sweep,
        GITGRID_INDEX=str(point.index),
        GITGRID_COUNT=str(point.count),
        GITGRID_COMMIT=point.commit,
        GITGRID_PARAMS=canonical_json(point.params),
        GITGRID_RUN_DIR=str(run_dir),
        GITGRID_RESULT=str(run_dir / RESULT),
    )
    env.update({param_env_name(name): text for name, text in point.texts.items()})
    return env


def write_meta(run: Run) -> None:
    """Replace ``meta.json`` of the run atomically."""
    path = Path(run.run_dir) / META
    temporary = path.with_name(f".{META}.{os.getpid()}.tmp")
    temporary.write_text(run.to_json())
    temporary.replace(path)


def read_meta(run_dir: Path, /, **defaults: Any) -> Run | None:
    """The run recorded in ``run_dir``, or None when there is no (readable) ``meta.json``."""
    try:
        return Run.from_json((run_dir / META).read_text(), **defaults)
    except (OSError, ValueError, TypeError):
        return None


def read_result(run_dir: Path, params: Sequence[str]) -> tuple[dict[str, float], str | None]:
    """Metrics from ``result.json`` and, if they cannot be used, why (the run then counts as failed).

    No file means no metrics. Non-finite numbers are kept (stored as null); booleans, strings, lists and
    objects are not metrics; a metric named like a param would make the results ambiguous.
    """
    path = run_dir / RESULT
    if not path.exists():
        return {}, None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return {}, f"{RESULT} is not valid JSON: {exc}"
    if not isinstance(data, dict):
        return {}, f"{RESULT} must hold a JSON object of metrics, not {type(data).__name__}"
    seen: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            return {}, f"{RESULT}: metric '{name}' is not a number: {value!r}"
        if name in params:
            return {}, f"{RESULT}: metric '{name}' has the name of a param"
        if name.casefold() in seen:  # they would share a column of the store, which ignores case
            return {}, f"{RESULT}: metrics '{seen[name.casefold()]}' and '{name}' differ only in case"
        seen[name.casefold()] = name
    return dict(data), None


def host() -> str:
    return socket.gethostname()


def spawn(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], run_dir: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group (so it and its children can be stopped together)."""
    with (run_dir / STDOUT).open("wb") as out, (run_dir / STDERR).open("wb") as err:
        return subprocess.Popen(
            list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, process_group=0
        )


def outcome(run: Run, code: int, stopped: str | None, run_dir: Path) -> Run:
    """The final record of a run from its exit status, why it was stopped (if it was), and its result."""
    if stopped is not None:
        reasons = {"timeout": "time limit exceeded", "interrupted": "stopped by the user"}
        return run.ending(stopped, exit_code=code, reason=reasons.get(stopped, stopped))
    if code != 0:
        reason = f"exit status {code}" if code > 0 else f"killed by signal {-code}"
        return run.ending("failed", exit_code=code, reason=reason)
    metrics, problem = read_result(run_dir, list(run.params))
    if problem is not None:
        return run.ending("failed", exit_code=code, reason=problem)
    return run.ending("success", exit_code=code, metrics=metrics)


def tail(path: Path, lines: int = 5) -> list[str]:
    """The last ``lines`` lines of a log file (empty when missing)."""
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 8192))
            return log.read().decode(errors="replace").splitlines()[-lines:]
    except OSError:
        return []
