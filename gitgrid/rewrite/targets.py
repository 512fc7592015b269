"""Finding where a param's value stands in a file: ``target = value`` lines in any language.

A file is searched once per param with a few regular expressions (assignment, ``#define``, ``key: value``)
or the file's own ``pattern:``; the value's span on each matching line becomes a hole of the file's
:class:`~gitgrid.splice.Splice`. Files are handled as bytes, so encodings, CRLF line endings, indentation,
trailing ``;`` and comments survive byte for byte.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import PurePosixPath

from gitgrid.errors import GitgridWarning, RewriteError
from gitgrid.rewrite.files import LineFile
from gitgrid.rewrite.paths import TreeReader, read_file, resolve_path
from gitgrid.spec.model import FileSpec, ParamSpec, Spec
from gitgrid.splice import Splice

__all__ = ["plan_lines"]

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
    **dict.fromkeys(".f .f77 .f90 .f95 .f03 .f08 .for .ftn".split(), ("!",)),
    **dict.fromkeys(".m .sli .tex".split(), ("%",)),
    ".ini": ("#", ";"),
    ".json": (),
}
_ANY_COMMENT = ("#", "//", "/*", "!", "%")


def plan_lines(file_spec: FileSpec, spec: Spec, tree: TreeReader) -> tuple[LineFile, list[str]]:
    """Cut the file into fixed bytes and holes for every param assigned in it; the params found."""
    path = resolve_path(file_spec.path, tree)
    mode, data = read_file(path, tree, file_spec.path)
    markers = file_spec.comment if file_spec.comment is not None else _markers_for(path)
    spans: list[tuple[int, int, int]] = []
    used = []
    for position, param in enumerate(spec.params):
        matches = _find_target(data, param, file_spec.pattern, markers)
        if len(matches) > 1 and not param.all:
            lines = ", ".join(str(_line_of(data, start)) for start, _ in matches)
            raise RewriteError(
                f"{path}: target '{param.target}' of param '{param.name}' is assigned "
                f"{len(matches)} times (lines {lines}); give a more specific 'target:', "
                "or 'all: true' to rewrite every one"
            )
        spans.extend((start, end, position) for start, end in matches)
        if matches:
            used.append(param.name)
    if not spans:
        warnings.warn(
            GitgridWarning(f"{path}: no param is assigned in this file; it is left as it is"),
            stacklevel=2,
        )
    return _cut(path, mode, data, sorted(spans), spec.params), used


def _cut(
    path: str, mode: str, data: bytes, spans: list[tuple[int, int, int]], params: Sequence[ParamSpec]
) -> LineFile:
    offset = 0
    for start, end, position in spans:
        if start < offset:
            raise RewriteError(
                f"{path}:{_line_of(data, start)}: params overlap on this line "
                f"('{params[position].name}' and another); give each a distinct 'target:'"
            )
        offset = end
    splice = Splice.holes(data, [(start, end) for start, end, _ in spans])
    return LineFile(path, mode, data, splice, tuple(position for _, _, position in spans))


def _find_target(
    data: bytes, param: ParamSpec, pattern: str | None, markers: tuple[str, ...]
) -> list[tuple[int, int]]:
    """Value spans of ``param``'s target in ``data``, one per line, first matching style wins."""
    by_line: dict[int, tuple[int, int]] = {}
    for regex in _regexes(param.target, not param.explicit_target, pattern, markers):
        for match in regex.finditer(data):
            line_start = data.rfind(b"\n", 0, match.start("value")) + 1
            by_line.setdefault(line_start, match.span("value"))
    return sorted(by_line.values())


def _regexes(
    target: str, implicit: bool, pattern: str | None, markers: tuple[str, ...]
) -> list[re.Pattern[bytes]]:
    if pattern is not None:
        return [re.compile(pattern.replace("{target}", re.escape(target)).encode(), re.MULTILINE)]
    name = re.escape(target).encode()
    attr = rb"(?:[A-Za-z_]\w*\.)*" if implicit else b""
    comment = b"|".join(re.escape(m.encode()) for m in markers) or rb"(?!)"
    value = rb"""(?P<value>"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*'|[^\s;,](?:[^\r\n]*?[^\s;,])??)"""
    tail = rb"[ \t]*[;,:]?(?:[ \t]*(?:" + comment + rb").*?)?\r?$"
    # declaration words before the target (``double``, ``real(8),``, ``std::size_t``, ``export``): a word may
    # hold one balanced (...) and end in a comma, so that ``f(a, x = 1)`` is a call, not a declaration
    word = rb"[A-Za-z_][\w:<>\[\]*&]*(?:\([^()\s]*\)[\w:<>\[\]*&]*)?,?"
    prefix = rb"(?:(?:" + word + rb"|::)[ \t]+)*"
    annotation = rb"(?:[ \t]*::?[ \t]*[\w.\[\], |]+?)?"
    forms = [
        rb"^[ \t]*" + prefix + attr + name + annotation + rb"[ \t]*(?:=|:=|<-)(?!=)[ \t]*",
        rb"^[ \t]*\#[ \t]*define[ \t]+" + name + rb"[ \t]+",
        rb"^[ \t]*(?:-[ \t]+)?(?P<q>[\"']?)" + name + rb"(?P=q)[ \t]*:[ \t]+",
    ]
    return [re.compile(form + value + tail, re.MULTILINE) for form in forms]


def _markers_for(path: str) -> tuple[str, ...]:
    suffix = PurePosixPath(path).suffix.lower()
    return _COMMENT_BY_SUFFIX.get(suffix, _ANY_COMMENT)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
