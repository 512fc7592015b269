"""A sweep's record: what gitgrid writes about a sweep when it creates it, and reads back.

A sweep is a branch of one commit per point plus an annotated tag ``gitgrid/<name>`` on its last commit.
The tag's message holds the record (base, count, params, the spec as written) as JSON, so a plain
``git clone`` carries it. Each point commit carries its own index and params in trailers.

A record in a repository someone else made is untrusted input (#9): every field is checked when it is
read (a name that is a valid sweep name and matches its tag, object ids that are object ids, printable
text), so no field can become a path outside the repository, an option to git or an escape sequence on
a terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from gitgrid.errors import excerpt
from gitgrid.spec.names import name_problem as param_name_problem
from gitgrid.spec.values import INT_RANGE, Value, check_value
from gitgrid.sweep.names import name_problem

__all__ = [
    "MESSAGE_HEAD",
    "OPTIMIZE_TRAILERS",
    "TAG_PREFIX",
    "TAG_REFS",
    "TRAILERS",
    "PointRecord",
    "Sweep",
    "check_object_id",
    "point_params",
    "trailer_number",
]

TAG_PREFIX = "gitgrid/"
TAG_REFS = "refs/tags/" + TAG_PREFIX
TRAILERS = ("Gitgrid-Index", "Gitgrid-Params")
OPTIMIZE_TRAILERS = ("Gitgrid-Iteration", "Gitgrid-Role")  # what gitgrid optimize adds to a point's
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
    # gitgrid optimize: its settings and, once finished, its answer (gitgrid.optimize.session)
    optimize: Mapping[str, Any] | None = field(default=None, hash=False)

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
    def from_message(cls, message: str, tag: str | None = None) -> Sweep:
        """The record in a tag's message; ``ValueError`` saying why when any field is not what gitgrid
        writes. ``tag`` is the tag's name (``gitgrid/<name>``), which the record's name must match."""
        _, _, body = message.partition("\n\n")
        try:
            record = json.loads(body)
        except RecursionError:
            raise ValueError("the record is nested too deeply") from None
        if not isinstance(record, dict):
            raise ValueError("the record is not a JSON object")
        known = set(cls.__dataclass_fields__)
        record = {k: v for k, v in record.items() if k in known}
        missing = sorted(known - set(record) - {"spec_path", "spec_text", "gitgrid_version", "optimize"})
        if missing:
            raise ValueError(f"the record lacks {', '.join(missing)}")
        _check_record(record, tag)
        record["params"] = tuple(record["params"])
        return cls(**record)


_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAX_COUNT = 10**9


def check_object_id(value: object, what: str) -> str:
    """``value`` when it is a full lower-case object id, so that git can never read it as an option."""
    if not isinstance(value, str) or not _OBJECT_ID.fullmatch(value):
        raise ValueError(f"{what} '{excerpt(value)}' is not a commit id")
    return value


def _check_record(record: dict[str, Any], tag: str | None) -> None:
    problem = name_problem(record["name"])
    if problem is not None:
        raise ValueError(f"name '{excerpt(record['name'])}' is not a valid sweep name: {problem}")
    if tag is not None and tag != TAG_PREFIX + record["name"]:
        raise ValueError(f"its name '{excerpt(record['name'])}' does not match the tag '{excerpt(tag)}'")
    check_object_id(record["base"], "base")
    check_object_id(record["tip"], "tip")
    count = record["count"]
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= _MAX_COUNT:
        raise ValueError(f"count '{excerpt(count)}' is not a number of points")
    params = record["params"]
    if not isinstance(params, list) or len(set(map(str, params))) != len(params):
        raise ValueError("params is not a list of distinct names")
    for name in params:
        problem = param_name_problem(name)
        if problem is not None:
            raise ValueError(problem)
    for key in ("base_ref", "created", "spec_path", "gitgrid_version"):
        value = record.get(key, "")
        if not isinstance(value, str) or len(value) > 1000 or not value.isprintable():
            raise ValueError(f"{key} '{excerpt(value)}' is not one line of printable text")
    text = record.get("spec_text", "")
    if not isinstance(text, str) or _TEXT_CONTROLS.search(text):
        raise ValueError("spec_text holds control characters")
    if not isinstance(record.get("optimize") or {}, dict):
        raise ValueError("optimize is not a JSON object")


def trailer_number(text: str) -> int | None:
    """A whole number from a trailer (``Gitgrid-Index``, an iteration), or None when it is none. Trailers
    may come from someone else's repository: ASCII digits only, short enough to be an index."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def point_params(params_json: str, names: frozenset[str], commit: str) -> dict[str, Value]:
    """The params of a point commit's ``Gitgrid-Params`` trailer: exactly the sweep's (``names``), each a
    value. Runs once per point of ``gitgrid list``, so the common values take a fast path."""
    try:
        params = json.loads(params_json)
    except (ValueError, RecursionError):
        params = None
    if not isinstance(params, dict) or params.keys() != names:
        raise ValueError(f"commit {commit[:12]}: its Gitgrid-Params trailer does not hold the sweep's params")
    try:
        for value in params.values():
            kind = type(value)
            if (kind is float and value - value == 0.0) or (kind is int and _INT_LOW <= value <= _INT_HIGH):
                continue  # a finite float, a 64-bit int: nothing more to check
            check_value(value)
    except TypeError as exc:
        raise ValueError(f"commit {commit[:12]}: {exc}") from None
    return params


_INT_LOW, _INT_HIGH = INT_RANGE


@dataclass(frozen=True)
class PointRecord:
    """A point as committed: its index, its commit and its params (read back from the trailers), and its
    commit's tree id when the reader asked git for it ("" otherwise)."""

    index: int
    commit: str
    params: Mapping[str, Value] = field(default_factory=dict)
    tree: str = ""
