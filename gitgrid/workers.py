"""Worker checkouts and the commands running in them.

Each worker owns one persistent, detached git worktree (``.git/gitgrid/worktrees/w<k>``) and moves it from
point to point with ``git checkout``, so only the files that differ are rewritten and untracked build
products survive: ``make``, ``cmake`` or ``pip install -e`` stay incremental. A worker's lock (``flock``)
keeps two runners from sharing a checkout; it is released by the kernel if the runner dies.

:class:`ProcessTable` knows every running command's process group, so timeouts and Ctrl-C stop a command
together with everything it started.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gitgrid.errors import RunError
from gitgrid.git import Repository

__all__ = ["ProcessTable", "SetupFailed", "Slot", "acquire_slots", "runs_in", "stop_group"]


class SetupFailed(RunError):
    """The ``--setup`` command failed in a worker's checkout: nothing can run there."""

    exit_code = 1


@dataclass
class Slot:
    """One worker's checkout: its number, folder, lock, and the commit it is at."""

    number: int
    path: Path
    lock: IO[str]
    repo: Repository
    head: str | None = None

    @property
    def stamp(self) -> Path:
        return self.path.with_name(f"{self.path.name}.setup.json")

    def move_to(self, commit: str) -> None:
        """Check out ``commit`` (making the worktree on first use, or again if it was deleted)."""
        if self.head is None:
            self.head = self.repo.head_of(self.path) if (self.path / ".git").exists() else None
            if self.head is None:
                self.repo.add_worktree(self.path, commit)
                self.head = commit
        if self.head != commit:
            self.repo.checkout(self.path, commit)
            self.head = commit

    def needs_setup(self, command: str, base: str) -> bool:
        """True unless this checkout already ran ``command`` for this base code."""
        try:
            done = json.loads(self.stamp.read_text())
        except (OSError, ValueError):
            return True
        return bool(done != {"command": command, "base": base})

    def mark_setup(self, command: str, base: str) -> None:
        self.stamp.write_text(json.dumps({"command": command, "base": base}))

    def release(self) -> None:
        self.lock.close()


@contextmanager
def acquire_slots(repo: Repository, folder: Path, count: int) -> Iterator[list[Slot]]:
    """Lock ``count`` free worker checkouts under ``folder`` (other runners may hold some)."""
    folder.mkdir(parents=True, exist_ok=True)
    slots: list[Slot] = []
    number = 0
    try:
        while len(slots) < count:
            lock = (folder / f"w{number}.lock").open("a")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
            else:
                slots.append(Slot(number, folder / f"w{number}", lock, repo))
            number += 1
        yield slots
    finally:
        for slot in slots:
            slot.release()


@dataclass
class _Entry:
    process: subprocess.Popen[bytes]
    deadline: float | None
    reason: str | None = None
    signalled: float = 0.0


@dataclass
class ProcessTable:
    """Running commands with their deadlines; stops overdue ones and, on request, all of them."""

    grace: float = 5.0
    _entries: dict[int, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, process: subprocess.Popen[bytes], timeout: float | None) -> None:
        deadline = time.monotonic() + timeout if timeout else None
        with self._lock:
            self._entries[process.pid] = _Entry(process, deadline)

    def remove(self, process: subprocess.Popen[bytes]) -> str | None:
        """Forget an ended process; returns why it was stopped (``timeout``, ``interrupted``), if it was."""
        with self._lock:
            entry = self._entries.pop(process.pid, None)
        return entry.reason if entry else None

    def tick(self) -> None:
        """Stop commands past their deadline; kill those that ignored the stop for ``grace`` seconds."""
        now = time.monotonic()
        with self._lock:
            for pid, entry in self._entries.items():
                if entry.reason is None and entry.deadline is not None and now > entry.deadline:
                    entry.reason, entry.signalled = "timeout", now
                    stop_group(pid, signal.SIGTERM)
                elif entry.reason is not None and now - entry.signalled > self.grace:
                    stop_group(pid, signal.SIGKILL)

    def stop_all(self) -> None:
        """Ask every command to stop (SIGTERM to its process group); :meth:`tick` kills stragglers."""
        now = time.monotonic()
        with self._lock:
            for pid, entry in self._entries.items():
                if entry.reason is None:
                    entry.reason, entry.signalled = "interrupted", now
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


def run_setup(slot: Slot, command: str, env: Mapping[str, str], log: Path, table: ProcessTable) -> bool:
    """Run ``--setup`` in a worker's checkout (through the shell: it is one string); False if stopped."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["/bin/sh", "-c", command], cwd=slot.path, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, process_group=0,
        )  # fmt: skip
    table.add(process, None)
    code = process.wait()
    if table.remove(process) is not None:
        return False
    if code != 0:
        raise SetupFailed(f"--setup failed in worker {slot.number} (exit status {code}); see {log}")
    return True
