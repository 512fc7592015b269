"""Growing a sweep a few points at a time: ``gitgrid optimize`` chooses each point after earlier results.

Points are written exactly as ``create`` writes a grid's (the same rewrite, subject and trailers, with any
extra trailers such as the iteration and role before ``Gitgrid-Params``), chained onto the sweep's tip.
The branch and the sweep's tag (its record, with the new tip and count) move together in one ref
transaction that also checks the branch is still where it was read: a failure, an interruption or a
concurrent writer leaves the sweep as it was, and the points can simply be written again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gitgrid._version import __version__
from gitgrid.errors import RepoError, SweepError, excerpt
from gitgrid.git.repository import ZERO, Ident, RefUpdate, Repository
from gitgrid.rewrite.plan import Rewriter, plan_rewrites
from gitgrid.spec.model import Spec
from gitgrid.spec.values import Value, canonical_json_encoder
from gitgrid.sweep.catalog import mark_created
from gitgrid.sweep.commits import open_commit_writer
from gitgrid.sweep.create import check_branch_name, point_message, relative_spec_path
from gitgrid.sweep.record import TRAILERS, Sweep, point_params, trailer_number

__all__ = ["Grower", "NewPoint", "append_points", "delete_sweep", "plan_growth", "point_trailers", "retag"]


@dataclass(frozen=True)
class NewPoint:
    """A point to add: its values in the spec's param order, and extra trailers for its commit."""

    values: tuple[Value, ...]
    trailers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Grower:
    """What writing points onto one sweep needs, decided once: base, rewrites, name, identities."""

    repo: Repository
    spec: Spec
    rewriter: Rewriter
    base: str
    base_ref: str
    name: str
    capacity: int  # the most points the sweep will hold: its commits' Gitgrid-Count, templates' count
    committer: Ident
    author: Ident


def plan_growth(repo: Repository, spec: Spec, name: str, capacity: int, base: str | None = None) -> Grower:
    """Check ``spec`` against ``repo`` (every target found) before any point is written."""
    if repo.object_format() != "sha1":
        raise RepoError(f"{repo.root}: a SHA-256 repository; gitgrid writes SHA-1 repositories only, for now")
    check_branch_name(repo, name)
    base_ref = base or spec.base or repo.head_ref()
    commit = repo.resolve_commit(base_ref)
    rewriter = plan_rewrites(spec, repo.tree(commit))
    committer, author = repo.ident("COMMITTER"), repo.ident("AUTHOR")
    return Grower(repo, spec, rewriter, commit, base_ref, name, capacity, committer, author)


def append_points(
    grower: Grower,
    sweep: Sweep | None,
    points: Sequence[NewPoint],
    optimize: Mapping[str, Any] | None = None,
) -> Sweep:
    """Write ``points`` after the last point of ``sweep`` (None: start the sweep) and return its record."""
    g = grower
    start = sweep.count if sweep is not None else 0
    parent = sweep.tip if sweep is not None else g.base
    writer = open_commit_writer(g.repo, g.base, g.rewriter.files, g.author, g.committer, "pack", 0, parent)
    with writer:
        names, to_json = g.spec.names, canonical_json_encoder(g.spec.names)
        for offset, point in enumerate(points):
            index = start + offset
            texts = g.rewriter.texts(point.values)
            files = g.rewriter.render(index, g.capacity, point.values, texts)
            extra = "".join(f"{key}: {value}\n" for key, value in point.trailers)
            trailers = (
                f"\nGitgrid-Sweep: {g.name}\nGitgrid-Index: ",
                f"\nGitgrid-Count: {g.capacity}\nGitgrid-Base: {g.base}\n{extra}",
            )
            message = point_message(names, index, to_json(point.values), texts, trailers)
            writer.add(files, message.encode("utf-8"))
        tip = writer.finish()
    record = sweep or Sweep(
        name=g.name, base=g.base, base_ref=g.base_ref, tip=g.base, count=0, params=names,
        created=datetime.now(UTC).isoformat(timespec="microseconds"),
        spec_path=relative_spec_path(g.spec.source, g.repo.root), spec_text=g.spec.text,
        gitgrid_version=__version__,
    )  # fmt: skip
    grown = replace(record, tip=tip, count=start + len(points), optimize=optimize or record.optimize)
    _move(g.repo, g.committer, grown, old_tip=sweep.tip if sweep is not None else None)
    return grown


def retag(repo: Repository, sweep: Sweep, optimize: Mapping[str, Any]) -> Sweep:
    """Rewrite the sweep's record with new ``optimize`` data (e.g. its answer); the branch stays."""
    changed = replace(sweep, optimize=optimize)
    _move(repo, repo.ident("COMMITTER"), changed, old_tip=sweep.tip)
    return changed


def delete_sweep(repo: Repository, sweep: Sweep) -> None:
    """Delete the sweep's branch and tag together (an optimisation undone before any result)."""
    repo.update_refs([], delete=[f"refs/heads/{sweep.branch}", f"refs/tags/{sweep.tag}"])


def point_trailers(
    repo: Repository, sweep: Sweep, keys: Sequence[str]
) -> Iterator[tuple[int, str, dict[str, Value], list[str]]]:
    """Each point of ``sweep`` in index order: index, commit, params and the values of trailers ``keys``."""
    names = frozenset(sweep.params)
    for commit, index, params, *rest in repo.log_trailers(sweep.base, sweep.tip, (*TRAILERS, *keys)):
        if not index:
            continue  # a commit added to the branch by hand, not a point
        number = trailer_number(index)
        if number is None:
            raise SweepError(f"commit {commit[:12]}: Gitgrid-Index '{excerpt(index)}' is not a point index")
        try:
            yield number, commit, point_params(params, names, commit), rest
        except ValueError as exc:
            raise SweepError(f"sweep '{sweep.name}': {exc}") from None


def _move(repo: Repository, tagger: Ident, sweep: Sweep, old_tip: str | None) -> None:
    """Point the branch at the sweep's tip and its tag at a new record, in one checked transaction."""
    tag = repo.write_tag(sweep.tag, sweep.tip, tagger, sweep.to_message())
    branch = RefUpdate(f"refs/heads/{sweep.branch}", sweep.tip, old_tip or ZERO)
    try:
        repo.update_refs([branch, RefUpdate(f"refs/tags/{sweep.tag}", tag, None if old_tip else ZERO)])
    except RepoError as exc:
        raise SweepError(
            f"sweep '{sweep.name}' changed while points were added to it ({exc}); run again to continue"
        ) from None
    if old_tip is None:
        mark_created(repo, sweep.name)  # the default sweep is one created here (#17)
