"""A checked spec as values: params, files and the rest, as the reader produced them from the YAML.

Frozen dataclasses, so a spec can be shared between threads and processes (the pack writer forks with
one) and compared in tests. ``docs/spec.md`` documents what each field means to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitgrid.spec.axes import Axis
from gitgrid.spec.expression import Expression
from gitgrid.spec.values import Value

__all__ = ["FileSpec", "ParamSpec", "SampleSpec", "Spec"]


@dataclass(frozen=True)
class ParamSpec:
    """One param: its name, the values it takes, and how and where it is written.

    ``after`` and ``at_line`` pick one assignment when the target is assigned on several lines (the first
    at or after the line holding that text; the assignment on that line of the base file); ``replace`` is
    ``literal`` (only a single literal value is replaced) or ``expression`` (the whole assigned
    expression is, by explicit choice).
    """

    name: str
    axis: Axis
    target: str
    format: str | None = None
    all: bool = False
    explicit_target: bool = False
    line: int = 0
    after: str | None = None
    at_line: int | None = None
    replace: str = "literal"
    start: Value | None = None  # where ``gitgrid optimize`` starts; grids ignore it


@dataclass(frozen=True)
class FileSpec:
    """A file rewritten in place (``path``) or rendered from a Jinja template (``template`` -> ``output``)."""

    path: str
    template: str | None = None
    pattern: str | None = None
    comment: tuple[str, ...] | None = None
    line: int = 0

    @property
    def is_template(self) -> bool:
        return self.template is not None


@dataclass(frozen=True)
class SampleSpec:
    """Keep a seeded random subset of ``size`` points, in grid order."""

    size: int
    seed: int = 0


@dataclass(frozen=True)
class Spec:
    """A checked spec. ``text`` is the file as written, recorded with the sweep."""

    params: tuple[ParamSpec, ...]
    files: tuple[FileSpec, ...]
    zip: tuple[tuple[str, ...], ...] = ()
    where: Expression | None = None
    sample: SampleSpec | None = None
    base: str | None = None
    branch: str | None = None
    source: str = "<spec>"
    text: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> ParamSpec:
        return next(p for p in self.params if p.name == name)
