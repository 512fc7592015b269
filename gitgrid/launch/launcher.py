"""The one interface for where points run, in the spirit of Hydra's launchers: whoever chooses points
(``gitgrid run``, ``gitgrid optimize``) knows only this, never which machine runs them.

A :class:`Launcher` launches the points of a sweep that one :class:`~gitgrid.run.runner.RunOptions`
selects (``--where``, ``--rerun``, ``--retry-failed``) and runs them as it says (``--build``, ``--setup``,
``--timeout``, ``--halt-after``, the runs root); it reports each point's state, cancels, and waits. Some
launchers run the points to their end inside :meth:`Launcher.launch` (this machine, Dask: the points
live as long as the process that launched them); array jobs outlive it, so ``launch`` returns once they
are queued and :meth:`Launcher.wait` follows them. Either way a caller that needs the results calls
``launch`` then ``wait``, with no branch of its own.

What is particular to a place (a scheduler's ``--opt`` options, array limits, a Dask address) is a
:class:`LaunchSettings`, given when the launcher is made (:func:`gitgrid.launch.registry.get_launcher`).
"""

from __future__ import annotations

import math
import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from gitgrid.errors import RunError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.run.locks import try_lock
from gitgrid.run.runner import RunOptions, RunState, RunSummary
from gitgrid.store import open_store
from gitgrid.sweep.catalog import find_sweep

if TYPE_CHECKING:
    from gitgrid.cluster.submit import Submission

__all__ = [
    "Launch",
    "LaunchSettings",
    "Launcher",
    "Progress",
    "Warn",
    "as_repository",
    "stop_holder",
]

Progress = Callable[[RunState], None]
Warn = Callable[[str], None]


@dataclass(frozen=True)
class LaunchSettings:
    """What is particular to where points run: ``--opt KEY=VALUE`` pairs (a scheduler's options, a Dask
    address), and for array jobs ``--array-limit``, ``--chunk`` and ``--template``; ``poll`` is how often
    :meth:`Launcher.wait` asks a scheduler about points that outlive their launch."""

    options: tuple[tuple[str, str], ...] = ()
    array_limit: int | None = None
    chunk: int = 1
    template: Path | None = None
    poll: float = 5.0

    def option(self, key: str) -> str | None:
        """The last value given for ``--opt key``, if any."""
        found = [value for name, value in self.options if name == key]
        return found[-1] if found else None


@dataclass(frozen=True)
class Launch:
    """What :meth:`Launcher.launch` did: the points it launched (or, ``dry_run``, would launch), how many
    it left alone, the scheduler's job ids, and, when they already ran to their end, the summary."""

    launcher: str
    sweep: str
    points: tuple[int, ...] = ()
    skipped: int = 0
    jobs: tuple[str, ...] = ()
    summary: RunSummary | None = None
    submission: Submission | None = None  # array jobs: the script, the arrays and their folder
    dry_run: bool = False
    left: Mapping[str, int] = field(default_factory=dict)  # points not launched, by their state
    repo: Path | None = None  # for :meth:`Launcher.wait`: where to look
    options: RunOptions = field(default_factory=RunOptions)
    launched: float = 0.0  # when: runs that ended since are this launch's
    reused: Mapping[str, int] = field(default_factory=dict)  # points reused, not launched, by source sweep


class Launcher(ABC):
    """Where points run. Subclasses set ``name`` (what ``--on`` takes), ``description`` (the docs'
    table) and ``takes`` (the :class:`LaunchSettings` they use besides ``poll``), and implement
    :meth:`launch`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    takes: ClassVar[frozenset[str]] = frozenset()  # of "opt", "array_limit", "chunk", "template"
    option_keys: ClassVar[frozenset[str] | None] = frozenset()  # --opt keys it knows (None: any)

    def __init__(self, settings: LaunchSettings = LaunchSettings()) -> None:
        self.settings = settings
        self._check(settings)

    @abstractmethod
    def launch(
        self,
        command: Sequence[str],
        sweep: str | None = None,
        repo: Repository | Path | str = ".",
        options: RunOptions | None = None,
        *,
        dry_run: bool = False,
        on_progress: Progress | None = None,
        on_warning: Warn | None = None,
    ) -> Launch:
        """Launch the points of ``sweep`` (default: the newest) that ``options`` select (default:
        ``RunOptions()``, every point not run yet)."""

    def wait(self, launch: Launch, on_progress: Progress | None = None) -> RunSummary:
        """Until every point of ``launch`` ended: how they ended. Launchers that run points to their end
        in :meth:`launch` have nothing left to wait for."""
        if launch.summary is not None:
            return launch.summary
        state = RunState(total=0, skipped=launch.skipped)
        state.reused = dict(launch.reused)
        return RunSummary(launch.sweep, state)

    def in_flight(self, repo: Repository | Path | str, sweep: str | None) -> Launch | None:
        """The points of ``sweep`` this launcher launched earlier that are still queued or running (only
        array jobs outlive the process that launched them), to :meth:`wait` for."""
        return None

    def states(self, repo: Repository | Path | str, sweep: str | None) -> dict[int, tuple[str, str]]:
        """Each point's state and reason (``success``, ``failed``, ``pending``, ``running``, ...) as far
        as this launcher knows; points it never ran are absent."""
        repo = as_repository(repo)
        chosen = find_sweep(repo, sweep)
        _, store = open_store(repo)
        try:
            return {
                row.run.index: (row.run.status, row.run.reason or "")
                for row in store.runs.records(chosen.name)
            }
        finally:
            store.close()

    def cancel(self, repo: Repository | Path | str, sweep: str | None) -> list[str]:
        """Stop what this launcher runs of ``sweep``; what was stopped, in words. By default: the gitgrid
        process that holds the sweep's run lock (as Ctrl-C would stop it)."""
        repo = as_repository(repo)
        chosen = find_sweep(repo, sweep)
        stopped = stop_holder(Layout.of(repo), chosen.name)
        return [f"gitgrid (pid {stopped})"] if stopped is not None else []

    # settings -------------------------------------------------------------------------------------
    def _check(self, settings: LaunchSettings) -> None:
        given = {
            "opt": bool(settings.options), "array_limit": settings.array_limit is not None,
            "chunk": settings.chunk != 1, "template": settings.template is not None,
        }  # fmt: skip
        flags = {"opt": "--opt", "array_limit": "--array-limit", "chunk": "--chunk", "template": "--template"}
        for key, present in given.items():
            if present and key not in self.takes:
                raise RunError(f"--on {self.name} takes no {flags[key]}")
        if settings.chunk < 1 or (settings.array_limit is not None and settings.array_limit < 1):
            raise RunError("--chunk and --array-limit must be at least 1")
        if not (math.isfinite(settings.poll) and settings.poll > 0):
            raise RunError(f"--poll {settings.poll}: give a positive, finite number of seconds")
        for key, value in settings.options:
            if not key or any(c in key + value for c in "\n\r\0"):
                raise RunError(f"--opt {key}={value!r}: a key and a value on one line")
            if self.option_keys is not None and key not in self.option_keys:
                known = ", ".join(sorted(self.option_keys)) or "none"
                raise RunError(f"--opt {key}: --on {self.name} does not know it (it knows: {known})")


def as_repository(repo: Repository | Path | str) -> Repository:
    return repo if isinstance(repo, Repository) else open_repository(repo)


def stop_holder(layout: Layout, sweep: str) -> int | None:
    """SIGTERM to the process holding ``sweep``'s run lock (a ``gitgrid run`` of it), which then stops
    its commands and records them interrupted; its pid, or None when no process holds the lock."""
    lock = layout.sweep_lock(sweep)
    if not lock.exists():
        return None
    handle = try_lock(lock)
    if handle is not None:  # free: nobody runs the sweep
        handle.close()
        return None
    try:
        pid = int(lock.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (ValueError, OSError):
        return None
    return pid
