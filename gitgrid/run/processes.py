"""The commands gitgrid starts: each in its own process group, watched for its deadline and for stops.

:class:`ProcessTable` knows every running command's process group, so timeouts and Ctrl-C (or a
scheduler's SIGTERM) stop a command together with everything it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitgrid.layout import STDERR, STDOUT

__all__ = ["ProcessTable", "runs_in", "spawn", "stop_group"]


def spawn(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], run_dir: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group (so it and its children can be stopped together)."""
    with (run_dir / STDOUT).open("wb") as out, (run_dir / STDERR).open("wb") as err:
        return subprocess.Popen(
            list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, process_group=0
        )


@dataclass
class _Entry:
    process: subprocess.Popen[bytes]
    deadline: float | None
    stopped: tuple[str, str] | None = None  # (status, reason) once asked to stop
    signalled: float = 0.0


@dataclass
class ProcessTable:
    """Running commands with their deadlines; stops overdue ones and, on request, all of them."""

    grace: float = 5.0
    _entries: dict[int, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: tuple[str, str] | None = None

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop_all` was called: nothing new should start."""
        return self._stopping is not None

    def add(self, process: subprocess.Popen[bytes], timeout: float | None) -> None:
        deadline = time.monotonic() + timeout if timeout else None
        with self._lock:
            self._entries[process.pid] = _Entry(process, deadline)
            if self._stopping is not None:  # started while stopping: stop it at once
                self._stop(process.pid, self._entries[process.pid], self._stopping, time.monotonic())

    def remove(self, process: subprocess.Popen[bytes]) -> tuple[str, str] | None:
        """Forget an ended process; returns why it was stopped (status and reason), if it was."""
        with self._lock:
            entry = self._entries.pop(process.pid, None)
        return entry.stopped if entry else None

    def tick(self) -> None:
        """Stop commands past their deadline; kill those that ignored the stop for ``grace`` seconds."""
        now = time.monotonic()
        with self._lock:
            for pid, entry in self._entries.items():
                if entry.stopped is None and entry.deadline is not None and now > entry.deadline:
                    self._stop(pid, entry, ("timeout", "time limit exceeded"), now)
                elif entry.stopped is not None and now - entry.signalled > self.grace:
                    stop_group(pid, signal.SIGKILL)

    def stop_all(self, reason: str = "stopped by the user") -> None:
        """Ask every command to stop (SIGTERM to its process group); :meth:`tick` kills stragglers."""
        now = time.monotonic()
        with self._lock:
            self._stopping = self._stopping or ("interrupted", reason)
            for pid, entry in self._entries.items():
                if entry.stopped is None:
                    self._stop(pid, entry, self._stopping, now)

    @staticmethod
    def _stop(pid: int, entry: _Entry, why: tuple[str, str], now: float) -> None:
        entry.stopped, entry.signalled = why, now
        stop_group(pid, signal.SIGTERM)

    def __len__(self) -> int:
        return len(self._entries)


def stop_group(pgid: int, signum: int) -> None:
    """Signal a whole process group; it may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def runs_in(pid: int, run_dir: Path) -> bool:
    """True if process ``pid`` is the command of ``run_dir`` (its environment names it), not a stranger
    that was given the same pid later. Read from /proc, so only on Linux; elsewhere False."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"GITGRID_RUN_DIR={run_dir}".encode() in environ.split(b"\0")
