"""Sweeps already in a repository: finding them, reading their points, describing them.

Sweeps are found by their record tags (:mod:`gitgrid.sweep.record`), so ``gitgrid list`` and ``show`` work
on a cluster's fresh clone; a sweep's points are read from their commits' trailers, by segments of the
chain whatever its length (:mod:`gitgrid.sweep.chain`).
"""

from __future__ import annotations

import json
import marshal  # rows of str, int, float, bool and dict, read back by this same process
import os
import stat
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gitgrid.errors import GitgridWarning, RunError, SpecError, SweepError, excerpt
from gitgrid.git.repository import Repository
from gitgrid.layout import created_sweeps
from gitgrid.spec.values import Value
from gitgrid.sweep.chain import PointRow, commit_blocks, point_blocks
from gitgrid.sweep.record import MESSAGE_HEAD, TAG_PREFIX, TAG_REFS, PointRecord, Sweep
from gitgrid.sweep.stages import split_records, stage_records

if TYPE_CHECKING:  # the spec's model imports --where's expressions, which `gitgrid list` never needs
    from gitgrid.spec.model import Spec

__all__ = [
    "ParamSummary",
    "SweepSummary",
    "created_here",
    "default_sweep",
    "describe_sweep",
    "find_sweep",
    "list_commits",
    "list_points",
    "list_sweeps",
    "mark_created",
    "recorded_spec",
    "render_points",
    "summarize_params",
]


def list_sweeps(repo: Repository) -> list[Sweep]:
    """Every sweep recorded in ``repo``, newest first."""
    rows = repo.for_each_ref(TAG_REFS, ["refname", "contents", "objecttype"])
    sweeps = []
    for refname, contents, kind in rows:
        if kind == "tag" and contents.startswith(MESSAGE_HEAD):
            tag = refname.removeprefix("refs/tags/")
            try:
                sweeps.append(Sweep.from_message(contents, tag))
            except (ValueError, KeyError, TypeError) as exc:
                # a record that does not hold what gitgrid writes: perhaps made to attack (#9)
                warnings.warn(
                    GitgridWarning(
                        f"tag '{excerpt(tag)}' is not a valid sweep record, ignored: {excerpt(str(exc), 200)}"
                    ),
                    stacklevel=2,
                )
    return sorted(sweeps, key=lambda s: (s.created, s.name), reverse=True)


def find_sweep(repo: Repository, name: str | None = None) -> Sweep:
    """The sweep called ``name`` (or ``gitgrid/name``), or the default one when ``name`` is None
    (:func:`default_sweep`); ``SWEEP:STAGE`` names the records of a stage of the sweep
    (:mod:`gitgrid.sweep.stages`)."""
    if name is not None and (found := split_records(name))[1] is not None:
        return stage_records(find_sweep(repo, found[0] or None), str(found[1]))
    sweeps = list_sweeps(repo)
    if not sweeps:
        raise SweepError(f"no sweep in {repo.root}: create one with 'gitgrid create SPEC'")
    if name is None:
        return default_sweep(repo, sweeps)
    wanted = name.removeprefix(TAG_PREFIX).removeprefix("refs/heads/")
    for sweep in sweeps:
        if sweep.name == wanted:
            return sweep
    known = ", ".join(s.name for s in sweeps[:10])
    raise SweepError(f"no sweep named '{name}' (sweeps: {known})")


def default_sweep(repo: Repository, sweeps: Sequence[Sweep]) -> Sweep:
    """The sweep a command without a name works on: the newest of those created in this clone, if any;
    else the newest of all, unless a record is dated in the future (or not dated at all), which would
    make it the newest for ever (#17): then gitgrid refuses to guess. A record's date is whatever its
    maker wrote (a forged ``9999-12-31``, a wrong clock), so a sweep that came with a clone never takes
    the place of one created here."""
    here = created_here(repo)
    mine = [s for s in sweeps if s.name in here]
    if mine:
        return mine[0]
    future = [s for s in sweeps if not _plausible(s.created)]
    if future:
        shown = ", ".join(f"{s.name} ({excerpt(s.created, 40)})" for s in future[:5])
        known = ", ".join(s.name for s in sweeps[:10])
        raise SweepError(
            f"cannot choose the newest sweep: {shown} dated in the future; name the sweep to use "
            f"(sweeps: {known})"
        )
    return sweeps[0]


def _plausible(created: str) -> bool:
    """Whether a record's date is a date, and not more than a day ahead of this machine's clock."""
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        return False
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return when <= datetime.now(UTC) + timedelta(days=1)


def mark_created(repo: Repository, name: str) -> None:
    """Note that sweep ``name`` was created in this clone (:func:`default_sweep` prefers those). Best
    effort: a git dir that cannot be written (or a link where the note goes) only loses the preference."""
    with suppress(OSError, RunError):
        note = created_sweeps(repo.git_dir)
        note.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "a") as out:
            out.write(json.dumps(name) + "\n")


def created_here(repo: Repository) -> set[str]:
    """The names of the sweeps created in this clone (from the git dir, which no clone carries)."""
    try:
        note = created_sweeps(repo.git_dir)
        fd = os.open(note, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, RunError):
        return set()
    with os.fdopen(fd, "rb") as note_file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return set()
        names = set()
        for line in note_file:
            with suppress(ValueError):
                names.add(json.loads(line))
        return {name for name in names if isinstance(name, str)}


def list_points(repo: Repository, sweep: Sweep, where: str | None = None) -> Iterator[PointRecord]:
    """The sweep's points in index order, params read from each commit's trailers (:mod:`.chain`), with
    each commit's tree id (which the store keeps for run keys)."""
    for block in point_blocks(repo, sweep, marshal.dumps, _where(where, sweep), trees=True):
        for index, commit, params, tree in marshal.loads(block):
            yield PointRecord(index, commit, params, tree)


def render_points(
    repo: Repository, sweep: Sweep, render: Callable[[list[PointRow]], str], where: str | None = None
) -> Iterator[str]:
    """The sweep's points in index order as text, by blocks of ``(index, commit, params)`` rows given to
    ``render``, which runs while git reads on: the fast way to print a large sweep."""
    blocks = point_blocks(repo, sweep, lambda rows: render(rows).encode(), _where(where, sweep))
    return (block.decode() for block in blocks)


def list_commits(repo: Repository, sweep: Sweep) -> Iterator[str]:
    """Commit ids of the sweep's points in index order: the fast path of ``gitgrid list``."""
    blocks = commit_blocks(repo, sweep)
    if blocks is None:
        commits = repo.rev_list(sweep.base, sweep.tip)  # not the chain gitgrid wrote: as before
        if len(commits) != sweep.count:
            return (p.commit for p in list_points(repo, sweep))
        return iter(commits)
    return (commit for block in blocks for commit in block)


def _where(where: str | None, sweep: Sweep) -> Callable[[Mapping[str, Value]], bool] | None:
    """``--where`` as a test of a point's params; errors name the option."""
    if not where:
        return None
    from gitgrid.spec.expression import ExpressionError, compile_expression  # ast: start-up time

    try:
        condition = compile_expression(where, sweep.params)
    except ExpressionError as exc:
        raise SpecError(f"--where: {exc}") from None

    def holds(params: Mapping[str, Value]) -> bool:
        try:
            return bool(condition(params))
        except ExpressionError as exc:
            raise SpecError(f"--where: {exc}") from None

    return holds


@dataclass(frozen=True)
class ParamSummary:
    """One param of a sweep as ``gitgrid show`` describes it; ``zipped`` names the params it moves with."""

    name: str
    target: str
    kind: str
    size: int
    values: tuple[Value, ...]
    zipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class SweepSummary:
    """What ``gitgrid show`` says about a sweep's space: its params, and the filters that shaped it."""

    params: tuple[ParamSummary, ...]
    where: str | None
    sample: str | None


def summarize_params(sweep: Sweep, limit: int = 10) -> list[ParamSummary]:
    """Each param's kind, number of values and first ``limit`` values, from the recorded spec."""
    return list(describe_sweep(sweep, limit).params)


def recorded_spec(sweep: Sweep) -> Spec:
    """The spec a sweep was created from, as its tag records it (``gitgrid create --like``)."""
    from gitgrid.spec.reader import parse_spec  # the YAML reader: start-up time

    return parse_spec(sweep.spec_text, source=f"{sweep.tag}:spec")


def describe_sweep(sweep: Sweep, limit: int = 10) -> SweepSummary:
    """The recorded spec's params (with their zip groups), ``where`` and ``sample``."""
    spec = recorded_spec(sweep)
    group = {name: g for g in spec.zip for name in g}
    params = tuple(
        ParamSummary(
            p.name,
            p.target,
            p.axis.kind,
            len(p.axis),
            tuple(p.axis[:limit]),
            tuple(n for n in group.get(p.name, ()) if n != p.name),
        )
        for p in spec.params
    )
    sample = f"random {spec.sample.size}, seed {spec.sample.seed}" if spec.sample else None
    return SweepSummary(params, spec.where.text if spec.where else None, sample)
