"""What a value is on an assignment line: where the assigned expression ends, whether it is one literal,
and how a string is written back into a quoted literal.

The value of ``n=2000, g=3.)`` is the token ``2000``, of ``POISSON_INPUT_RATE = 13. * b2.Hz`` the
expression ``13. * b2.Hz``; only a single literal (a number in any spelling, a quoted string, a word such
as ``True`` or ``.true.``) is replaced by default, and everything around it stays byte for byte (#8). The
expression's end is found by a small scanner that knows quotes, brackets and comments, so a call site's
``,``, ``)`` and ``):`` are never taken for part of the value.

A string written where a quoted literal stood keeps its quotes, escaped as that quote requires in that
language; a bool written where a bool literal stood is spelled as the file spells bools (``true``,
``True``, ``.TRUE.``). That is the :class:`Spelling` of the literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = [
    "Language",
    "Quoting",
    "Scanned",
    "Spelling",
    "in_comment",
    "is_constant",
    "language_for",
    "scan_value",
]

_NUMBER = (
    rb"[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+"
    rb"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eEdDqQfF][+-]?\d+)?)"
    rb"(?:_\w+|[fFlLuUjJ]{1,3})?"
)
_STRING = rb"\"(?:[^\"\\\r\n]|\\.|\"\")*\"|'(?:[^'\\\r\n]|\\.|'')*'"
_WORD = rb"[A-Za-z_]\w*|[+-]?(?i:inf|infinity|nan)|\.(?i:true|false|t|f)\.(?:_\w+)?"
_CODE = re.compile(rb"(?:" + _NUMBER + rb"|" + _STRING + rb"|" + _WORD + rb")")
# A value written out (a number, a quoted string, a bool, inf or nan), as opposed to a name passed on
_CONSTANT = re.compile(
    rb"(?:" + _NUMBER + rb"|" + _STRING + rb"|[+-]?(?i:inf|infinity|nan)|(?i:true|false)"
    rb"|\.(?i:true|false|t|f)\.(?:_\w+)?)"
)
_SHELL = re.compile(rb"(?:" + _STRING + rb"|[^\s'\"`$;&|<>()\\]+)")
_DATA = re.compile(rb"(?:" + _STRING + rb"|(?![\[{&*!|>@`])[^\[\]{}\r\n]+)")
_PARENTHESISED = re.compile(rb"\([ \t]*([^()]*?)[ \t]*\)")
_DOUBLE_QUOTE_SUFFIXES = frozenset(".f .f77 .f90 .f95 .f03 .f08 .for .ftn .nml .m".split())
_DATA_SUFFIXES = frozenset(".yaml .yml .ini .cfg .conf .properties".split())
_SHELL_SUFFIXES = frozenset(".sh .bash .zsh .env".split())
# After a top-level ',' the value has ended when what follows is nothing, a comment, a closing bracket, or
# the next assignment (``n=2000, g=3.)``, ``int a = 1, b = 2;``); otherwise the ',' continues the value,
# which is then a sequence (``x = 1, 2``), not one literal.
_NEXT_ASSIGNMENT = re.compile(rb"(?:[)\]}]|(?:[A-Za-z_][\w.]*|\"[^\"\r\n]*\"|'[^'\r\n]*')[ \t]*(?::|=(?!=)))")


@dataclass(frozen=True)
class Quoting:
    """How a string is written between the quotes of a quoted literal: its quote character and escapes."""

    quote: str
    doubled: bool  # the quote is escaped by doubling it (Fortran, MATLAB, YAML '...'), else by a backslash
    also: str = ""  # characters that need a backslash too inside this quote ($ in shell and Julia)

    def write(self, text: str) -> str:
        if self.doubled:
            return self.quote + text.replace(self.quote, self.quote * 2) + self.quote
        if self.quote == "'" and self.also == "'":  # shell: no escape inside '...'; close, escape, reopen
            return "'" + text.replace("'", "'\\''") + "'"
        escaped = text.replace("\\", "\\\\").replace(self.quote, "\\" + self.quote).replace("\t", "\\t")
        for char in self.also:
            escaped = escaped.replace(char, "\\" + char)
        return self.quote + escaped + self.quote


@dataclass(frozen=True)
class Spelling:
    """How the replaced literal spells its kind of value: a quoted string's quotes, or the file's bools."""

    quoting: Quoting | None = None
    bools: tuple[str, str] | None = None  # (true, false) as this literal's family writes them

    def write(self, value: object) -> str | None:
        """The text of ``value`` in this spelling, or None when the value is not of the literal's kind."""
        if isinstance(value, bool):
            return None if self.bools is None else self.bools[0 if value else 1]
        if isinstance(value, str) and self.quoting is not None:
            return self.quoting.write(value)
        return None


_BOOL_WORD = re.compile(rb"(\.?)(true|false|t|f)(\.?)", re.IGNORECASE)


def _bool_spelling(token: bytes) -> tuple[str, str] | None:
    """``(true, false)`` in the family of a bool literal (``false`` -> true/false, ``.F.`` -> .T./.F.)."""
    match = _BOOL_WORD.fullmatch(token)
    if (
        match is None
        or (match.group(1) != match.group(3))
        or (len(match.group(2)) == 1 and not match.group(1))
    ):
        return None
    dot, word = match.group(1).decode(), match.group(2).decode()
    pair = ("t", "f") if len(word) == 1 else ("true", "false")
    if word.isupper():
        pair = (pair[0].upper(), pair[1].upper())
    elif word[0].isupper():
        pair = (pair[0].capitalize(), pair[1].capitalize())
    return dot + pair[0] + dot, dot + pair[1] + dot


@dataclass(frozen=True)
class Language:
    """How values are spelled in one file: what counts as one literal, and how quotes are escaped."""

    literal: re.Pattern[bytes]
    markers: tuple[bytes, ...]
    quotings: dict[str, Quoting]


@dataclass(frozen=True)
class Scanned:
    """The value standing at an assignment: ``data[start:end]``; ``literal`` when it is one literal."""

    start: int
    end: int
    literal: bool
    spelling: Spelling | None  # for a quoted string or a bool literal: how to write a value of its kind

    def text(self, data: bytes) -> bytes:
        return data[self.start : self.end]


def language_for(path: str, markers: tuple[str, ...]) -> Language:
    """The spelling rules of ``path``, by its extension; ``markers`` start comments."""
    suffix = PurePosixPath(path).suffix.lower()
    encoded = tuple(m.encode() for m in markers)
    if suffix in _DOUBLE_QUOTE_SUFFIXES:
        return Language(_CODE, encoded, {q: Quoting(q, doubled=True) for q in "\"'"})
    if suffix in _DATA_SUFFIXES:
        return Language(_DATA, encoded, {'"': Quoting('"', False), "'": Quoting("'", doubled=True)})
    if suffix in _SHELL_SUFFIXES:
        return Language(_SHELL, encoded, {'"': Quoting('"', False, "$`"), "'": Quoting("'", False, "'")})
    also = "$" if suffix == ".jl" else ""
    return Language(_CODE, encoded, {q: Quoting(q, False, also) for q in "\"'"})


def scan_value(data: bytes, start: int, language: Language) -> Scanned:
    """The value that starts at ``start``: up to a top-level ``,`` or ``;`` that ends it, a bracket it did
    not open, a trailing ``:``, a comment or the end of the line; trailing blanks excluded."""
    line_end = data.find(b"\n", start)
    line_end = len(data) if line_end < 0 else line_end
    end = _value_end(data, start, line_end, language.markers)
    while end > start and data[end - 1 : end] in (b" ", b"\t", b"\r"):
        end -= 1
    inner = _PARENTHESISED.fullmatch(data, start, end)
    if inner is not None and language.literal.fullmatch(inner.group(1)):  # `#define DT (0.1)`: the 0.1
        start, end = inner.span(1)
    token = data[start:end]
    literal = language.literal.fullmatch(token) is not None
    spelling = None
    if literal and token[:1] in (b'"', b"'"):
        spelling = Spelling(quoting=language.quotings.get(chr(token[0])))
    elif literal and (bools := _bool_spelling(token)) is not None:
        spelling = Spelling(bools=bools)
    return Scanned(start, end, literal, spelling)


def _value_end(data: bytes, i: int, line_end: int, markers: tuple[bytes, ...]) -> int:
    depth = 0
    while i < line_end:
        char = data[i : i + 1]
        if char in (b'"', b"'"):
            i = _string_end(data, i, line_end)
            continue
        if any(data.startswith(marker, i) for marker in markers):
            return i
        if char in b"([{":
            depth += 1
        elif char in b")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and (char == b";" or _ends_value(data, i + 1, line_end, char, markers)):
            return i
        i += 1
    return line_end


def is_constant(token: bytes) -> bool:
    """Whether ``token`` writes a value out (``3.``, ``"hot"``, ``.true.``), not a name (``g``)."""
    return _CONSTANT.fullmatch(token) is not None


def in_comment(data: bytes, line_start: int, at: int, language: Language) -> bool:
    """Whether ``at`` lies in a comment: one starts on its line before it, outside quotes."""
    i = line_start
    while i < at:
        if data[i : i + 1] in (b'"', b"'"):
            i = _string_end(data, i, at)
            continue
        if any(data.startswith(marker, i) for marker in language.markers):
            return True
        i += 1
    return False


def _string_end(data: bytes, i: int, line_end: int) -> int:
    quote = data[i]
    i += 1
    while i < line_end:
        if data[i] == 0x5C:  # backslash
            i += 2
            continue
        if data[i] == quote:
            if data[i + 1 : i + 2] == bytes([quote]):
                i += 2  # a doubled quote (Fortran, YAML '...'): still inside
                continue
            return i + 1
        i += 1
    return line_end


def _ends_value(data: bytes, i: int, line_end: int, char: bytes, markers: tuple[bytes, ...]) -> bool:
    """Whether a top-level ``,`` or ``:`` at ``i - 1`` ends the value.

    Either ends it when only blanks or a comment follow (``N=2000,``, ``if x := 1:``); a ``,`` also
    when the next assignment or a closing bracket follows (``n=2000, g=3.)``). Otherwise the character
    belongs to the value (``x = 1, 2``, ``1:00:00``), which is then not one literal.
    """
    if char not in (b",", b":"):
        return False
    rest = data[i:line_end].lstrip(b" \t")
    if not rest.strip() or any(rest.startswith(marker) for marker in markers):
        return True
    return char == b"," and _NEXT_ASSIGNMENT.match(rest) is not None
