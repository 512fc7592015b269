"""Jinja templates in a spec: checked once against the base commit, rendered once per point.

Undefined variables are errors: found before anything is written where they can be seen in the template
(with the line), else when the point that reaches them is rendered. Templates and the templates they
include are read from the base commit, not the working tree. Imported only by sweeps that use templates.

A template comes from a repository, which may be someone else's (#9): it is rendered in Jinja's immutable
sandbox (no ``__class__``, ``__globals__`` or other internals, no mutating calls), ``*``, ``**``, ``+``
and ``%`` check the size of what they would build as ``where`` expressions do, so do the filters that
take a width or a count, and a point's output is capped at :data:`MAX_OUTPUT` bytes.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
import jinja2.sandbox

from gitgrid.errors import RewriteError, excerpt
from gitgrid.rewrite.files import PlannedFile
from gitgrid.rewrite.paths import (
    EXECUTABLE,
    REGULAR,
    TreeReader,
    check_parents,
    normalise,
    read_file,
    resolve_path,
)
from gitgrid.spec.expression import BINARY_OPERATORS
from gitgrid.spec.model import FileSpec, Spec

__all__ = ["MAX_OUTPUT", "TemplateFile", "bound_filters", "plan_template", "render_sandboxed"]

MAX_OUTPUT = 64 << 20  # bytes of one rendered file: a parameter file, never a bomb's output


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's sandbox, with the operators that can build huge values bounded."""

    intercepted_binops = frozenset(BINARY_OPERATORS)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            return _percent_format(left, right)
        return BINARY_OPERATORS[operator](left, right)


_MAX_WIDTH = 10_000  # a width, an indent or a count a filter is given: text for a parameter file
_WIDTH_FILTERS = ("center", "indent", "wordwrap", "truncate", "slice", "batch")


def bound_filters(filters: dict[str, Any]) -> None:
    """Jinja's filters that build text or lists as large as a number they are given (``center(10**10)``,
    ``indent``, ``wordwrap``, ``truncate``, ``slice``, ``batch``) refuse numbers past :data:`_MAX_WIDTH`,
    and ``format`` checks its widths as ``%`` does. Jinja calls filters on constants while it compiles,
    so an unbounded one would build its result before any output cap could see it."""
    for name in _WIDTH_FILTERS:
        filters[name] = _capped(filters[name], name)
    filters["format"] = lambda value, *args, **kwargs: _percent_format(str(value), kwargs or args)


def _capped(filter_: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(filter_)  # keeps Jinja's pass_environment mark
    def capped(*args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_WIDTH:
                raise ValueError(f"filter '{name}': {excerpt(value)} is more than {_MAX_WIDTH}")
        return filter_(*args, **kwargs)

    return capped


_PERCENT_WIDTHS = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _percent_format(text: str, args: Any) -> str:
    """``"%.3f" % x`` as templates write it, refusing widths that would build a huge string."""
    for match in _PERCENT_WIDTHS.finditer(text):
        for number in match.groups():
            if number is not None and (number == "*" or len(number) > 4 or int(number) > 1000):
                raise ValueError(f"'%' format '{excerpt(text)}': widths and precisions are at most 1000")
    formatted: str = text % args
    return formatted


@dataclass(frozen=True)
class TemplateFile(PlannedFile):
    """A file rendered from a Jinja template for each point."""

    source: str = ""
    template: jinja2.Template | None = None

    def render_context(self, context: Mapping[str, Any]) -> bytes:
        assert self.template is not None
        try:
            return _bounded(self.template.generate(context)).encode("utf-8")
        except Exception as exc:
            line = _template_line(exc, self.source)
            where = f"{self.source}:{line}" if line else self.source
            point = context["point"]
            message = "out of memory" if isinstance(exc, MemoryError) else excerpt(str(exc), 200)
            raise RewriteError(f"{where}: template failed for point {point.index}: {message}") from None


def render_sandboxed(
    source: str, context: Mapping[str, Any], filters: Mapping[str, Callable[..., Any]], **options: Any
) -> str:
    """``source`` rendered in the same sandbox as a spec's templates, with the same bounds: for any
    other template that may come from someone else's repository (a job script's, ``--template``).
    Raises Jinja's errors (syntax, undefined, security) and ``ValueError`` for a bound passed."""
    env = _Sandbox(undefined=jinja2.StrictUndefined, autoescape=False, **options)
    bound_filters(env.filters)
    env.filters.update(filters)
    return _bounded(env.from_string(source).generate(context))


def _bounded(pieces: Iterator[str]) -> str:
    out, size = [], 0
    for piece in pieces:
        size += len(piece)
        if size > MAX_OUTPUT:
            raise ValueError(f"output larger than {MAX_OUTPUT >> 20} MiB")
        out.append(piece)
    return "".join(out)


def plan_template(file_spec: FileSpec, spec: Spec, tree: TreeReader) -> tuple[PlannedFile, list[str]]:
    """Check the template (syntax, includes, variables) against the base tree; the params it uses."""
    assert file_spec.template is not None
    source_path = resolve_path(file_spec.template, tree)
    _, raw = read_file(source_path, tree, file_spec.template)
    output = resolve_path(file_spec.path, tree)
    check_parents(output, tree)
    existing = tree.read(output)
    if existing is not None and existing[0] not in (REGULAR, EXECUTABLE):
        raise RewriteError(f"{file_spec.path}: template output exists and is not a regular file")
    env = _environment(tree, newline="\r\n" if b"\r\n" in raw else "\n")
    try:
        template = env.get_template(source_path)
        variables = _variables(env, source_path, set())
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.name or source_path}:{exc.lineno}"
        raise RewriteError(f"{where}: template syntax error: {excerpt(exc.message or '', 200)}") from None
    except jinja2.TemplateNotFound as exc:
        raise RewriteError(
            f"{source_path}: includes '{excerpt(exc.name)}', which is not in the base commit"
        ) from None
    allowed = set(spec.names) | {"point"} | set(env.globals)
    for variable, (path, line) in sorted(variables.items()):
        if variable not in allowed:
            known = excerpt(", ".join(["point", *spec.names]), 300)
            raise RewriteError(
                f"{path}:{line}: template uses undefined variable '{excerpt(variable)}' (defined: {known})"
            )
    used = list(spec.names) if "point" in variables else [n for n in spec.names if n in variables]
    mode = existing[0] if existing is not None else REGULAR
    return TemplateFile(output, mode, source_path, template), used


def _variables(env: jinja2.Environment, path: str, seen: set[str]) -> dict[str, tuple[str, int | None]]:
    """Variables a template and the templates it includes read from the context, with where each is used.

    A param counts as found when a template uses it; includes are followed so that a param used only in
    an included template counts too.
    """
    seen.add(path)
    source = env.loader.get_source(env, path)[0] if env.loader else ""
    tree = env.parse(source, name=path)
    found: dict[str, tuple[str, int | None]] = {}
    for name in jinja2.meta.find_undeclared_variables(tree):
        line = next((n.lineno for n in tree.find_all(jinja2.nodes.Name) if n.name == name), None)
        found[name] = (path, line)
    for included in jinja2.meta.find_referenced_templates(tree):
        if included is not None and normalise(included) not in seen:
            for name, place in _variables(env, included, seen).items():
                found.setdefault(name, place)
    return found


def _environment(tree: TreeReader, newline: str) -> jinja2.Environment:
    def load(name: str) -> tuple[str, str, Callable[[], bool]]:
        path = resolve_path(name, tree)
        entry = tree.read(path)
        if entry is None or entry[0] not in (REGULAR, EXECUTABLE):
            raise jinja2.TemplateNotFound(name)
        return _decode(entry[1], path), path, lambda: True

    loader: Callable[[str], tuple[str, str, Callable[[], bool]]] = load
    env = _Sandbox(
        loader=jinja2.FunctionLoader(loader),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        newline_sequence=newline,
        autoescape=False,
    )
    bound_filters(env.filters)
    return env


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RewriteError(f"{path}: a template must be UTF-8 text") from None


def _template_line(exc: BaseException, source: str) -> int | None:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == source]
    return frames[-1].lineno if frames else None
