"""Creating a sweep: every point of a spec as one commit on a new branch, without touching the working tree.

The plan (base, rewrites, count, name) is checked in full before anything is written. Then the points
are written as one pack (or, on request, through ``git fast-import``; :mod:`gitgrid.sweep.commits`); the
branch and the sweep's tag are created together, in one ref transaction, only after the last commit.
Any failure or interruption before that leaves no ref, so the same command can simply be run again.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from gitgrid._version import __version__
from gitgrid.errors import GitFailure, RepoError, RewriteError, SweepError, excerpt
from gitgrid.git.repository import ZERO, Ident, RefUpdate, Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.locks import Held, hold
from gitgrid.rewrite.plan import Rewriter, plan_rewrites
from gitgrid.spec.model import Spec
from gitgrid.spec.reader import load_spec
from gitgrid.spec.space import Point, Space
from gitgrid.spec.values import Value, canonical_json_encoder
from gitgrid.sweep.catalog import find_sweep, mark_created, recorded_spec
from gitgrid.sweep.commits import CommitWriter, open_commit_writer
from gitgrid.sweep.names import check_name
from gitgrid.sweep.record import TAG_PREFIX, Sweep

__all__ = [
    "DEFAULT_BRANCH",
    "MAX_POINTS",
    "Plan",
    "Preview",
    "check_branch_name",
    "create_sweep",
    "plan_sweep",
    "point_message",
    "preview_sweep",
    "relative_spec_path",
    "spec_like",
    "write_sweep",
]

DEFAULT_BRANCH = "grid_search-{date}"
MAX_POINTS = 10**8  # one commit each: beyond this a sweep is a typo, and git would not carry it anyway
Progress = Callable[[int, int], None]
_PROGRESS_EVERY = 512


@dataclass(frozen=True)
class Plan:
    """Everything decided before the first commit is written."""

    repo: Repository
    spec: Spec
    space: Space
    rewriter: Rewriter
    base: str
    base_ref: str
    name: str
    count: int
    force: bool
    committer: Ident
    author: Ident


@dataclass(frozen=True)
class Preview:
    """What ``create --dry-run`` shows: the sweep that would be created, and nothing written."""

    name: str
    base: str
    base_ref: str
    count: int
    points: tuple[Point, ...]
    diff: str


def plan_sweep(
    spec: Spec | Path | str,
    repo: Repository | Path | str = ".",
    *,
    base: str | None = None,
    name: str | None = None,
    force: bool = False,
) -> Plan:
    """Check ``spec`` against ``repo`` and decide the sweep's base, name and point count."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    spec = spec if isinstance(spec, Spec) else load_spec(Path(spec))
    if repo.object_format() != "sha1":
        raise RepoError(f"{repo.root}: a SHA-256 repository; gitgrid writes SHA-1 repositories only, for now")
    base_ref = base or spec.base or repo.head_ref()
    base_commit = repo.resolve_commit(base_ref)
    space = Space(spec)
    rewriter = plan_rewrites(spec, repo.tree(base_commit))
    _refuse_lfs(repo, rewriter)
    count = space.count
    if count == 0:
        raise SweepError(f"{spec.source}: the space is empty: 'where' removed every point")
    if count > MAX_POINTS:
        raise SweepError(
            f"{spec.source}: the space has {count:.3g} points; a sweep has at most {MAX_POINTS:.0e} "
            "(one commit each): use fewer values, 'where' or 'sample'"
        )
    committer, author = repo.ident("COMMITTER"), repo.ident("AUTHOR")
    chosen = _choose_name(repo, spec, name, force, committer)
    return Plan(repo, spec, space, rewriter, base_commit, base_ref, chosen, count, force, committer, author)


def spec_like(repo: Repository, sweep: str) -> Spec:
    """The spec sweep ``sweep`` was made from, as its tag records it: ``gitgrid create --like``, the same
    grid on another base (after a fix, say), whose runs the report's compare view pairs point by point."""
    chosen = find_sweep(repo, sweep)
    if chosen.optimize is not None:
        raise SweepError(f"'{chosen.name}' is an optimisation, not a grid: run 'gitgrid optimize' on its "
                         "spec with another --branch instead")  # fmt: skip
    spec = recorded_spec(chosen)
    return replace(spec, source=chosen.spec_path) if chosen.spec_path else spec


def _refuse_lfs(repo: Repository, rewriter: Rewriter) -> None:
    """A file the sweep writes that git hands to Git LFS (``filter=lfs``): its commits would hold the
    rewritten text where LFS expects a pointer, so a checkout would not give the point's file."""
    filters = repo.attribute("filter", [planned.path for planned in rewriter.files])
    for path, value in filters.items():
        if value == "lfs":
            raise RewriteError(
                f"{path}: stored with Git LFS (filter=lfs in .gitattributes): gitgrid writes files into "
                "commits itself and cannot rewrite one that LFS keeps outside git; keep it out of LFS"
            )


def create_sweep(
    spec: Spec | Path | str,
    repo: Repository | Path | str = ".",
    *,
    base: str | None = None,
    name: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Sweep:
    """Create the sweep described by ``spec`` in ``repo`` and return its record."""
    plan = plan_sweep(spec, repo, base=base, name=name, force=force)
    return write_sweep(plan, progress)


def write_sweep(plan: Plan, progress: Progress | None = None, writer: str = "auto") -> Sweep:
    """Write every point of ``plan`` as a commit, then create the branch and the sweep's tag at once.

    ``writer`` picks how objects are written: ``auto``, ``pack`` or ``fast-import``
    (:mod:`gitgrid.sweep.commits`).
    """
    with _not_while_run(plan):
        try:
            tip = _write_commits(plan, progress, writer)
        except OSError as exc:  # a full disk, a read-only file system: the temporary pack is gone
            where = exc.filename or plan.repo.git_dir
            raise SweepError(
                f"cannot write the sweep's commits: {where}: {exc.strerror or exc}; nothing was created "
                "(free space or make the repository writable, then run again)"
            ) from None
        except GitFailure as exc:
            raise SweepError(
                f"cannot write the sweep's commits: {' '.join(str(exc).split())}; nothing was created"
            ) from None
        return _record(plan, tip)


def _write_commits(plan: Plan, progress: Progress | None, writer: str) -> str:
    files = plan.rewriter.files
    commits = open_commit_writer(plan.repo, plan.base, files, plan.author, plan.committer, writer, plan.count)
    with commits:
        _write_points(plan, commits, progress)
        return commits.finish()


def _record(plan: Plan, tip: str) -> Sweep:
    """Write the sweep's tag and create its branch and tag in one transaction: both or neither. Another
    ``create`` of the same name that got there first makes this one say so (exit status 2)."""
    sweep = Sweep(
        name=plan.name,
        base=plan.base,
        base_ref=plan.base_ref,
        tip=tip,
        count=plan.count,
        params=plan.spec.names,
        created=datetime.now(UTC).isoformat(timespec="microseconds"),
        spec_path=relative_spec_path(plan.spec.source, plan.repo.root),
        spec_text=plan.spec.text,
        gitgrid_version=__version__,
    )
    try:
        tag = plan.repo.write_tag(sweep.tag, tip, plan.committer, sweep.to_message())
        old = None if plan.force else ZERO
        plan.repo.update_refs(
            [RefUpdate(f"refs/heads/{sweep.branch}", tip, old), RefUpdate(f"refs/tags/{sweep.tag}", tag, old)]
        )
    except GitFailure as exc:
        if not plan.force and _taken(plan.repo, plan.name):
            raise SweepError(
                f"branch or sweep '{plan.name}' already exists (created by another gitgrid meanwhile): "
                "choose another --name, or --force"
            ) from None
        raise SweepError(f"cannot create sweep '{plan.name}': {' '.join(str(exc).split())}") from None
    mark_created(plan.repo, sweep.name)
    return sweep


@contextmanager
def _not_while_run(plan: Plan) -> Iterator[None]:
    """With ``--force``, hold the sweep's run lock while it is replaced: a sweep that ``gitgrid run`` is
    running is never replaced under it (the run would go on with the old commits, and its results would
    be lost to the store)."""
    layout = Layout.of(plan.repo) if plan.force else None
    if layout is None or not layout.locks.is_dir():  # no lock folder: nothing was ever run here
        yield
        return
    try:
        with hold(layout.sweep_lock(plan.name)):
            yield
    except Held as held:
        raise SweepError(
            f"sweep '{plan.name}' is being run by gitgrid (pid {held.holder}): --force would replace its "
            "commits under the run; let it finish or stop it, then create again"
        ) from None


def preview_sweep(plan: Plan, points: int = 5) -> Preview:
    """The first ``points`` points and the diff the first one makes; writes nothing."""
    first = []
    for point in plan.space:
        first.append(point)
        if len(first) == points:
            break
    diff = _diff(plan, tuple(first[0].params.values()))
    return Preview(plan.name, plan.base, plan.base_ref, plan.count, tuple(first), diff)


def _write_points(plan: Plan, commits: CommitWriter, progress: Progress | None) -> None:
    names, rewriter, count = plan.spec.names, plan.rewriter, plan.count
    to_json = canonical_json_encoder(names)
    trailers = (
        f"\nGitgrid-Sweep: {plan.name}\nGitgrid-Index: ",
        f"\nGitgrid-Count: {count}\nGitgrid-Base: {plan.base}\n",
    )
    for index, values in enumerate(plan.space.rows()):
        texts = rewriter.texts(values)
        files = rewriter.render(index, count, values, texts)
        commits.add(files, point_message(names, index, to_json(values), texts, trailers).encode("utf-8"))
        if progress is not None and (index % _PROGRESS_EVERY == 0 or index == count - 1):
            progress(index + 1, count)


def point_message(
    names: Sequence[str], index: int, params: str, texts: Sequence[str], trailers: tuple[str, str]
) -> str:
    """Subject with the values as written; trailers with index, count, sweep, base and params as JSON."""
    subject = " ".join(f"{n}={_one_line(t)}" for n, t in zip(names, texts, strict=True))
    return f"{subject}\n{trailers[0]}{index}{trailers[1]}Gitgrid-Params: {params}\n"


def _one_line(text: str) -> str:
    return repr(text) if "\n" in text or "\r" in text else text


def relative_spec_path(source: str, root: Path) -> str:
    """The spec's path relative to the repository's top when it lies inside, as others will find it."""
    try:
        return Path(source).resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return source


def _choose_name(repo: Repository, spec: Spec, name: str | None, force: bool, committer: Ident) -> str:
    if name is not None:
        check_branch_name(repo, name)
        if _taken(repo, name) and not force:
            raise SweepError(f"branch or sweep '{name}' already exists: choose another --name, or --force")
        _check_not_checked_out(repo, name)
        return name
    template = spec.branch or DEFAULT_BRANCH
    first = template.format(date=committer.when.strftime("%Y-%m-%d"))
    check_branch_name(repo, first)
    for candidate in _numbered(first):
        if not _taken(repo, candidate):
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _numbered(name: str) -> Iterator[str]:
    yield name
    n = 2
    while True:
        yield f"{name}-{n}"
        n += 1


def _taken(repo: Repository, name: str) -> bool:
    return repo.ref_exists(f"refs/heads/{name}") or repo.ref_exists(f"refs/tags/{TAG_PREFIX}{name}")


def check_branch_name(repo: Repository, name: str) -> None:
    """Refuse what git refuses and what would confuse refs or gitgrid's own namespace (#9): for every
    sweep, grid or optimisation, or its record could not be read back."""
    check_name(name)
    if not repo.valid_branch_name(name):
        raise SweepError(f"'{excerpt(name)}' is not a valid sweep name: git check-ref-format refuses it")
    taken = repo.ref_exists(f"refs/heads/{name}")  # a sweep of that name already: --force replaces it
    if not taken and (abbreviated := repo.abbreviated_object(name)) is not None:
        raise SweepError(
            f"'{name}' is not a valid sweep name: it abbreviates the object {abbreviated} of this "
            "repository, so git would read it as either"
        )


def _check_not_checked_out(repo: Repository, name: str) -> None:
    """Replacing a branch a working tree has checked out would move its HEAD under it: never."""
    where = repo.checked_out_branches().get(name)
    if where is not None:
        raise SweepError(
            f"branch '{name}' is checked out in {where}; --force would move that working tree's HEAD to the "
            "sweep (gitgrid never touches a working tree): choose another --name"
        )


def _diff(plan: Plan, values: Sequence[Value]) -> str:
    tree = plan.repo.tree(plan.base)
    lines: list[str] = []
    for rendered in plan.rewriter.render(0, plan.count, values, plan.rewriter.texts(values)):
        path = rendered.file.path
        old = tree.read(path)
        before = old[1].decode("utf-8", "replace") if old else ""
        after = rendered.data.decode("utf-8", "replace")
        lines += difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}" if old else "/dev/null",
            tofile=f"b/{path}",
        )
    return "".join(lines)
