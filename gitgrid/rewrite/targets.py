"""Finding where a param's value stands in a file: ``target = value`` lines in any language.

A file is searched once per param with a few regular expressions (assignment, ``#define``, ``key: value``)
or the file's own ``pattern:``; on each matching line :mod:`gitgrid.rewrite.literals` finds the value, and
its literal becomes a hole of the file's :class:`~gitgrid.splice.Splice`. A value that is not one literal
(``13. * b2.Hz``) is an error unless the param's ``format:`` writes the whole expression or it says
``replace: expression``. Several assignments of one target are chosen among by :mod:`~gitgrid.rewrite.choice`.
Files are handled as bytes, so encodings, CRLF line endings, indentation, trailing ``;``, ``,``, ``)`` and
comments survive byte for byte.
"""

from __future__ import annotations

import re
import string
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from gitgrid.errors import GitgridWarning, RewriteError, excerpt
from gitgrid.rewrite.choice import choose, line_of
from gitgrid.rewrite.files import LineFile
from gitgrid.rewrite.literals import (
    Language,
    Scanned,
    Spelling,
    in_comment,
    is_constant,
    language_for,
    scan_value,
)
from gitgrid.rewrite.paths import TreeReader, read_file, resolve_path
from gitgrid.spec.model import FileSpec, ParamSpec, Spec
from gitgrid.splice import Splice

__all__ = ["commented_out", "plan_lines"]

# Comment markers by file extension: a value ends where a comment starts. Unknown extensions get all the
# common ones; a file's ``comment:`` key in the spec overrides the guess.
_HASH = ("#",)
_C = ("//", "/*")
_COMMENT_BY_SUFFIX: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ".py .pyx .sh .bash .zsh .yaml .yml .jl .r .toml .cfg .conf .txt .mk .cmake".split(), _HASH
    ),
    **dict.fromkeys(".pl .rb .nix".split(), _HASH),
    **dict.fromkeys(".c .h .cc .cpp .cxx .hpp .hh .cu .java .js .ts .go .rs .hoc .ses .scala".split(), _C),
    **dict.fromkeys(".f .f77 .f90 .f95 .f03 .f08 .for .ftn .nml".split(), ("!",)),
    **dict.fromkeys(".m .sli .tex".split(), ("%",)),
    ".ini": ("#", ";"),
    ".json": (),
}
_ANY_COMMENT = ("#", "//", "/*", "!", "%")


def plan_lines(file_spec: FileSpec, spec: Spec, tree: TreeReader) -> tuple[LineFile, list[str]]:
    """Cut the file into fixed bytes and holes for every param assigned in it; the params found."""
    path = resolve_path(file_spec.path, tree)
    mode, data = read_file(path, tree, file_spec.path)
    if data.startswith(_LFS_POINTERS):
        raise RewriteError(
            f"{path}: a Git LFS pointer, not the file's content (its content lives outside git): gitgrid "
            "cannot rewrite it; keep the file a param changes out of LFS"
        )
    view = _bom_as_spaces(data)  # the same offsets, so the holes cut the file with its BOM kept
    markers = file_spec.comment if file_spec.comment is not None else _markers_for(path)
    language = language_for(path, markers)
    holes: list[_Hole] = []
    used = []
    for position, param in enumerate(spec.params):
        if file_spec.pattern is not None:
            spans = _pattern_spans(view, param, file_spec.pattern)
            starts = choose(view, [start for start, _ in spans], param, path)
            holes.extend(_Hole(a, b, position, None) for a, b in spans if a in starts)
        else:
            starts = choose(view, _value_starts(view, param, markers, language), param, path)
            holes.extend(_hole(view, start, position, param, language, path) for start in starts)
        if starts:
            used.append(param.name)
    if not holes:
        warnings.warn(
            GitgridWarning(f"{path}: no param is assigned in this file; it is left as it is"),
            stacklevel=2,
        )
    return _cut(path, mode, data, sorted(holes), spec.params), used


_BOM = b"\xef\xbb\xbf"  # UTF-8's byte order mark, which some editors put before line 1
_LFS_POINTERS = (b"version https://git-lfs.github.com/spec/", b"version https://hawser.github.com/spec/")


def _bom_as_spaces(data: bytes) -> bytes:
    """``data`` with a leading byte order mark read as blanks, so that a target on line 1 is found."""
    return b"   " + data[3:] if data.startswith(_BOM) else data


@dataclass(frozen=True, order=True)
class _Hole:
    start: int
    end: int
    position: int  # the param's position in spec order
    spelling: Spelling | None = field(compare=False)


def _hole(data: bytes, start: int, position: int, param: ParamSpec, language: Language, path: str) -> _Hole:
    """The bytes one value replaces: the literal, or the whole expression when the spec says so."""
    value = scan_value(data, start, language)
    if value.literal:
        _warn_kind(data, value, param, path)
        return _Hole(value.start, value.end, position, value.spelling)
    if param.replace == "expression" or _writes_more_than_the_value(param.format):
        return _Hole(value.start, value.end, position, None)
    raise RewriteError(_not_a_literal(data, value, param, path, language))


def _writes_more_than_the_value(fmt: str | None) -> bool:
    """A format such as ``"{} * b2.Hz"`` writes the whole expression; ``"{:.2f}"`` only a number."""
    if fmt is None:
        return False
    return any(text.strip() for text, _, _, _ in string.Formatter().parse(fmt))


def _not_a_literal(data: bytes, value: Scanned, param: ParamSpec, path: str, language: Language) -> str:
    text = value.text(data).decode("utf-8", "replace")
    lead = language.literal.match(value.text(data))
    rest = value.text(data)[lead.end() :].decode("utf-8", "replace") if lead else ""
    example = f"{{}}{rest}" if lead and rest.strip() else "{} * unit"
    place = f"{path}:{line_of(data, value.start)}"
    return (
        f"{place}: param '{param.name}': '{excerpt(text)}' is not a single literal "
        "(an expression, a call, a unit product or a sequence) and gitgrid does not guess which part to "
        f'replace: write the whole expression with format: "{excerpt(example)}", or replace it by the bare '
        "value with 'replace: expression'"
    )


def _warn_kind(data: bytes, value: Scanned, param: ParamSpec, path: str) -> None:
    """A Fortran source's ``1.0d0``/``1.0_dp`` replaced by plain ``0.1`` becomes single precision: say so."""
    token = value.text(data).decode("utf-8", "replace")
    if param.format is not None or PurePosixPath(path).suffix.lower() not in _FORTRAN_SOURCE:
        return
    if not _KIND.search(token) or not any(isinstance(v, float) for v in param.axis[:2]):
        return
    warnings.warn(
        GitgridWarning(
            f"{path}:{line_of(data, value.start)}: param '{param.name}' replaces the double-precision "
            f"literal '{excerpt(token)}' by a plain float, which Fortran reads as a "
            "default (single-precision) real; give the kind with 'format:', e.g. '{}_8' or '{}_dp'"
        ),
        stacklevel=2,
    )


_FORTRAN_SOURCE = frozenset(".f .f77 .f90 .f95 .f03 .f08 .for .ftn".split())
_KIND = re.compile(r"[dDqQ][+-]?\d+|_\w+$")


def _cut(path: str, mode: str, data: bytes, holes: list[_Hole], params: Sequence[ParamSpec]) -> LineFile:
    offset = 0
    for hole in holes:
        if hole.start < offset:
            raise RewriteError(
                f"{path}:{line_of(data, hole.start)}: params overlap on this line "
                f"('{params[hole.position].name}' and another); give each a distinct 'target:'"
            )
        offset = hole.end
    splice = Splice.holes(data, [(hole.start, hole.end) for hole in holes])
    spelling = tuple(hole.spelling for hole in holes)
    return LineFile(
        path,
        mode,
        data,
        splice,
        tuple(hole.position for hole in holes),
        spelling if any(spelling) else (),
    )


def _value_starts(data: bytes, param: ParamSpec, markers: tuple[str, ...], language: Language) -> list[int]:
    """Where the value of ``param``'s target starts, one per line, first matching style wins.

    Besides the forms that start a line, a keyword argument or a declarator after ``(`` or ``,``
    (``run(n=2000, g=3.)``, ``int steps = 2, dt = 1;``, a namelist ``&p a=1, b=2 /``) is an assignment
    when its value is one literal: skipping it would leave a value in the code that the sweep does not
    record (#8). Passing a name through (``g=g``, ``alpha=None``) is not assigning a value, and is not
    counted; nor is anything in a comment.
    """
    by_line: dict[int, int] = {}
    for regex in _regexes(param.target, not param.explicit_target, markers):
        for match in regex.finditer(data):
            line_start = data.rfind(b"\n", 0, match.end()) + 1
            by_line.setdefault(line_start, match.end())
    for match in _inline(param.target, markers).finditer(data):
        line_start = data.rfind(b"\n", 0, match.start()) + 1
        if line_start in by_line or in_comment(data, line_start, match.start(), language):
            continue
        value = scan_value(data, match.end(), language)
        if value.literal and is_constant(value.text(data)):
            by_line[line_start] = match.end()
    return sorted(by_line.values())


def _inline(target: str, markers: tuple[str, ...]) -> re.Pattern[bytes]:
    """A keyword argument or declarator inside a line: after ``(`` or ``,``, up to where its value starts."""
    comment = b"|".join(re.escape(m.encode()) for m in markers) or rb"(?!)"
    name = re.escape(target).encode()
    return re.compile(
        rb"(?<=[(,])[ \t]*(?<![\w.])" + name + rb"[ \t]*=(?!=)[ \t]*(?=[^\s;,)])(?!" + comment + rb")"
    )


def _pattern_spans(data: bytes, param: ParamSpec, pattern: str) -> list[tuple[int, int]]:
    """The value spans of a file's own ``pattern:``, one per line: the user said exactly what the value is."""
    regex = re.compile(pattern.replace("{target}", re.escape(param.target)).encode(), re.MULTILINE)
    by_line: dict[int, tuple[int, int]] = {}
    for match in regex.finditer(data):
        line_start = data.rfind(b"\n", 0, match.start("value")) + 1
        by_line.setdefault(line_start, match.span("value"))
    return sorted(by_line.values())


def _regexes(target: str, implicit: bool, markers: tuple[str, ...]) -> list[re.Pattern[bytes]]:
    """The built-in forms, each matching up to where the value starts (:mod:`literals` finds its end)."""
    name = re.escape(target).encode()
    attr = rb"(?:[A-Za-z_]\w*\.)*" if implicit else b""
    comment = b"|".join(re.escape(m.encode()) for m in markers) or rb"(?!)"
    starts_value = rb"(?=[^\s;,])(?!" + comment + rb")"
    # declaration words before the target (``double``, ``real(8),``, ``std::size_t``, ``export``): a word may
    # hold one balanced (...) and end in a comma, so that ``f(a, x = 1)`` is a call, not a declaration
    word = rb"[A-Za-z_][\w:<>\[\]*&]*(?:\([^()\s]*\)[\w:<>\[\]*&]*)?,?"
    prefix = rb"(?:(?:" + word + rb"|::)[ \t]+)*(?:" + word + rb"[ \t]*[*&]+[ \t]*)?"  # also `char *name`
    annotation = rb"(?:[ \t]*::?[ \t]*[\w.\[\], |]+?)?"
    forms = [
        rb"^[ \t]*" + prefix + attr + name + annotation + rb"[ \t]*(?:=|:=|<-)(?!=)[ \t]*",
        rb"^[ \t]*\#[ \t]*define[ \t]+" + name + rb"[ \t]+",
        rb"^[ \t]*(?:-[ \t]+)?(?P<q>[\"']?)" + name + rb"(?P=q)[ \t]*:[ \t]+",
    ]
    return [re.compile(form + starts_value, re.MULTILINE) for form in forms]


def _markers_for(path: str) -> tuple[str, ...]:
    suffix = PurePosixPath(path).suffix.lower()
    return _COMMENT_BY_SUFFIX.get(suffix, _ANY_COMMENT)


def commented_out(file_spec: FileSpec, param: ParamSpec, tree: TreeReader) -> list[str]:
    """Where ``param``'s target is assigned on a line that is commented out (``# seed = 42``), for the
    error of a target found nowhere: a config often ships its keys commented out, and "not found" alone
    sends the user looking for a typo (#16). Each as ``path line N has it commented out: '...'``.

    A line counts when it starts with one of the file's comment markers and, with the markers taken
    off, is an assignment of the target in one of the forms (or the file's ``pattern:``) searched for.
    """
    path = resolve_path(file_spec.path, tree)
    data = read_file(path, tree, file_spec.path)[1]
    markers = file_spec.comment if file_spec.comment is not None else _markers_for(path)
    if file_spec.pattern is not None:
        forms = [re.compile(file_spec.pattern.replace("{target}", re.escape(param.target)).encode())]
    else:
        forms = _regexes(param.target, not param.explicit_target, markers)
    found = []
    for number, line in enumerate(data.splitlines(), start=1):
        rest = _uncommented(line, markers)
        if rest is not None and any(form.search(rest) for form in forms):
            shown = excerpt(line.strip().decode("utf-8", "replace"), 60)
            found.append(f"{path} line {number} has it commented out: '{shown}'")
    return found


def _uncommented(line: bytes, markers: tuple[str, ...]) -> bytes | None:
    """The text of a line that starts with a comment marker, with its markers taken off; None if it
    does not start with one."""
    text = line.lstrip(b" \t")
    opened = False
    while True:
        marker = next((m.encode() for m in markers if text.startswith(m.encode())), None)
        if marker is None:
            break
        opened = True
        text = text[len(marker) :].lstrip(b" \t*")  # '##', '// //', '/* ... */', '!!'
    return text.removesuffix(b"*/").rstrip() if opened else None
