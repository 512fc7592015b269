"""Rewriting files for a point: the plan made once against the base commit, and rendering each point.

Everything is planned before any point is written: each rewritten file is cut into the bytes that never
change and the holes where a value goes (:mod:`gitgrid.rewrite.targets`), each template checked
(:mod:`gitgrid.rewrite.templates`), so writing a point is a ``join``. A target that matches nowhere, or more
than once in a file, stops the plan with the file, the target and the line numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitgrid.errors import RewriteError, excerpt
from gitgrid.rewrite.files import LineFile, PlannedFile, Rendered, TemplatePoint
from gitgrid.rewrite.paths import TreeReader
from gitgrid.rewrite.targets import commented_out, plan_lines
from gitgrid.spec.model import FileSpec, Spec
from gitgrid.spec.values import Value, format_value

__all__ = ["Rewriter", "plan_rewrites"]


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
            shown = excerpt(list(values), 200)
            raise RewriteError(
                f"a param's format cannot write the values {shown}: {excerpt(str(exc))}"
            ) from None

    def render(self, index: int, count: int, values: Sequence[Value], texts: Sequence[str]) -> list[Rendered]:
        """Every planned file for the point at ``index``; ``texts`` from :meth:`texts`."""
        encoded = [self._encode(i, text) for i, text in enumerate(texts)]
        out: list[Rendered] = []
        context: dict[str, Any] | None = None
        for planned in self.files:
            if isinstance(planned, LineFile):
                if planned.spelling:
                    out.append(Rendered(planned, self._spelled(planned, values, encoded)))
                else:
                    out.append(Rendered(planned, tuple([encoded[hole] for hole in planned.holes])))
            else:
                if context is None:
                    context = self._context(index, count, values, texts)
                out.append(Rendered(planned, planned.render_context(context)))
        return out

    def _spelled(self, planned: LineFile, values: Sequence[Value], encoded: list[bytes]) -> tuple[bytes, ...]:
        """Hole bytes where some holes are string or bool literals: without a format, a string keeps the
        quotes, escaped as they require (``start = "hot"`` becomes ``start = "cold"``), and a bool the
        file's spelling (``.true.``)."""
        out = []
        for hole, spelling in zip(planned.holes, planned.spelling, strict=True):
            text = None
            if spelling is not None and self.spec.params[hole].format is None:
                text = spelling.write(values[hole])
            out.append(encoded[hole] if text is None else text.encode("utf-8"))
        return tuple(out)

    def _encode(self, position: int, text: str) -> bytes:
        if position in self._line_params and ("\n" in text or "\r" in text):
            name = self.spec.params[position].name
            shown = excerpt(text, quote=True)
            raise RewriteError(f"param '{name}': value {shown} would put a line break into a rewritten line")
        return text.encode("utf-8")

    def _context(
        self, index: int, count: int, values: Sequence[Value], texts: Sequence[str]
    ) -> dict[str, Any]:
        params = dict(zip(self.spec.names, values, strict=True))
        text = dict(zip(self.spec.names, texts, strict=True))
        return {**params, "point": TemplatePoint(index, count, params, text)}


def plan_rewrites(spec: Spec, tree: TreeReader) -> Rewriter:
    """Check every file and target of ``spec`` against the base tree and plan how each point is written."""
    files: list[PlannedFile] = []
    found: dict[str, list[str]] = {p.name: [] for p in spec.params}
    for file_spec in spec.files:
        plan_file = _plan_template if file_spec.is_template else plan_lines
        planned, used = plan_file(file_spec, spec, tree)
        files.append(planned)
        for name in used:
            found[name].append(planned.path)
    _check_outputs_unique(files)
    if spec.files:
        _check_all_found(spec, found, tree)
    line_params = frozenset(
        hole for planned in files if isinstance(planned, LineFile) for hole in planned.holes
    )
    return Rewriter(spec, tuple(files), line_params)


def _check_all_found(spec: Spec, found: Mapping[str, list[str]], tree: TreeReader) -> None:
    searched = ", ".join(f.path for f in spec.files)
    for param in spec.params:
        if not found[param.name]:
            lines = [s for f in spec.files if not f.is_template for s in commented_out(f, param, tree)]
            if lines:  # the usual cause, in a config that ships its keys commented out
                raise RewriteError(
                    f"param '{param.name}': target '{param.target}' not found in {searched}: "
                    f"{'; '.join(lines)}; gitgrid rewrites only assignments in effect: uncomment it and "
                    "commit that on the branch the sweep starts from, then create the sweep again"
                )
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


def _plan_template(file_spec: FileSpec, spec: Spec, tree: TreeReader) -> tuple[PlannedFile, list[str]]:
    from gitgrid.rewrite.templates import plan_template  # jinja2 is only loaded by sweeps that use templates

    return plan_template(file_spec, spec, tree)
