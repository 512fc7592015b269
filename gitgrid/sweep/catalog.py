"""Sweeps already in a repository: finding them, reading their points, describing them.

Sweeps are found by their record tags (:mod:`gitgrid.sweep.record`), so ``gitgrid list`` and ``show`` work
on a cluster's fresh clone; a sweep's points are read from their commits' trailers in one ``git log``
stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from gitgrid.errors import SpecError, SweepError
from gitgrid.git.repository import Repository
from gitgrid.spec.expression import Expression, ExpressionError, compile_expression
from gitgrid.spec.values import Value
from gitgrid.sweep.record import MESSAGE_HEAD, TAG_PREFIX, TAG_REFS, TRAILERS, PointRecord, Sweep

__all__ = [
    "ParamSummary",
    "find_sweep",
    "list_commits",
    "list_points",
    "list_sweeps",
    "summarize_params",
]


def list_sweeps(repo: Repository) -> list[Sweep]:
    """Every sweep recorded in ``repo``, newest first."""
    rows = repo.for_each_ref(TAG_REFS, ["refname", "contents", "objecttype"])
    sweeps = []
    for _, contents, kind in rows:
        if kind == "tag" and contents.startswith(MESSAGE_HEAD):
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
    from gitgrid.spec.reader import parse_spec

    spec = parse_spec(sweep.spec_text, source=f"{sweep.tag}:spec")
    return [
        ParamSummary(p.name, p.target, p.axis.kind, len(p.axis), tuple(p.axis[:limit])) for p in spec.params
    ]
