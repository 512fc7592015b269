"""The files of a point, as planned once against the base commit and rendered for each point.

A :class:`LineFile` is rewritten in place: its base bytes with a hole where each value goes. A
template's file is rendered from its context (:mod:`gitgrid.rewrite.templates`). :class:`Rendered` is one
file of one point, as the commit writers take it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitgrid.rewrite.literals import Spelling
from gitgrid.spec.values import Value
from gitgrid.splice import Splice

__all__ = ["LineFile", "PlannedFile", "Rendered", "TemplatePoint"]


@dataclass(frozen=True)
class PlannedFile:
    """A file written into every point's commit."""

    path: str
    mode: str

    def render_context(self, context: Mapping[str, Any]) -> bytes:
        """The content for a point given the template context (templates only: gitgrid.rewrite.templates)."""
        raise NotImplementedError(type(self).__name__)


@dataclass(frozen=True)
class LineFile(PlannedFile):
    """A file rewritten in place: its base content with a hole where each matched value stands."""

    base: bytes = b""
    splice: Splice = field(default_factory=lambda: Splice(0, (b"",), (b"",)))
    holes: tuple[int, ...] = ()  # param position (spec order) of the value in each hole of the splice
    spelling: tuple[Spelling | None, ...] = ()  # per hole, when any is a string or bool literal; else empty


@dataclass(frozen=True, slots=True)
class Rendered:
    """One file of one point: for a rewritten file the bytes that go into its holes, else the content.

    Rewritten files are only assembled when :attr:`data` is read: the pack writer needs the hole values
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
class TemplatePoint:
    """What a template sees as ``point``: its index, the sweep's point count, and its params."""

    index: int
    count: int
    params: Mapping[str, Value]
    text: Mapping[str, str]
