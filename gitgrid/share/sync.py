"""``gitgrid push`` and ``gitgrid pull``: a study's sweeps and results to and from any git remote.

**push** brings the store up to date with finished run directories, writes the runs the local results
notes lack into them (:mod:`gitgrid.share.export`), and pushes each sweep's branch and tag and the notes
in one atomic push: every ref moves or none does. git refuses a notes ref that moved on the remote to
something this clone lacks (a push from elsewhere): that is results this clone would lose, so the push
is refused, saying to pull first.

**pull** fetches the remote's sweep tags (with their commits) and its results notes into a scratch ref,
checks the notes (:mod:`gitgrid.share.notes`'s bounds; a ref that is no notes ref is an error and nothing
changes), merges them into the local notes as a union, and stores the records new here
(:mod:`gitgrid.share.imports`). The same point run in two places keeps both runs, as attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitgrid.errors import SyncError, excerpt
from gitgrid.git.notes import read_notes
from gitgrid.git.remote import PushedRef, check_remote, fetch, push, remote_refs
from gitgrid.git.repository import ZERO, RefUpdate, Repository, open_repository
from gitgrid.run.collect import refresh
from gitgrid.share.export import export_results
from gitgrid.share.imports import Imported, import_records
from gitgrid.share.notes import MAX_NOTES, NOTES_REF, merge, read_contents
from gitgrid.store import open_store
from gitgrid.sweep.catalog import find_sweep, list_points, list_sweeps
from gitgrid.sweep.record import TAG_REFS, Sweep

__all__ = ["Pulled", "Pushed", "pull_results", "push_results"]

FETCHED = "refs/gitgrid/fetched-notes"  # the remote's notes, until checked and merged
_REJECTED_NOTES = (
    "has results this clone lacks (someone pushed meanwhile): "
    "pull first ('gitgrid pull {0}'), then push again"
)


@dataclass(frozen=True)
class Pushed:
    """What a push did: the sweeps pushed, the run records written into the notes, each ref's fate."""

    remote: str
    sweeps: tuple[str, ...]
    runs: int
    refs: tuple[PushedRef, ...] = ()
    dry_run: bool = False


@dataclass(frozen=True)
class Pulled:
    """What a pull did: sweeps (tags) fetched, runs stored, records already here, records skipped."""

    remote: str
    sweeps: tuple[str, ...] = ()
    stored: int = 0
    known: int = 0
    skipped: int = 0
    notes: bool = False  # the remote has results notes
    messages: list[str] = field(default_factory=list)


def push_results(
    remote: str = "origin",
    sweeps: Sequence[str] = (),
    repo: Repository | Path | str = ".",
    *,
    dry_run: bool = False,
) -> Pushed:
    """Push ``sweeps`` (default: every sweep of the repository) and the results to ``remote``."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    check_remote(repo, remote)
    chosen = [find_sweep(repo, name) for name in sweeps] if sweeps else list_sweeps(repo)
    if not chosen:
        raise SyncError(f"no sweep in {repo.root} to push: create one with 'gitgrid create SPEC'")
    names = tuple(sweep.name for sweep in chosen)
    layout, store = open_store(repo)
    try:
        for sweep in chosen:  # finished run directories first: what push sends is what results shows
            store.sweeps.sync(sweep, list_points(repo, sweep))
            refresh(store, repo, sweep, layout.runs_root)
        if dry_run:
            pending = sum(1 for name in names for _ in store.shares.unshared(name))
            return Pushed(remote, names, pending, dry_run=True)
        exported = export_results(repo, store, names)
    finally:
        store.close()
    refspecs = [spec for sweep in chosen for spec in _refspecs(repo, sweep)]
    if exported.commit is not None:
        refspecs.append(f"{NOTES_REF}:{NOTES_REF}")
    pushed = push(repo, remote, refspecs)
    _refuse(remote, pushed)
    return Pushed(remote, names, exported.runs, tuple(pushed))


def _refspecs(repo: Repository, sweep: Sweep) -> list[str]:
    """A sweep's tag, and its branch when this clone has one (never forced)."""
    specs = [f"{TAG_REFS}{sweep.name}:{TAG_REFS}{sweep.name}"]
    branch = f"refs/heads/{sweep.name}"
    return [f"{branch}:{branch}", *specs] if repo.ref_exists(branch) else specs


def _refuse(remote: str, pushed: Sequence[PushedRef]) -> None:
    """A push git refused: one line saying why and what to do."""
    rejected = [p for p in pushed if p.rejected and "atomic" not in p.summary]
    if not rejected:
        return
    notes = [p for p in rejected if p.ref == NOTES_REF]
    if notes:
        raise SyncError(f"push refused: '{excerpt(remote)}' {_REJECTED_NOTES.format(excerpt(remote))}")
    first = rejected[0]
    what = first.ref.removeprefix("refs/heads/").removeprefix(TAG_REFS)
    raise SyncError(
        f"push refused: sweep '{excerpt(what)}' on '{excerpt(remote)}' is not this clone's "
        f"({first.summary}): it was made again elsewhere; give this one another name "
        "(gitgrid create --like, --name) to push it"
    )


def pull_results(
    remote: str = "origin", repo: Repository | Path | str = ".", *, dry_run: bool = False
) -> Pulled:
    """Fetch ``remote``'s sweeps and results, merge the results into the local notes and store them."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    check_remote(repo, remote)
    advertised = remote_refs(repo, remote, [NOTES_REF, f"{TAG_REFS}*"])
    tags = tuple(sorted(ref.removeprefix(TAG_REFS) for ref in advertised
                        if ref.startswith(TAG_REFS) and not ref.endswith("^{}")))  # fmt: skip
    has_notes = NOTES_REF in advertised
    if dry_run:
        return Pulled(remote, tags, notes=has_notes)
    messages = []
    if tags and (refused := fetch(repo, remote, [f"{TAG_REFS}*:{TAG_REFS}*"])):
        messages.append(f"some sweep tags were not fetched: {refused}")
    if not has_notes:
        return Pulled(remote, tags, messages=[*messages, f"'{excerpt(remote)}' has no results yet"])
    fetch(repo, remote, [f"+{NOTES_REF}:{FETCHED}"])
    try:
        done = _merge_and_import(repo, remote, repo.ref_value(FETCHED))
    finally:
        if repo.ref_exists(FETCHED):
            repo.update_refs([], delete=[FETCHED])
    return Pulled(remote, tags, done.stored, done.known, done.skipped, True, messages)


def _merge_and_import(repo: Repository, remote: str, fetched: str | None) -> Imported:
    """Check the fetched notes, read what is new in them and in ours, merge, and store the records.
    Every check of the notes' shape comes before anything is written."""
    what = f"the results of '{excerpt(remote)}'"
    theirs = read_notes(repo, fetched, MAX_NOTES, what)
    ours = read_notes(repo, repo.ref_value(NOTES_REF), MAX_NOTES, "the local results notes")
    _, store = open_store(repo)
    try:
        seen = store.shares.notes_read()
        new_theirs = [b for b in theirs.notes.values() if b not in seen and b not in ours.notes.values()]
        contents = read_contents(repo, new_theirs, what)
        contents.update(read_contents(repo, [b for b in ours.notes.values() if b not in seen], "local notes"))
        merged = merge(repo, ours, theirs, f"gitgrid: merge results from {remote}", what)
        if merged.commit is not None and merged.commit != ours.commit:
            repo.update_refs([RefUpdate(NOTES_REF, merged.commit, ours.commit or ZERO)])
        return import_records(repo, store, contents, what)
    finally:
        store.close()
