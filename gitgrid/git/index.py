"""Rewriting a few entries of a checkout's git index in this process, as ``git update-index`` would.

A git process costs more than everything else of a point's move (#18): ``git update-index`` reads the
whole index, ~4 ms at 20,000 files even when the index is split. The mover (:mod:`gitgrid.git.move`)
only ever changes the entries of the sweep's files to another blob, with the stat data of the file it
just wrote, so :class:`IndexPatcher` writes those entries itself:

* a whole index (versions 2 and 3) is written again with those entries changed in place;
* a split index (``core.splitIndex``) gets a small ``index`` file again whose entries replace those of
  the shared index at the files' positions (the ``link`` extension's replace bitmap), as git writes it;
  the shared index is left alone.

It knows what git wrote last (a full checkout) and nothing else: an index version, flag or extension it
does not know (an untracked cache, an unmerged entry), a split index that deletes or adds entries, or a
file absent from the index: :meth:`IndexPatcher.of` returns None or :meth:`IndexPatcher.write` False, and the
caller asks git. The cache tree (``TREE``, git's cache of tree ids, optional) is left out, as git drops
an invalid one. Files are replaced through ``index.lock``, as git does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
from pathlib import Path

__all__ = ["IndexPatcher"]

_ENTRY = 62  # stat data (40 bytes), blob id (20), flags (2): the fixed part of an entry
_EMPTY_EWAH = struct.pack(">IIQI", 0, 1, 0, 0)  # an empty bitmap as git writes it: one empty marker word


class IndexPatcher:
    """The entries of ``files`` in one index, from where git left it."""

    def __init__(self, index: Path, version: int, head: bytes, where: dict[str, int], base: bytes | None):
        self.index = index
        self._version = version
        self._head = head  # a whole index: everything before the entries' end, patched in place
        self._where = where  # file -> offset of its entry (whole) or its position in the shared index
        self._base = base  # the shared index's id (a split index), else None
        self._replaced: dict[int, bytes] = {}  # position in the shared index -> entry (a split index)

    @classmethod
    def of(cls, index: Path, files: tuple[str, ...]) -> IndexPatcher | None:
        """A patcher of ``index`` (which git wrote last) for ``files``, or None where git must write it."""
        data = index.read_bytes()
        walked = _walk(data, files)
        if walked is None:
            return None
        version, count, where, end, link = walked
        if link is None:
            return cls(index, version, data[:end], {path: at for path, (_, at) in where.items()}, None)
        replaced = _replaced(data, count, link)
        shared = _walk((index.parent / f"sharedindex.{link[:20].hex()}").read_bytes(), files)
        if replaced is None or shared is None or shared[4] is not None or shared[0] != version:
            return None
        positions = {path: ordinal for path, (ordinal, _) in shared[2].items()}
        made = cls(index, version, b"", positions, link[:20])
        made._replaced = replaced
        return made

    def write(self, entries: dict[str, tuple[int, bytes, os.stat_result]]) -> bool:
        """Give each file its (mode, blob id, stat of the file written); False (nothing written) for a
        file this index does not have."""
        if any(path not in self._where for path in entries):
            return False
        fixed = {
            path: struct.pack(">10I", *(n & 0xFFFFFFFF for n in _stat(mode, info))) + oid
            for path, (mode, oid, info) in entries.items()
        }
        if self._base is None:
            patched = bytearray(self._head)
            for path, data in fixed.items():
                patched[self._where[path] : self._where[path] + 60] = data
            self._head = bytes(patched)
        else:
            for path, data in fixed.items():
                self._replaced[self._where[path]] = data + b"\0\0\0\0"  # no name, NUL-padded to 64 bytes
            patched = bytearray(struct.pack(">4sII", b"DIRC", self._version, len(self._replaced)))
            for position in sorted(self._replaced):
                patched += self._replaced[position]
            link = self._base + _EMPTY_EWAH + _ewah(sorted(self._replaced))
            patched += b"link" + struct.pack(">I", len(link)) + link
        patched += hashlib.sha1(patched, usedforsecurity=False).digest()
        _write_locked(self.index, bytes(patched))
        return True


def _stat(mode: int, info: os.stat_result) -> tuple[int, ...]:
    return (
        *divmod(info.st_ctime_ns, 1_000_000_000), *divmod(info.st_mtime_ns, 1_000_000_000),
        info.st_dev, info.st_ino, mode, info.st_uid, info.st_gid, info.st_size,
    )  # fmt: skip


def _walk(
    data: bytes, files: tuple[str, ...]
) -> tuple[int, int, dict[str, tuple[int, int]], int, bytes | None] | None:
    """An index's version, entry count, the position and offset of each of ``files`` it has, where its
    entries end, and its ``link`` extension (a split index); None for what this module does not write:
    another version, an extension other than the cache tree and the link, a flagged or unmerged entry of
    the files."""
    if len(data) < 32 or data[:4] != b"DIRC":
        return None
    version, count = struct.unpack(">II", data[4:12])
    if version not in (2, 3):
        return None
    wanted = {os.fsencode(f): f for f in files}
    found: dict[str, tuple[int, int]] = {}
    at = 12
    for ordinal in range(count):
        flags = struct.unpack(">H", data[at + 60 : at + 62])[0]
        start = at + _ENTRY + (2 if flags & 0x4000 else 0)
        name = data[start : data.index(b"\0", start)]
        if name in wanted:
            if flags & 0xF000:  # assume-valid, extended flags, a stage
                return None
            found[wanted[name]] = (ordinal, at)
        at += (start - at + len(name) + 8) & ~7  # NUL-padded to a multiple of 8, as git writes it
    link, end = None, at
    while at < len(data) - 20:
        signature, size = struct.unpack(">4sI", data[at : at + 8])
        if signature not in (b"TREE", b"link"):
            return None
        if signature == b"link":
            link = data[at + 8 : at + 8 + size]
        at += 8 + size
    if at != len(data) - 20:
        return None
    return version, count, found, end, link


def _replaced(data: bytes, count: int, link: bytes) -> dict[int, bytes] | None:
    """The entries a split index replaces in the shared one (git keeps there those it wrote within the
    same second as their files, to look at them again), by position; None when it also deletes or adds
    entries, or is not what git writes."""
    if len(link) < 40 or link[20:40] != _EMPTY_EWAH:  # no deletion
        return None
    bits = _bits(link[40:])
    if bits is None or len(bits) != count:  # an entry more: added, which only git places
        return None
    found, at = {}, 12
    for bit in bits:
        entry = data[at : at + 64]
        if len(entry) != 64 or entry[60:] != bytes(4):  # no flag, no name: a replacement as git writes it
            return None
        found[bit] = entry
        at += 64
    return found


def _bits(ewah: bytes) -> list[int] | None:
    """The positions set in one EWAH bitmap taking all of ``ewah``; None if it is not one."""
    if len(ewah) < 12:
        return None
    size, length = struct.unpack(">II", ewah[:8])
    if len(ewah) != 12 + 8 * length:
        return None
    words = struct.unpack(f">{length}Q", ewah[8 : 8 + 8 * length])
    bits: list[int] = []
    i = word = 0
    while i < length:
        marker = words[i]
        run, literals = (marker >> 1) & 0xFFFFFFFF, marker >> 33
        if marker & 1:
            bits += range(word * 64, min((word + run) * 64, size))
        word += run
        for literal in words[i + 1 : i + 1 + literals]:
            bits += [word * 64 + n for n in range(64) if literal >> n & 1]
            word += 1
        i += 1 + literals
    return bits


def _ewah(bits: list[int]) -> bytes:
    """Git's EWAH bitmap of sorted positions: for each 64-bit word holding some, a marker word (the
    count of empty words before it, one literal word after) and the literal word."""
    words: dict[int, int] = {}
    for bit in bits:
        words[bit // 64] = words.get(bit // 64, 0) | 1 << (bit % 64)
    buffer: list[int] = []
    last = marker = 0
    for word in sorted(words):
        marker = len(buffer)
        buffer += [(word - last) << 1 | 1 << 33, words[word]]
        last = word + 1
    if not buffer:
        return _EMPTY_EWAH
    size = bits[-1] + 1
    return struct.pack(f">II{len(buffer)}QI", size, len(buffer), *buffer, marker)


def _write_locked(path: Path, data: bytes) -> None:
    """Replace a git file the way git does: write ``<name>.lock`` (which must not exist), rename it."""
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        lock.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            lock.unlink()
        raise
