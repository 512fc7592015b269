"""A sweep's record: what gitgrid writes about a sweep when it creates it, and reads back.

A sweep is a branch of one commit per point plus an annotated tag ``gitgrid/<name>`` on its last commit.
The tag's message holds the record (base, count, params, the spec as written) as JSON, so a plain
``git clone`` carries it. Each point commit carries its own index and params in trailers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from gitgrid.spec.values import Value

__all__ = ["MESSAGE_HEAD", "TAG_PREFIX", "TAG_REFS", "TRAILERS", "PointRecord", "Sweep"]

TAG_PREFIX = "gitgrid/"
TAG_REFS = "refs/tags/" + TAG_PREFIX
TRAILERS = ("Gitgrid-Index", "Gitgrid-Params")
MESSAGE_HEAD = "gitgrid sweep "


@dataclass(frozen=True)
class Sweep:
    """What gitgrid records about a sweep when it creates it."""

    name: str
    base: str
    base_ref: str
    tip: str
    count: int
    params: tuple[str, ...]
    created: str
    spec_path: str = ""
    spec_text: str = ""
    gitgrid_version: str = ""

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.name

    @property
    def branch(self) -> str:
        return self.name

    def to_message(self) -> str:
        """The tag message: one readable line, then the record as JSON."""
        record = {**asdict(self), "params": list(self.params)}
        head = f"{MESSAGE_HEAD}{self.name}: {self.count} points over {', '.join(self.params)}"
        return f"{head}\n\n{json.dumps(record, indent=2, ensure_ascii=False)}\n"

    @classmethod
    def from_message(cls, message: str) -> Sweep:
        _, _, body = message.partition("\n\n")
        record: dict[str, Any] = json.loads(body)
        known = set(cls.__dataclass_fields__)
        record = {k: v for k, v in record.items() if k in known}
        record["params"] = tuple(record["params"])
        return cls(**record)


@dataclass(frozen=True)
class PointRecord:
    """A point as committed: its index, its commit and its params (read back from the trailers)."""

    index: int
    commit: str
    params: Mapping[str, Value] = field(default_factory=dict)
