"""A sweep's state: its points counted by the state of their latest attempt, and its failures, grouped.

Counts come from one aggregate over the store's index of point states, so they cost the same for ten
points and for a million. Failed, timed-out and cancelled points are grouped by what went wrong (their
status, reason, and the lines of their stderr that look like an error), so eighteen points that failed the
same way make one entry with their index ranges. Only the first :data:`STDERR_READ` failures' logs are
read; later ones are grouped by status and reason alone.

For a submitted sweep the store is first reconciled with the scheduler
(:func:`gitgrid.cluster.reconcile.reconcile`), so queued and running points are counted as such and dead
tasks never pass for successes.

Each stage of the sweep (``gitgrid analyze``) follows: its points by where their analysis stands
(current, stale because the simulation ran again or the analysis changed, failed, never analysed), its
failures grouped the same way, and for a stage over every point its last run and the files it wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gitgrid.cluster.reconcile import reconcile
from gitgrid.errors import SpecError
from gitgrid.git.repository import Repository
from gitgrid.launch.registry import scheduler_of
from gitgrid.layout import BUILD_LOG, STDERR, Layout, run_dir_problem
from gitgrid.query.tables import Opened, read_results, refreshed
from gitgrid.run.contract import read_run_tail
from gitgrid.stages.code import analyses_now
from gitgrid.stages.every import every_analysis, stage_outputs
from gitgrid.store import EVERY, Failure, Run, StageRecord, Store
from gitgrid.sweep.catalog import find_sweep
from gitgrid.sweep.record import Sweep
from gitgrid.sweep.stages import split_records, stage_records

__all__ = [
    "ERROR_LINE",
    "STDERR_READ",
    "FailureGroup",
    "StageStatus",
    "Status",
    "error_lines",
    "group_failures",
    "sweep_status",
]

STDERR_READ = 1000  # failures whose stderr is read, at most
ERROR_LINE = re.compile(
    r"error|exception|traceback|fatal|panic|abort|segmentation fault|assert|^at line \d+ of file"
    r"|killed|out of memory|not found|no such file|permission denied|stop\b",
    re.IGNORECASE,
)
_TASK = re.compile(r"\(array task \S+ ended")  # a scheduler's verdict names its task: grouped without it
_WINDOW = 64 * 1024  # bytes read from the end of a stderr.log
_RANGES = 20  # index ranges kept per group (the count says how many points there are)
_NOTES = 100  # succeeded points' problems shown, at most


@dataclass
class FailureGroup:
    """Points whose latest attempt ended the same way: status, reason and the error lines of stderr."""

    status: str
    reason: str
    errors: tuple[str, ...]  # lines above the tail that look like the error
    tail: tuple[str, ...]  # the last lines of the first point's stderr
    stderr: Path | None  # the first point's stderr.log (its build.log when its build failed)
    count: int = 0
    ranges: list[list[int]] = field(default_factory=list)  # [first, last] index ranges, the first few

    def add(self, index: int) -> None:
        self.count += 1
        if self.ranges and self.ranges[-1][1] == index - 1:
            self.ranges[-1][1] = index
        elif len(self.ranges) < _RANGES:
            self.ranges.append([index, index])

    def indexes(self) -> list[int]:
        """The points of the ranges kept (all of them unless :attr:`count` is larger)."""
        return [index for a, b in self.ranges for index in range(a, b + 1)]

    @property
    def points(self) -> str:
        """``0-17, 20, 31-33``, with ``...`` when there are more than the ranges kept."""
        text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in self.ranges)
        shown = sum(b - a + 1 for a, b in self.ranges)
        return text + (", ..." if shown < self.count else "")


@dataclass(frozen=True)
class StageStatus:
    """A stage of a sweep: its points by where their analysis stands, its failures grouped, and for a
    stage over every point (``stage.every``) its latest run, whether that is current, and its files."""

    stage: StageRecord
    counts: dict[str, int]
    failures: list[FailureGroup]
    latest: Run | None = None
    current: bool = False
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status:
    """A sweep's points by the state of their latest attempt, and its failures grouped by cause; then
    its stages."""

    sweep: Sweep
    counts: dict[str, int]
    failures: list[FailureGroup]
    notes: list[tuple[int, str]] = field(default_factory=list)  # succeeded points' problems (series)
    messages: tuple[str, ...] = ()  # e.g. runs just collected from run directories
    stages: tuple[StageStatus, ...] = ()
    reused: dict[str, int] = field(default_factory=dict)  # successes reused, by the sweep that ran them


def sweep_status(repo: Repository | Path | str = ".", sweep: str | None = None, lines: int = 5) -> Status:
    """Counts by state, and the failed, timed-out or cancelled points grouped, with their stderr."""
    if isinstance(lines, bool) or lines < 0:
        raise SpecError(f"--lines {lines}: give a number of lines, 0 or more")
    opened = read_results(repo)
    repo, store = opened.repo, opened.store
    try:
        chosen = find_sweep(repo, sweep)
        messages = refreshed(store, repo, chosen, opened.readonly)
        progress = store.progress
        # the scheduler is asked about the store's jobs unless the store cannot be written (its word
        # could not be recorded) or is doubted (its jobs and folders are someone else's, #17)
        if store.jobs.submitted(chosen.name) and not opened.readonly and opened.doubt is None:
            reconciled = reconcile(repo, chosen, store, Layout.of(repo), scheduler_of)
            states = {i: s for i, (s, _) in reconciled.items()}
            counts = _count(states.values(), chosen.count - len(states))
            failed: Iterable[Failure] = (
                f for f in progress.failures(chosen.name) if states.get(f.index) == f.status
            )
        else:
            counts, failed = progress.counts(chosen.name), progress.failures(chosen.name)
            counts.setdefault("never run", 0)
        groups = group_failures(failed, lines, chosen.name, read_logs=opened.doubt is None)
        notes = progress.notes(chosen.name, _NOTES)
        reused = progress.reused(chosen.name)
        stages = _stages(opened, chosen, lines) if split_records(chosen.name)[1] is None else ()
    finally:
        store.close()
    return Status(chosen, counts, groups, notes, tuple(messages), stages, reused)


def _stages(opened: Opened, sweep: Sweep, lines: int) -> tuple[StageStatus, ...]:
    """Each stage of ``sweep``, its runs collected (and its array jobs reconciled) first, as for the
    sweep: nothing collected into a read-only store, no path of a doubted one followed (#17)."""
    repo, store = opened.repo, opened.store
    records = store.stages.of(sweep.name)
    if not records:
        return ()
    layout = Layout.of(repo)
    now = analyses_now(repo, layout, records)
    trusted = opened.doubt is None
    found = []
    for record in records:
        chosen = stage_records(sweep, record.stage)
        if not opened.readonly:
            refreshed(store, repo, chosen)
            if store.jobs.submitted(chosen.name) and trusted:
                reconcile(repo, chosen, store, layout, scheduler_of)
        analysis = now.get(record.stage)
        if record.every:
            found.append(_every(store, sweep, record, analysis, lines, trusted))
            continue
        counts = store.stages.counts(sweep.name, record.stage, analysis)
        failures = group_failures(store.progress.failures(chosen.name), lines, chosen.name, trusted)
        found.append(StageStatus(record, counts, failures))
    return tuple(found)


def _every(
    store: Store, sweep: Sweep, record: StageRecord, analysis: str | None, lines: int, trusted: bool
) -> StageStatus:
    """A stage over every point: its latest run, whether it is current, and what it wrote (listed only
    from its own folder of a trusted store)."""
    latest = store.stages.latest_every(record.records)
    if latest is None:
        return StageStatus(record, {"never analysed": 1}, [])
    current = analysis is not None and latest.analysis == every_analysis(store, sweep.name, analysis)
    failed = (
        [Failure(EVERY, latest.status, latest.reason, latest.run_dir)] if latest.status != "success" else []
    )
    state = "current" if current and latest.status == "success" else latest.status if current else "stale"
    usable = trusted and run_dir_problem(latest.run_dir, record.records, EVERY) is None
    outputs = tuple(stage_outputs(Path(latest.run_dir))) if usable else ()
    groups = group_failures(failed, lines, record.records, trusted)
    return StageStatus(record, {state: 1}, groups, latest, current, outputs)


def _count(states: Iterable[str], never: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    counts["never run"] = never
    return counts


def group_failures(
    failed: Iterable[Failure], lines: int, sweep: str = "", read_logs: bool = True
) -> list[FailureGroup]:
    """Failures grouped by status, reason and error lines, in the order of their first point. A log is
    read only from a run directory of that point of ``sweep`` (never any path a store holds), and none
    without ``read_logs`` (a store gitgrid did not write)."""
    groups: dict[tuple[str, str, tuple[str, ...] | None], FailureGroup] = {}
    for read, failure in enumerate(failed):
        reason = failure.reason or ""
        log = BUILD_LOG if reason.startswith("build failed") else STDERR  # the log that says why
        usable = (
            read_logs and failure.run_dir and run_dir_problem(failure.run_dir, sweep, failure.index) is None
        )
        stderr = Path(failure.run_dir) / log if usable else None
        errors, tail = error_lines(stderr, lines) if stderr and read < STDERR_READ else ((), ())
        key = (
            failure.status,
            _TASK.sub("(array task * ended", reason),
            errors if read < STDERR_READ else None,
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = FailureGroup(failure.status, reason, errors, tail, stderr)
        group.add(failure.index)
    return list(groups.values())


def error_lines(path: Path, lines: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The lines near the end of a log that look like an error (above its tail), and its last ``lines``
    lines. The log is read by the one reader of run files, its last 64 KiB at most."""
    try:
        text = read_run_tail(path, _WINDOW).decode(errors="replace").splitlines()
    except (OSError, ValueError):
        return (), ()
    cut = max(0, len(text) - lines)
    above = [_shown(line.strip()) for line in text[:cut] if ERROR_LINE.search(line)]
    return tuple(dict.fromkeys(above[-5:])), tuple(_shown(line) for line in text[cut:])


def _shown(line: str) -> str:
    """A log line as text for a terminal: at most 300 characters, control characters (an escape
    sequence a run wrote) shown as ``\\xNN`` rather than obeyed."""
    return "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" for c in line[:300])
