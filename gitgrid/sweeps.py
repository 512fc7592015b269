"""Sweeps already in a repository: finding them, reading their points, describing them.

A sweep is a branch of one commit per point plus an annotated tag ``gitgrid/<name>`` on its last commit.
The tag's message holds the sweep's record (base, count, params, the spec as written) as JSON, so a plain
``git clone`` carries it and ``gitgrid list`` / ``show`` work on a cluster's fresh clone. Each point commit
also carries its own params in trailers; listing reads them in one ``git log`` stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from gitgrid.errors import SpecError, SweepError
from gitgrid.expr import Expression, ExpressionError, compile_expression
from gitgrid.git import Repository
from gitgrid.values import Value

__all__ = [
    "PointRecord",
    "Sweep",
    "find_sweep",
    "list_points",
    "list_sweeps",
]

TAG_PREFIX = "gitgrid/"
TAG_REFS = "refs/tags/" + TAG_PREFIX
TRAILERS = ("Gitgrid-Index", "Gitgrid-Params")
_MESSAGE_HEAD = "gitgrid sweep "


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
        head = f"{_MESSAGE_HEAD}{self.name}: {self.count} points over {', '.join(self.params)}"
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


def list_sweeps(repo: Repository) -> list[Sweep]:
    """Every sweep recorded in ``repo``, newest first."""
    rows = repo.for_each_ref(TAG_REFS, ["refname", "contents", "objecttype"])
    sweeps = []
    for _, contents, kind in rows:
        if kind == "tag" and contents.startswith(_MESSAGE_HEAD):
            try:
                sweeps.append(Sweep.from_message(contents))
            except (ValueError, KeyError, TypeError):
                continue  # a tag under gitgrid/ that gitgrid did not write
    return sorted(sweeps, key=lambda s: (s.created, s.name), reverse=True)


def find_sweep(repo: Repository, name: str | None = None) -> Sweep:
    """The sweep called ``name`` (or ``gitgrid/name``), or the newest one when ``name`` is None."""
    sweeps = list_sweeps(repo)
    if not sweeps:
        raise SweepError(f"no sweep in {repo.root}: create one with 'gitgrid create SPEC'")
    if name is None:
        return sweeps[0]
    wanted = name.removeprefix(TAG_PREFIX).removeprefix("refs/heads/")
    for sweep in sweeps:
        if sweep.name == wanted:
            return sweep
    known = ", ".join(s.name for s in sweeps[:10])
    raise SweepError(f"no sweep named '{name}' (sweeps: {known})")


def list_points(repo: Repository, sweep: Sweep, where: str | None = None) -> Iterator[PointRecord]:
    """The sweep's points in index order, params read from each commit's trailers."""
    condition = _compile_where(where, sweep) if where else None
    for commit, index, params_json in repo.log_trailers(sweep.base, sweep.tip, TRAILERS):
        if not index:
            continue  # a commit added to the branch by hand, not a point
        params = json.loads(params_json)
        if condition is None or _holds(condition, params):
            yield PointRecord(int(index), commit, params)


def list_commits(repo: Repository, sweep: Sweep) -> list[str]:
    """Commit ids of the sweep's points in index order: the fast path of ``gitgrid list``."""
    commits = repo.rev_list(sweep.base, sweep.tip)
    if len(commits) != sweep.count:
        return [p.commit for p in list_points(repo, sweep)]
    return commits


def _compile_where(where: str, sweep: Sweep) -> Expression:
    try:
        return compile_expression(where, sweep.params)
    except ExpressionError as exc:
        raise SpecError(f"--where: {exc}") from None


def _holds(condition: Expression, params: Mapping[str, Value]) -> bool:
    try:
        return bool(condition(params))
    except ExpressionError as exc:
        raise SpecError(f"--where: {exc}") from None


@dataclass(frozen=True)
class ParamSummary:
    """One param of a sweep as ``gitgrid show`` describes it."""

    name: str
    target: str
    kind: str
    size: int
    values: tuple[Value, ...]


def summarize_params(sweep: Sweep, limit: int = 10) -> list[ParamSummary]:
    """Each param's kind, number of values and first ``limit`` values, from the recorded spec."""
    from gitgrid.spec import parse_spec

    spec = parse_spec(sweep.spec_text, source=f"{sweep.tag}:spec")
    return [
        ParamSummary(p.name, p.target, p.axis.kind, len(p.axis), tuple(p.axis[:limit])) for p in spec.params
    ]
