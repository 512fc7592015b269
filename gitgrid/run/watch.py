"""Knowing whether a command touched the tracked files of its checkout, without looking at every file.

A checkout moved by the sweep's files alone (:mod:`gitgrid.git.move`) is only as good as the other
tracked files: if a point's command edited one (wrote into a tracked data file, deleted a folder), the
next point must not inherit that. Looking at 20,000 files after every point costs what the fast move
saves, so the kernel tells instead: an inotify watch on every tracked folder reports any change to a
tracked name; then the caller does a full ``git checkout`` (which also resets such edits).

Linux only. Where inotify is missing or its limits are reached (``fs.inotify.max_user_watches``,
``max_user_instances``), :func:`watch_checkout` returns None and every move is a full checkout. Writes
through a shared ``mmap`` are not reported by inotify: a command that edits a tracked file that way is
not seen (``docs/run.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["TrackedWatch", "watch_checkout"]


class TrackedWatch:
    """Events on the tracked names of a checkout, except ``own`` (the files gitgrid itself rewrites)."""

    def __init__(self, root: Path, tracked: Iterable[str], own: Iterable[str]) -> None:
        from inotify_simple import INotify, flags

        self._flags = flags
        self._own = set(own)
        self._files = set(tracked)
        self._folders = _folders(self._files)
        self._inotify = INotify(nonblocking=True)
        mask = (
            flags.MODIFY | flags.ATTRIB | flags.CREATE | flags.DELETE | flags.MOVED_FROM | flags.MOVED_TO
            | flags.DELETE_SELF | flags.MOVE_SELF | flags.DONT_FOLLOW | flags.ONLYDIR
        )  # fmt: skip
        self._where: dict[int, str] = {}
        try:
            for folder in sorted(self._folders | {""}):
                self._where[self._inotify.add_watch(root / folder, mask)] = folder
        except BaseException:
            self.close()
            raise

    def changes(self) -> set[str] | None:
        """Since the last call: the sweep's own files that were touched, or None when anything else
        tracked was (or events were lost)."""
        flags = self._flags
        own: set[str] = set()
        for event in self._inotify.read(timeout=0):
            if event.mask & (flags.Q_OVERFLOW | flags.IGNORED | flags.DELETE_SELF | flags.MOVE_SELF):
                self._drain()
                return None
            if not event.name:  # about a watched folder itself: only its removal (above) matters
                continue
            folder = self._where.get(event.wd)
            if folder is None:
                self._drain()
                return None
            path = f"{folder}/{event.name}" if folder else event.name
            if path in self._own:
                own.add(path)
            elif path in self._files or path in self._folders:
                self._drain()
                return None
        return own

    def _drain(self) -> None:
        """Read what is left (the caller checks everything out again anyway)."""
        while self._inotify.read(timeout=0):
            pass

    def close(self) -> None:
        self._inotify.close()


def _folders(files: Iterable[str]) -> set[str]:
    """Every folder that holds one of ``files`` (at any depth); string slicing, as this runs over every
    tracked path of a checkout."""
    found: set[str] = set()
    for path in files:
        end = path.rfind("/")
        while end > 0 and path[:end] not in found:
            found.add(path[:end])
            end = path.rfind("/", 0, end)
    return found


def watch_checkout(root: Path, tracked: Iterable[str], own: Iterable[str]) -> TrackedWatch | None:
    """A watch on the tracked folders of the checkout at ``root``, or None where inotify cannot give one."""
    try:
        return TrackedWatch(root, tracked, own)
    except (ImportError, OSError, AttributeError):
        return None
