"""Builds that rebuild nothing: noticing that a point is about to run another point's program (#16).

``--build make`` is meant to rebuild what a point's values change. When the build's rules do not depend
on a file the sweep rewrites (a Makefile that ``include``s the parameter file its target does not list, a
header the compiler reads but the Makefile does not name), ``make`` says "up to date" and the point runs
the program built for another point: a silently wrong result. The kernel can tell what a build did. An
inotify watch on every folder of the checkout (untracked build folders too, and new ones as they appear)
reports any file written; one on each of the sweep's files, while the build runs, reports its being
opened or read. A build that read a file this point changed and then wrote nothing in the checkout,
where an earlier build did write (there are products to be stale), is *stale*: the point fails before
its command runs.

What a build reads is remembered for the life of the checkout's build products, not for one build:
``make`` does not open a header missing from its rules once the program exists, yet the compiler did
open it for the first build. So each checkout keeps a small record beside it
(:func:`gitgrid.layout.build_record`): which of the sweep's files its builds were seen reading, and what
each held at the last build that wrote something (what its products were built from). A file "changed"
for a point when it differs from that. A file the record does not know (a checkout made by an older
gitgrid, or used by a sweep that did not rewrite it) counts as changed, and is touched before the build
so that a build whose rules depend on it rebuilds (and so writes) rather than raise a false alarm.

Writes outside the checkout are not seen, nor reads of the sweep's files through a shared ``mmap``
made before the build started; a build that always writes some file in the checkout (a log, a stamp)
always counts as having built. ``docs/run.md`` says what this costs and how to answer a stale build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitgrid.errors import excerpt

__all__ = ["BuildGuard", "Trace", "Tracer", "save_record", "stale_reason", "touch"]


@dataclass(frozen=True)
class Trace:
    """What a traced command did in the checkout."""

    opened: frozenset[str]  # the sweep's files it opened or read
    wrote: bool  # any file written, created or moved into the checkout (or events were lost)


class Tracer:
    """inotify watches on one checkout: every folder (but ``.git``) for writes, always; the sweep's files
    for reads, between :meth:`begin` and :meth:`end`. Raises ``OSError`` (or ``ImportError``) where inotify
    cannot watch it all (``fs.inotify.max_user_watches``)."""

    def __init__(self, root: Path, files: Iterable[str]) -> None:
        from inotify_simple import INotify, flags

        self._flags = flags
        self._writes = flags.CLOSE_WRITE | flags.CREATE | flags.MOVED_TO | flags.MODIFY
        self.root = root
        self.files = tuple(files)
        self._inotify = INotify(nonblocking=True)
        self._folders: dict[int, Path] = {}
        self._files: dict[int, str] = {}  # watches on the sweep's files, while a build runs
        try:
            self._add_tree(root)
        except BaseException:
            self.close()
            raise

    def begin(self) -> None:
        """Forget what happened since the last build (the move, the last command), then watch reads."""
        self._read()
        flags = self._flags
        for name in self.files:
            try:
                self._files[self._inotify.add_watch(self.root / name, flags.OPEN | flags.ACCESS)] = name
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue  # a file this point does not have cannot have been read

    def end(self) -> Trace:
        """What happened since :meth:`begin`; the files are no longer watched after it."""
        opened, wrote = self._read()
        for wd in self._files:
            with contextlib.suppress(OSError):  # the file was replaced or removed: its watch went with it
                self._inotify.rm_watch(wd)
        self._files.clear()
        return Trace(frozenset(opened), wrote)

    def close(self) -> None:
        self._inotify.close()

    def _read(self) -> tuple[set[str], bool]:
        """Every queued event: the sweep's files opened, and whether anything was written. New folders
        are watched as they are found (with what they already hold)."""
        flags = self._flags
        opened: set[str] = set()
        wrote = lost = False
        created: list[Path] = []
        while events := self._inotify.read(timeout=0):
            for event in events:
                if event.mask & flags.Q_OVERFLOW:
                    wrote = lost = True  # more than the queue holds: certainly written, folders unknown
                elif event.wd in self._files:
                    if event.mask & (flags.OPEN | flags.ACCESS):  # not its removal (IGNORED)
                        opened.add(self._files[event.wd])
                elif event.mask & flags.IGNORED:
                    self._folders.pop(event.wd, None)  # a folder removed (make clean, git clean)
                elif event.wd in self._folders and event.mask & self._writes:
                    wrote = True
                    if event.mask & flags.ISDIR and event.mask & (flags.CREATE | flags.MOVED_TO):
                        created.append(self._folders[event.wd] / event.name)
        for folder in [self.root] if lost else created:
            self._add_tree(folder)
        return opened, wrote

    def _add_tree(self, top: Path) -> None:
        flags = self._flags
        mask = self._writes | flags.ONLYDIR | flags.DONT_FOLLOW
        for folder, subfolders, _ in os.walk(top):
            if folder == str(self.root):
                subfolders[:] = [name for name in subfolders if name != ".git"]
            try:
                self._folders[self._inotify.add_watch(folder, mask)] = Path(folder)
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue  # gone already, or a folder no build of ours can write either


@dataclass(frozen=True)
class _Record:
    reads: frozenset[str]  # the sweep's files a build of this checkout was seen reading
    built: dict[str, str]  # each file's digest at the last build that wrote something
    products: bool = False  # some build of this checkout wrote something: there is something to be stale


class BuildGuard:
    """The stale-build check of one checkout: :meth:`begin` before its build, :meth:`end` after."""

    def __init__(self, tracer: Tracer, record: Path) -> None:
        self.tracer = tracer
        self._record_file = record
        self._before: dict[str, str] = {}
        self._record = _Record(frozenset(), {})

    def begin(self) -> None:
        """Before the build: what the sweep's files hold now. Those the record does not know (a checkout
        of an older gitgrid, a file another sweep did not rewrite) are touched, so a build whose rules
        depend on them rebuilds, and count as changed."""
        self._before = _digests(self.tracer.root, self.tracer.files)
        self._record = self._load()
        touch(self.tracer.root, [name for name in self._before if name not in self._record.built])
        self.tracer.begin()

    def end(self, built: bool) -> str | None:
        """After the build (``built``: it exited 0): why the point is stale, or None. The record learns
        what the build read and, when it wrote something, what its products are now built from."""
        trace = self.tracer.end()
        record = self._record
        reads = record.reads | trace.opened
        changed = {name for name, digest in self._before.items() if record.built.get(name) != digest}
        stale = sorted(changed & reads) if built and record.products and not trace.wrote else []
        known = dict(self._before) if built and trace.wrote else {**self._before, **record.built}
        learnt = _Record(reads, known, record.products or trace.wrote)
        if learnt != record:
            self._save(learnt)
        return stale_reason(stale) if stale else None

    def close(self) -> None:
        self.tracer.close()

    def _load(self) -> _Record:
        try:
            data: Any = json.loads(self._record_file.read_text())
            reads = frozenset(str(name) for name in data["reads"])
            built = {str(k): str(v) for k, v in data["built"].items()}
            return _Record(reads, built, data["products"] is True)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # a checkout made before records were kept (or a damaged record): it may hold products
            return _Record(frozenset(), {}, products=True)

    def _save(self, record: _Record) -> None:
        save_record(self._record_file, record)


def save_record(path: Path, record: _Record | None = None) -> None:
    """Write a checkout's record (by default that of a checkout just made: nothing built, nothing read).
    Best effort: a record that cannot be written (a full disk) leaves the last one in force."""
    record = record or _Record(frozenset(), {})
    data = {"reads": sorted(record.reads), "built": record.built, "products": record.products}
    temporary = path.with_name(path.name + ".tmp")
    with contextlib.suppress(OSError):
        temporary.write_text(json.dumps(data))
        temporary.replace(path)


def stale_reason(files: list[str]) -> str:
    """The reason a stale point fails with: the file, why it matters, and the three ways out."""
    first = excerpt(files[0], 100)
    more = f" (and {len(files) - 1} more of the sweep's files)" if len(files) > 1 else ""
    return (
        f"stale build: the build has read {first}{more}, which this point changed, and wrote nothing in "
        "the checkout, so the command would run a program built for another point's values; rebuild "
        f"every point (make -B), make the target depend on {first} (in the Makefile), or give "
        "--clean-build (git clean -fdx before each build)"
    )


def touch(root: Path, files: Iterable[str]) -> None:
    """Give files a fresh modification time, as a move gives the files it writes: ``make`` and its
    kind then rebuild what depends on them (and open them, which the trace sees)."""
    for name in files:
        with contextlib.suppress(OSError):
            os.utime(root / name)


def _digests(root: Path, files: Iterable[str]) -> dict[str, str]:
    """What each of the sweep's files holds now (a file the point lacks is left out)."""
    found = {}
    for name in files:
        try:
            found[name] = hashlib.blake2b((root / name).read_bytes(), digest_size=16).hexdigest()
        except OSError:
            continue
    return found
