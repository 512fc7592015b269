"""Rewriting files for a point: ``target = value`` lines substituted in place, or Jinja templates rendered.

Everything is planned once, against the base commit, before any point is written: each rewritten file is cut
into the bytes that never change and the slots where a value goes, so writing a point is a ``join``. Files
are handled as bytes, so encodings, CRLF line endings, indentation, trailing ``;`` and comments survive byte
for byte. A target that matches nowhere, or more than once in a file, stops the plan with the file, the
target and the line numbers.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from gitgrid.errors import GitgridWarning, RewriteError
from gitgrid.paths import TreeReader, read_file, resolve_path
from gitgrid.spec import FileSpec, ParamSpec, Spec
from gitgrid.splice import Splice
from gitgrid.values import Value, format_value

__all__ = ["LineFile", "PlannedFile", "Rendered", "Rewriter", "plan_rewrites"]

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


@dataclass(frozen=True)
class PlannedFile:
    """A file written into every point's commit."""

    path: str
    mode: str

    def render_context(self, context: Mapping[str, Any]) -> bytes:
        """The content for a point given the template context (templates only; see gitgrid.templating)."""
        raise NotImplementedError(type(self).__name__)


@dataclass(frozen=True)
class LineFile(PlannedFile):
    """A file rewritten in place: its base content with a slot where each matched value stands."""

    base: bytes = b""
    splice: Splice = field(default_factory=lambda: Splice(0, (b"",), (b"",)))
    slots: tuple[int, ...] = ()  # param position (spec order) of each slot


@dataclass(frozen=True, slots=True)
class Rendered:
    """One file of one point: for a rewritten file the bytes that go into its slots, else the content.

    Rewritten files are only assembled when :attr:`data` is read: the pack writer needs the slot values
    alone (it builds the content where it hashes it), so they can travel cheaply to its process.
    """

    file: PlannedFile
    payload: tuple[bytes, ...] | bytes

    @property
    def data(self) -> bytes:
        if isinstance(self.payload, bytes):
            return self.payload
        assert isinstance(self.file, LineFile)
        return self.file.splice.build(self.payload)


@dataclass(frozen=True)
class Rewriter:
    """Renders the files of any point of a spec; build it with :func:`plan_rewrites`."""

    spec: Spec
    files: tuple[PlannedFile, ...]
    _line_params: frozenset[int] = frozenset()  # params written into rewritten lines (no line breaks)

    def texts(self, values: Sequence[Value]) -> list[str]:
        """The text each param's value is written as, in spec order."""
        try:
            return [format_value(v, p.format) for v, p in zip(values, self.spec.params, strict=True)]
        except Exception as exc:
            raise RewriteError(f"a param's format cannot write the values {list(values)!r}: {exc}") from None

    def render(self, index: int, count: int, values: Sequence[Value], texts: Sequence[str]) -> list[Rendered]:
        """Every planned file for the point at ``index``; ``texts`` from :meth:`texts`."""
        encoded = [self._encode(i, text) for i, text in enumerate(texts)]
        out: list[Rendered] = []
        context: dict[str, Any] | None = None
        for planned in self.files:
            if isinstance(planned, LineFile):
                out.append(Rendered(planned, tuple([encoded[slot] for slot in planned.slots])))
            else:
                if context is None:
                    context = self._context(index, count, values, texts)
                out.append(Rendered(planned, planned.render_context(context)))
        return out

    def _encode(self, position: int, text: str) -> bytes:
        if position in self._line_params and ("\n" in text or "\r" in text):
            name = self.spec.params[position].name
            raise RewriteError(f"param '{name}': value {text!r} would put a line break into a rewritten line")
        return text.encode("utf-8")

    def _context(
        self, index: int, count: int, values: Sequence[Value], texts: Sequence[str]
    ) -> dict[str, Any]:
        params = dict(zip(self.spec.names, values, strict=True))
        text = dict(zip(self.spec.names, texts, strict=True))
        from gitgrid.templating import PointContext

        return {**params, "point": PointContext(index, count, params, text)}


def plan_rewrites(spec: Spec, tree: TreeReader) -> Rewriter:
    """Check every file and target of ``spec`` against the base tree and plan how each point is written."""
    files: list[PlannedFile] = []
    found: dict[str, list[str]] = {p.name: [] for p in spec.params}
    for file_spec in spec.files:
        plan_file = _plan_template if file_spec.is_template else _plan_lines
        planned, used = plan_file(file_spec, spec, tree)
        files.append(planned)
        for name in used:
            found[name].append(planned.path)
    _check_outputs_unique(files)
    if spec.files:
        _check_all_found(spec, found)
    line_params = frozenset(
        slot for planned in files if isinstance(planned, LineFile) for slot in planned.slots
    )
    return Rewriter(spec, tuple(files), line_params)


def _check_all_found(spec: Spec, found: Mapping[str, list[str]]) -> None:
    searched = ", ".join(f.path for f in spec.files)
    for param in spec.params:
        if not found[param.name]:
            raise RewriteError(
                f"param '{param.name}': target '{param.target}' not found in {searched} "
                f"(looked for '{param.target} = value', '{param.target}: value', "
                f"'#define {param.target} value'; set 'target:' or a file 'pattern:')"
            )


def _check_outputs_unique(files: Iterable[PlannedFile]) -> None:
    seen: set[str] = set()
    for planned in files:
        if planned.path in seen:
            raise RewriteError(f"{planned.path}: listed twice in 'files'")
        seen.add(planned.path)


# in-place rewriting -------------------------------------------------------------------------------------
def _plan_template(file_spec: FileSpec, spec: Spec, tree: TreeReader) -> tuple[PlannedFile, list[str]]:
    from gitgrid.templating import plan_template  # jinja2 is only loaded by sweeps that use templates

    return plan_template(file_spec, spec, tree)


def _plan_lines(file_spec: FileSpec, spec: Spec, tree: TreeReader) -> tuple[PlannedFile, list[str]]:
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
