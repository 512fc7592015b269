"""The commands gitgrid starts: each in its own process group, watched for its deadline and for stops.

:class:`ProcessTable` knows every running command's process group, so timeouts and Ctrl-C (or a
scheduler's SIGTERM) stop a command together with everything it started. A run is over only when its
whole group is gone: once the group leader has exited, whatever it left behind in its group (a
background job, a child that ignores SIGTERM) gets SIGTERM and, ``grace`` seconds later, SIGKILL
(:meth:`ProcessTable.finish`), so nothing of one point outlives it into the next point's checkout.

What a process group cannot hold: a process that calls ``setsid`` (daemons do) or ``setpgid`` leaves the
group, and gitgrid cannot find or stop it (``docs/security.md``, "Processes").
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CannotStart", "ProcessTable", "group_alive", "runs_in", "spawn", "stop_group"]

_POLL = 0.02  # seconds between looks at a group that outlived its leader
_LAST_WORD = 1.0  # seconds after SIGKILL before a group still seen is given up (zombies nobody reaps)


class CannotStart(Exception):
    """The command could not be started (not found, not executable): the run fails with this reason."""


def spawn(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], out: Path, err: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group (so it and its children can be stopped together),
    its output to ``out`` and its errors to ``err`` (default: ``out`` as well).

    Raises :class:`CannotStart` when the command cannot start, ``OSError`` when a log cannot be made.
    """
    with out.open("wb") as stdout, err.open("wb") if err else contextlib.nullcontext(None) as stderr:
        try:
            return subprocess.Popen(
                list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                stderr=stderr if stderr is not None else subprocess.STDOUT, process_group=0,
            )  # fmt: skip
        except OSError as exc:
            why = "command not found" if isinstance(exc, FileNotFoundError) else exc.strerror
            raise CannotStart(f"{why}: {command[0]}") from None


@dataclass
class _Entry:
    process: subprocess.Popen[bytes]
    deadline: float | None
    stopped: tuple[str, str] | None = None  # (status, reason) once asked to stop
    signalled: float | None = None  # when SIGTERM went to the group


@dataclass
class ProcessTable:
    """Running commands with their deadlines; stops overdue ones and, on request, all of them.

    Whoever owns the table calls :meth:`tick` often (the local runner's loop, or :meth:`ticking`'s
    thread on a node) so deadlines and the SIGKILL after ``grace`` happen while leaders still run.
    """

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

    def finish(self, process: subprocess.Popen[bytes]) -> tuple[str, str] | None:
        """After the leader exited: wait until its whole group is gone, stopping what is left of it
        (SIGTERM, then SIGKILL ``grace`` seconds after the first signal); then forget the command.

        Returns why it was stopped (status and reason), if it was. Costs one ``killpg(0)`` when the
        leader left nothing behind.
        """
        pgid = process.pid
        with self._lock:
            entry = self._entries.get(pgid)
            stopped = entry.stopped if entry else None  # a stop that comes later cannot undo the exit
        while entry is not None and group_alive(pgid):
            now = time.monotonic()
            with self._lock:
                if entry.signalled is None:  # the leader ended on its own but left processes behind
                    entry.signalled = now
                    stop_group(pgid, signal.SIGTERM)
                elif now - entry.signalled > self.grace + _LAST_WORD:
                    break  # only zombies nobody reaps are left, or a process that cannot be killed
                elif now - entry.signalled > self.grace:
                    stop_group(pgid, signal.SIGKILL)
            time.sleep(_POLL)
        with self._lock:
            self._entries.pop(pgid, None)
        return stopped

    def abandon(self, process: subprocess.Popen[bytes]) -> None:
        """Stop a command gitgrid can no longer follow (its run cannot be recorded): the whole group."""
        with self._lock:
            entry = self._entries.get(process.pid)
            if entry is not None and entry.stopped is None:
                self._stop(
                    process.pid, entry, ("interrupted", "gitgrid could not record the run"), time.monotonic()
                )
        process.wait()
        self.finish(process)

    def tick(self) -> None:
        """Stop commands past their deadline; kill those that ignored the stop for ``grace`` seconds."""
        now = time.monotonic()
        with self._lock:
            for pid, entry in self._entries.items():
                if entry.stopped is None and entry.deadline is not None and now > entry.deadline:
                    self._stop(pid, entry, ("timeout", "time limit exceeded"), now)
                elif entry.signalled is not None and now - entry.signalled > self.grace:
                    stop_group(pid, signal.SIGKILL)

    def stop_all(self, reason: str = "stopped by the user") -> None:
        """Ask every command to stop (SIGTERM to its process group); :meth:`tick` kills stragglers."""
        now = time.monotonic()
        with self._lock:
            self._stopping = self._stopping or ("interrupted", reason)
            for pid, entry in self._entries.items():
                if entry.stopped is None:
                    self._stop(pid, entry, self._stopping, now)

    @contextlib.contextmanager
    def ticking(self, every: float = 0.05) -> Iterator[None]:
        """Call :meth:`tick` from a thread of its own while the block runs (for owners without a loop)."""
        done = threading.Event()

        def loop() -> None:
            while not done.wait(every):
                self.tick()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    @staticmethod
    def _stop(pid: int, entry: _Entry, why: tuple[str, str], now: float) -> None:
        entry.stopped = why
        if entry.signalled is None:
            entry.signalled = now
        stop_group(pid, signal.SIGTERM)

    def __len__(self) -> int:
        return len(self._entries)


def stop_group(pgid: int, signum: int) -> None:
    """Signal a whole process group; it may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def group_alive(pgid: int) -> bool:
    """True while some process of group ``pgid`` exists (that gitgrid may signal)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def runs_in(pid: int, run_dir: Path) -> bool:
    """True if process ``pid`` is the command of ``run_dir`` (its environment names it), not a stranger
    that was given the same pid later. Read from /proc, so only on Linux; elsewhere False."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"GITGRID_RUN_DIR={run_dir}".encode() in environ.split(b"\0")
