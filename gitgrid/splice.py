"""Bytes made from a base with holes: each point's file or tree, and its git delta against the base.

A rewritten file is its base with the value bytes replaced; a changed tree is its base tree with some
object ids replaced (and maybe entries inserted). Both are a :class:`Splice`: fixed pieces, each either
copied from the base or literal, separated by holes filled per point. Because the pieces are known in
advance, building the content and its delta (git's copy/insert instructions) is a ``join``; no diff is ever
computed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Splice", "varint"]

_MAX_INSERT = 127
_MAX_COPY = 0xFFFFFF  # a copy instruction moves at most 16 MiB - 1 with 3 size bytes


@functools.cache
def varint(n: int) -> bytes:
    """Little-endian base-128 size, as at the start of a git delta."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _insert(data: bytes) -> bytes:
    """Delta instructions that insert ``data`` literally."""
    if len(data) <= _MAX_INSERT:
        return bytes((len(data),)) + data if data else b""
    return b"".join(
        bytes((len(part),)) + part
        for part in (data[i : i + _MAX_INSERT] for i in range(0, len(data), _MAX_INSERT))
    )


def _copy(offset: int, size: int) -> bytes:
    """Delta instructions that copy ``size`` bytes of the base from ``offset``."""
    out = bytearray()
    while size > 0:
        step = min(size, _MAX_COPY)
        op, args = 0x80, bytearray()
        for i in range(4):
            if byte := (offset >> (8 * i)) & 0xFF:
                op |= 1 << i
                args.append(byte)
        for i in range(3):
            if byte := (step >> (8 * i)) & 0xFF:
                op |= 0x10 << i
                args.append(byte)
        out.append(op)
        out += args
        offset, size = offset + step, size - step
    return bytes(out)


Part = tuple[int, int] | bytes  # (offset, size) copied from the base, or literal bytes


@dataclass(frozen=True)
class Splice:
    """``pieces[0] + hole[0] + pieces[1] + ... + pieces[n]`` where each piece is fixed for every point."""

    base_size: int
    pieces: tuple[bytes, ...]
    instructions: tuple[bytes, ...]  # delta instructions producing each piece from the base

    @classmethod
    def of(cls, base: bytes, pieces: Sequence[Sequence[Part]]) -> Splice:
        """Build from pieces given as parts of ``base`` (offset, size) or literal bytes."""
        contents, instructions = [], []
        for parts in pieces:
            contents.append(b"".join(p if isinstance(p, bytes) else base[p[0] : p[0] + p[1]] for p in parts))
            instructions.append(b"".join(_insert(p) if isinstance(p, bytes) else _copy(*p) for p in parts))
        return cls(len(base), tuple(contents), tuple(instructions))

    @classmethod
    def holes(cls, base: bytes, spans: Sequence[tuple[int, int]]) -> Splice:
        """The base with each ``(start, end)`` span (sorted, disjoint) turned into a hole."""
        pieces: list[list[Part]] = []
        offset = 0
        for start, end in spans:
            pieces.append([(offset, start - offset)] if start > offset else [])
            offset = end
        pieces.append([(offset, len(base) - offset)] if len(base) > offset else [])
        return cls.of(base, pieces)

    def build(self, values: Sequence[bytes]) -> bytes:
        """The content with ``values`` in the holes."""
        pieces = self.pieces
        out = [pieces[0]]
        for i, value in enumerate(values, 1):
            out.append(value)
            out.append(pieces[i])
        return b"".join(out)

    def delta(self, values: Sequence[bytes], target_size: int) -> bytes:
        """A git delta that turns the base into :meth:`build` of ``values``."""
        instructions = self.instructions
        parts = [varint(self.base_size), varint(target_size), instructions[0]]
        for i, value in enumerate(values, 1):
            parts.append(bytes((len(value),)) + value if 0 < len(value) <= _MAX_INSERT else _insert(value))
            parts.append(instructions[i])
        return b"".join(parts)
