"""The values the store keeps and hands back: the run record (one attempt at one point, as
``meta.json`` and the store both keep it), a stored run with its id, a submitted job, what the store
knows of a sweep.

:class:`Run` lives here, in the store's layer below ``run``, because the store reads and writes it and
may import nothing of ``run``; :mod:`gitgrid.run.contract` re-exports it as the record the run contract
writes into ``meta.json``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gitgrid._version import __version__
from gitgrid.layout import META
from gitgrid.spec.values import Value

__all__ = [
    "CONTRACT_VERSION",
    "FINAL",
    "Identity",
    "Job",
    "Read",
    "Run",
    "RunRow",
    "SeriesRows",
    "StageRecord",
    "SweepInfo",
    "recipe_of",
    "run_key",
    "run_keys",
]

FINAL = frozenset({"success", "failed", "timeout", "interrupted", "cancelled"})
SeriesRows = Iterable[tuple[str, int, float | None]]  # (name, step, value) of a run's series
# The version of the run contract (docs/run.md: the GITGRID_* environment, result.json, series.jsonl):
# part of every run key, so that a gitgrid whose contract changed never reuses runs made under the old one.
CONTRACT_VERSION = 1


def recipe_of(command: Iterable[str], build: str | None, setup: str | None) -> str:
    """What a run does besides its point's files, as one id: the command and its arguments, ``--build``,
    ``--setup`` and the run contract's version (SHA-256 of their canonical JSON)."""
    text = json.dumps(
        {"build": build, "command": list(command), "contract": CONTRACT_VERSION, "setup": setup},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def run_key(tree: str, recipe: str) -> str:
    """The key of a run: its point commit's tree id and its recipe (:func:`recipe_of`). Two runs with
    the same key ran the same command on the same files: one's result is the other's (docs/run.md)."""
    return hashlib.sha256(f"{tree} {recipe}".encode()).hexdigest()


def run_keys(trees: Iterable[tuple[int, str | None]], recipe: str) -> list[tuple[int, str]]:
    """:func:`run_key` of each (index, tree) with a tree, as (index, key): a planning's keys. (One
    formula: a key computed apart from :func:`run_key` that drifted would reuse the wrong runs.)"""
    return [(index, run_key(tree, recipe)) for index, tree in trees if tree]


Identity = tuple[str, int, str, float | None]  # a run's commit, attempt, host and start: Run.identity


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
    recipe: str | None = None  # recipe_of(command, --build, --setup)
    key: str | None = None  # run_key(tree of the point commit, recipe), when both are known
    reused: tuple[str, int] | None = None  # (sweep, point index) of the run whose result this one reuses
    # a run of a stage (``gitgrid analyze``): the simulation run it read ("<commit>/<attempt>"), and the
    # analysis it ran (a hash of the analysis code, the command and the stage contract's version)
    reads: str | None = None
    analysis: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.started is None or self.ended is None else self.ended - self.started

    @property
    def identity(self) -> Identity:
        """Which run this is, wherever it is stored: its point commit, attempt, host and start time. It
        never changes once the run started (a corrected status keeps it), so a run pulled back is known."""
        return (
            self.commit,
            self.attempt,
            self.host or "",
            None if self.started is None else float(self.started),
        )

    def to_json(self) -> str:
        """One line of JSON (the C encoder: this is written twice per run)."""
        record = {name: getattr(self, name) for name in _FIELDS}
        record.update(params=dict(self.params), metrics=dict(self.metrics), duration=self.duration)
        for name in _STAGE_FIELDS:  # a simulation's meta.json stays as it was before stages
            if record[name] is None:
                del record[name]
        return json.dumps(record, allow_nan=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes | dict[str, Any], **defaults: Any) -> Run:
        """Parse a ``meta.json`` (its text, or the object it holds); ``defaults`` fill in fields a
        hand-written one may leave out."""
        loaded = json.loads(text) if isinstance(text, str | bytes) else text
        if not isinstance(loaded, dict):
            raise ValueError(f"{META} must hold a JSON object")
        record: dict[str, Any] = {**defaults, **loaded}
        known = set(cls.__dataclass_fields__)
        record = {k: v for k, v in record.items() if k in known}
        record["command"] = tuple(record.get("command", ()))
        record.pop("key", None)  # a key is computed by gitgrid from the point's tree, never read back
        reused = record.get("reused")
        record["reused"] = (
            (reused[0], reused[1]) if isinstance(reused, list | tuple) and len(reused) == 2 else None
        )
        return cls(**record)

    def ending(self, status: str, **changes: Any) -> Run:
        """This run, ended now with ``status``."""
        return replace(self, status=status, ended=time.time(), **changes)


_FIELDS = tuple(Run.__dataclass_fields__)
_STAGE_FIELDS = ("reads", "analysis")


@dataclass(frozen=True)
class RunRow:
    """A run as stored, with its database id and metrics."""

    id: int
    run: Run


@dataclass(frozen=True)
class Job:
    """A submitted array job."""

    job_id: str
    scheduler: str
    sweep: str
    submission: str
    tasks: int
    chunk: int
    submitted: float
    cancelled: bool = False


@dataclass(frozen=True)
class SweepInfo:
    """What the store knows of a sweep: its tip, points, params (with their columns and the kind of
    their values: ``num``, ``text``, ``mixed`` or ``other``) and metric names in reported order."""

    name: str
    tip: str
    count: int
    params: tuple[str, ...]
    columns: tuple[str, ...]
    kinds: Mapping[str, str]
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class Read:
    """The simulation run a stage reads at one point: its run directory, which run it is
    (``<commit>/<attempt>``, what a stage's run records as ``reads``) and its metrics as JSON (NaN as
    null)."""

    run_dir: str
    reads: str
    metrics: str


@dataclass(frozen=True)
class StageRecord:
    """A stage of a sweep as ``gitgrid analyze`` last ran it: once per point or once with every point
    (``every``), its command, the ``--code`` ref (None: the working tree), the paths given by ``--uses``
    (empty: the whole tree), its analysis key, the code's commit, and whether that held uncommitted
    files."""

    sweep: str
    stage: str
    every: bool
    command: tuple[str, ...]
    code_ref: str | None
    uses: tuple[str, ...]
    analysis: str
    code: str
    dirty: bool

    @property
    def records(self) -> str:
        """The name of the stage's records (``SWEEP:STAGE``)."""
        return f"{self.sweep}:{self.stage}"
