"""Moving a checkout between points by exactly the files the sweep rewrites.

The points of a sweep differ from each other only in the files the sweep rewrites, known in advance.
``git checkout`` does not know that: it stats every tracked file (a 20,000-file repository costs it ~30 ms
per point). :class:`Mover` writes just those files instead, then updates the index for them alone
and HEAD, so the checkout's ``git status`` stays truthful: HEAD, index and files agree. The files' index
entries are written in this process (:mod:`gitgrid.git.index`, as ``git update-index`` writes them; in a
split index from :data:`SPLIT_FROM` files, so that only a small file is rewritten): a git process a
point cost more than the rest of a move (#18). ``git update-index`` remains for what that module does
not write (a file added or removed, an index with an untracked cache).

It trusts nothing it has not checked: the target commit's trees are read (one persistent
``git cat-file --batch``) and compared with the current ones along the paths of those files; any other
difference, a file that is not a regular file, a ``.gitattributes`` filter or end-of-line conversion on
those files, an index or HEAD changed behind its back, or any error, makes :meth:`Mover.move` return
False and the caller does a full ``git checkout``. Files are written through directory descriptors
opened without following symlinks, with a fresh nanosecond mtime (later than any build product made
before, so ``make`` rebuilds what they feed). What the command may have changed in the other tracked
files is the caller's to know (:mod:`gitgrid.run.watch`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gitgrid.git.checkout import checkout_git_dir
from gitgrid.git.index import IndexPatcher
from gitgrid.git.repository import run_git

__all__ = ["SPLIT_FROM", "Mover", "tracked_files"]

_REGULAR = {b"100644": 0o666, b"100755": 0o777}
_ATTRIBUTES = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")
# A split index: each update rewrites a small file, not the whole index (update-index 9 ms -> 1.5 ms at
# 20,000 files, measured). After each full checkout the index is split afresh (a full checkout leaves
# most entries in the split part); shared index files it replaced are removed at once (the checkout is
# gitgrid's: nobody else keeps reading an old one), so they never pile up in the git dir.
_SPLIT_INDEX = ("-c", "core.splitIndex=true", "-c", "splitIndex.sharedIndexExpire=now")
SPLIT_FROM = 5_000  # tracked files from which the index is split (below, a whole index is as quick)


@dataclass(frozen=True)
class _Tree:
    """What matters of one folder on the files' paths: its id, and its entries other than those paths."""

    oid: bytes
    others: tuple[tuple[bytes, bytes, bytes], ...]  # (mode, name, id) of every entry not on a path


@dataclass(frozen=True)
class _Layout:
    """A folder's tree as last read: its bytes, where each entry on the paths has its id, its others."""

    raw: bytes
    slots: dict[bytes, tuple[bytes, int]]  # name on a path -> (mode, offset of its 20-byte id in raw)
    others: tuple[tuple[bytes, bytes, bytes], ...]

    def same_but_ids(self, raw: bytes) -> bool:
        """True when ``raw`` (of the same length) equals this tree's bytes outside the ids on paths."""
        start = 0
        for at in sorted(at for _, at in self.slots.values()):
            if raw[start:at] != self.raw[start:at]:
                return False
            start = at + 20
        return raw[start:] == self.raw[start:]


@dataclass(frozen=True)
class _State:
    commit: str
    trees: dict[str, _Tree]  # folder ("" for the top) -> tree, for every folder on the files' paths
    files: dict[str, tuple[bytes, bytes] | None]  # file -> (mode, blob id), None when absent


class Mover:
    """Moves one checkout between commits that differ only in ``files`` (paths in the repository)."""

    def __init__(self, worktree: Path, files: tuple[str, ...]) -> None:
        self.worktree = worktree
        self.files = tuple(f for f in dict.fromkeys(files) if _safe(f))
        self.usable = bool(self.files) and len(self.files) == len(set(files))
        folders = {""}
        for path in self.files:  # every folder on the way down to each file
            parts = path.split("/")[:-1]
            folders.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
        self._folders = sorted(folders, key=lambda f: (f.count("/") + (f != ""), f))  # parents first
        self._on_paths = {f: _children(f, (*self.files, *folders)) for f in folders}
        self._cat: subprocess.Popen[bytes] | None = None
        self._at: _State | None = None
        self._git_dir: Path | None = None
        self._index_stat: tuple[int, int, int] | None = None
        self._split: tuple[str, ...] = ()
        self._patcher: IndexPatcher | Literal[False] | None = None  # False: git writes the index
        self._layouts: dict[str, _Layout] = {}  # folder -> its tree as last read (:meth:`_read_tree`)

    def adopt(self, commit: str, tracked: int = 0) -> bool:
        """After a full checkout of ``commit`` (``tracked`` files): learn its state; False if moves
        cannot be made here."""
        self._at = None
        if not self.usable:
            return False
        try:
            self._git_dir = checkout_git_dir(self.worktree)
            if self._git_dir is None or not self._plain_files():
                self.usable = False
                return False
            self._split = _SPLIT_INDEX if tracked >= SPLIT_FROM else ()
            if self._split:
                _quiet_git(self.worktree, [*self._split, "update-index", "--split-index"])  # best effort
            self._at = self._state(commit)
            self._patcher = None
            self._index_stat = _stat(self._git_dir / "index")
        except (OSError, ValueError):
            self._at = None
        return self._at is not None

    def move(self, commit: str, rewrite: Iterable[str] = ()) -> bool:
        """Move to ``commit`` by the files alone, rewriting also those of ``rewrite`` (edited since they
        were written); False when that cannot be done safely, and the caller must check out ``commit``
        fully."""
        at, git_dir = self._at, self._git_dir
        self._at = None  # until this move succeeds, the state is unknown
        if at is None or git_dir is None:
            return False
        try:
            if (
                _read(git_dir / "HEAD") != f"{at.commit}\n".encode()
                or _stat(git_dir / "index") != self._index_stat
            ):
                return False  # the command moved HEAD or changed the index
            target = self._state(commit)
            changed = self._changed(at, target)
            if changed is None:
                return False
            changed += [path for path in self.files if path in set(rewrite) and path not in changed]
            self._write(changed, target)
            self._set_head(git_dir, commit)
            self._index_stat = _stat(git_dir / "index")
        except (OSError, ValueError):
            return False
        self._at = target
        return True

    def close(self) -> None:
        if self._cat is not None:
            with contextlib.suppress(OSError):
                assert self._cat.stdin is not None
                self._cat.stdin.close()
            self._cat.wait()
            self._cat = None

    # comparing ------------------------------------------------------------------------------------------
    def _state(self, commit: str) -> _State:
        """The commit's folders on the files' paths and the files' entries, in one round trip."""
        names = [f"{commit}:{folder}" if folder else f"{commit}^{{tree}}" for folder in self._folders]
        trees: dict[str, _Tree] = {}
        entries: dict[str, dict[bytes, tuple[bytes, bytes]]] = {}
        for folder, (oid, kind, raw) in zip(self._folders, self._objects(names), strict=True):
            if kind != b"tree":
                raise ValueError(f"{folder or 'the top'} is not a folder in {commit}")
            trees[folder], entries[folder] = self._read_tree(folder, oid, raw)
        files = {}
        for path in self.files:
            parent, _, name = path.rpartition("/")
            files[path] = entries[parent].get(name.encode())
        return _State(commit, trees, files)

    def _read_tree(
        self, folder: str, oid: bytes, raw: bytes
    ) -> tuple[_Tree, dict[bytes, tuple[bytes, bytes]]]:
        """A folder's :class:`_Tree` and its entries on the files' paths (name -> mode and id).

        Points' folders differ in the ids of the entries on the paths alone: when ``raw`` is byte for
        byte the folder read last but for those ids (the same bytes everywhere else), it is parsed as
        that one was, so its others are the same; only the ids are read, at their offsets. A folder of
        200 entries cost ~0.3 ms of parsing a point (#18, at 20,000 files); comparing bytes costs ~2 us.
        """
        last = self._layouts.get(folder)
        if last is not None and len(raw) == len(last.raw) and last.same_but_ids(raw):
            on_paths = {name: (mode, raw[at : at + 20]) for name, (mode, at) in last.slots.items()}
            return _Tree(oid, last.others), on_paths
        listed = _parse_tree(raw)
        wanted = self._on_paths[folder]
        slots, at = {}, 0
        for mode, name, _ in listed:
            at += len(mode) + len(name) + 2  # "<mode> <name>\0", then the 20-byte id
            if name in wanted:
                slots[name] = (mode, at)
            at += 20
        layout = _Layout(raw, slots, tuple(e for e in listed if e[1] not in wanted))
        self._layouts[folder] = layout
        return _Tree(oid, layout.others), {name: (mode, sha) for mode, name, sha in listed}

    def _changed(self, at: _State, target: _State) -> list[str] | None:
        """The files to write, or None when the commits differ elsewhere too."""
        for folder, tree in target.trees.items():
            current = at.trees[folder]
            if tree.oid != current.oid and tree.others != current.others:
                return None
        for entry in target.files.values():
            if entry is not None and entry[0] not in _REGULAR:
                return None  # a link or a submodule: git knows how to write those
        return [path for path in self.files if target.files[path] != at.files[path]]

    # writing ------------------------------------------------------------------------------------------
    def _write(self, changed: list[str], target: _State) -> None:
        for path in changed:
            entry = target.files[path]
            data = None
            if entry is not None:
                _, kind, data = self._objects([entry[1].hex()])[0]
                if kind != b"blob":
                    raise ValueError(f"{path} is not a file")
            _replace(self.worktree, path, data, _REGULAR[entry[0]] if entry else 0)
        if not changed or self._patched(changed, target):
            return
        self._patcher = False  # git rewrites the index: its entries are git's until the next full checkout
        update = [*self._split, "update-index", "-q", "--add", "--remove", "--", *changed]
        if _quiet_git(self.worktree, update):
            raise ValueError("git update-index failed")

    def _patched(self, changed: list[str], target: _State) -> bool:
        """Write the changed files' index entries in this process (:mod:`gitgrid.git.index`); False
        (nothing written) where only git can."""
        if self._patcher is None and self._git_dir is not None:
            self._patcher = IndexPatcher.of(self._git_dir / "index", self.files) or False
        if not self._patcher or any(target.files[path] is None for path in changed):
            return False
        entries = {}
        for path in changed:
            mode, oid = target.files[path] or (b"", b"")
            entries[path] = (int(mode, 8), oid, os.lstat(self.worktree / path))
        return self._patcher.write(entries)

    @staticmethod
    def _set_head(git_dir: Path, commit: str) -> None:
        """Detach HEAD at ``commit`` the way git does: through ``HEAD.lock``, renamed over ``HEAD``."""
        lock = git_dir / "HEAD.lock"
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            os.write(fd, f"{commit}\n".encode())
        finally:
            os.close(fd)
        lock.replace(git_dir / "HEAD")

    def _plain_files(self) -> bool:
        """True when git writes the files byte for byte (no filter, no end-of-line conversion)."""
        autocrlf = run_git(["config", "--get", "core.autocrlf"], self.worktree).stdout.strip().lower()
        if autocrlf in ("true", "input", "yes", "on", "1"):
            return False
        result = run_git(["check-attr", "-z", *_ATTRIBUTES, "--", *self.files], self.worktree)
        values = result.stdout.split("\0")[2::3]
        return result.returncode == 0 and all(v == "unspecified" for v in values)

    def _objects(self, names: list[str]) -> list[tuple[bytes, bytes, bytes]]:
        """Id, type and content of objects, asked of the persistent ``git cat-file --batch`` at once."""
        if self._cat is None:
            self._cat = subprocess.Popen(
                ["git", "cat-file", "--batch"], cwd=self.worktree, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, process_group=0,
            )  # fmt: skip
        assert self._cat.stdin is not None and self._cat.stdout is not None
        self._cat.stdin.write("".join(f"{name}\n" for name in names).encode())  # a few hundred bytes
        self._cat.stdin.flush()
        found = []
        for name in names:
            header = self._cat.stdout.readline().split()
            if len(header) != 3:
                raise ValueError(f"object {name} is missing")
            size = int(header[2])
            found.append((header[0], header[1], self._cat.stdout.read(size + 1)[:size]))
        return found


def _quiet_git(worktree: Path, args: list[str]) -> int:
    """Exit status of one git call whose output nobody reads (no pipes: this runs once per point)."""
    return subprocess.call(
        ["git", *args], cwd=worktree, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, process_group=0,
    )  # fmt: skip


def tracked_files(worktree: Path) -> list[str]:
    """Every path the checkout's index tracks."""
    result = subprocess.run(
        ["git", "ls-files", "-z"], cwd=worktree, capture_output=True, check=False, process_group=0
    )
    if result.returncode != 0:
        raise OSError(f"git ls-files failed in {worktree}")
    return [os.fsdecode(p) for p in result.stdout.split(b"\0") if p]


def _children(folder: str, paths: tuple[str, ...]) -> set[bytes]:
    """Names, in ``folder``, of the entries on the way to ``paths``."""
    prefix = f"{folder}/" if folder else ""
    return {p[len(prefix) :].split("/")[0].encode() for p in paths if p.startswith(prefix) and p != folder}


def _safe(path: str) -> bool:
    """A path inside the repository, as git writes it: no empty, ``.`` or ``..`` part, nothing in .git."""
    parts = path.split("/")
    return (
        all(p not in ("", ".", "..") and p.lower().rstrip(". ") != ".git" for p in parts) and "\0" not in path
    )


def _parse_tree(raw: bytes) -> list[tuple[bytes, bytes, bytes]]:
    entries, at = [], 0
    while at < len(raw):
        space = raw.index(b" ", at)
        nul = raw.index(b"\0", space)
        entries.append((raw[at:space], raw[space + 1 : nul], raw[nul + 1 : nul + 21]))
        at = nul + 21
    return entries


def _read(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(4096)


def _stat(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_ino, info.st_size, info.st_mtime_ns


def _replace(worktree: Path, path: str, data: bytes | None, mode: int) -> None:
    """Write (or, with ``data`` None, remove) ``path`` under ``worktree``, never through a symlink: each
    folder is opened without following links. A new file (new inode, fresh nanosecond mtime), as git's
    own checkout makes one."""
    *folders, name = path.split("/")
    fd = os.open(worktree, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for folder in folders:
            inner = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = inner
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=fd)
        if data is None:
            return
        out = os.open(
            name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd
        )
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
        finally:
            os.close(out)
        now = time.time_ns()
        os.utime(name, ns=(now, now), dir_fd=fd, follow_symlinks=False)
    finally:
        os.close(fd)
