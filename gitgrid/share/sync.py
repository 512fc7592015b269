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

A stage's runs (``gitgrid analyze``) go with their sweep's, into the same notes (issue 22).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitgrid.errors import SyncError, excerpt
from gitgrid.git.notes import Notes, read_notes
from gitgrid.git.remote import PushedRef, check_remote, fetch, push, remote_refs
from gitgrid.git.repository import ZERO, RefUpdate, Repository, open_repository
from gitgrid.run.collect import refresh
from gitgrid.share.export import export_results
from gitgrid.share.imports import Imported, import_records
from gitgrid.share.notes import MAX_NOTES, NOTES_REF, RECORDS, SERIES, SERIES_REF, Kind, merge, read_contents
from gitgrid.share.series import export_series, import_series
from gitgrid.store import Store, open_store
from gitgrid.sweep.catalog import find_sweep, list_points, list_sweeps
from gitgrid.sweep.record import TAG_PREFIX, TAG_REFS, Sweep
from gitgrid.sweep.stages import stage_records

__all__ = ["Pulled", "Pushed", "pull_results", "push_results"]

FETCHED = "refs/gitgrid/fetched"  # the remote's notes wait under here until checked and merged
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
    series: int = 0  # runs whose series were stored (with --series)


def push_results(
    remote: str = "origin",
    sweeps: Sequence[str] = (),
    repo: Repository | Path | str = ".",
    *,
    series: bool = False,
    dry_run: bool = False,
) -> Pushed:
    """Push ``sweeps`` (default: every sweep of the repository) and the results to ``remote``; with
    ``series``, the runs' series too."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    check_remote(repo, remote)
    chosen = [find_sweep(repo, name) for name in sweeps] if sweeps else list_sweeps(repo)
    if not chosen:
        raise SyncError(f"no sweep in {repo.root} to push: create one with 'gitgrid create SPEC'")
    names = tuple(sweep.name for sweep in chosen)
    layout, store = open_store(repo)
    try:
        stages: list[str] = []
        for sweep in chosen:  # finished run directories first: what push sends is what results shows
            store.sweeps.sync(sweep, list_points(repo, sweep))
            refresh(store, repo, sweep, layout.runs_root)
            stages += _stages(repo, store, sweep, layout.runs_root)
        if dry_run:
            pending = sum(1 for name in (*names, *stages) for _ in store.shares.unshared(name))
            return Pushed(remote, names, pending, dry_run=True)
        exported = export_results(repo, store, [*names, *stages])
        with_series = export_series(repo, store, names) if series else None
    finally:
        store.close()
    refspecs = [spec for sweep in chosen for spec in _refspecs(repo, sweep)]
    for ref, commit in ((NOTES_REF, exported.commit), (SERIES_REF, with_series)):
        if commit is not None:
            refspecs.append(f"{ref}:{ref}")
    pushed = push(repo, remote, refspecs)
    _refuse(remote, pushed)
    return Pushed(remote, names, exported.runs, tuple(pushed))


def _stages(repo: Repository, store: Store, sweep: Sweep, runs_root: Path) -> list[str]:
    """The records of each stage of ``sweep`` run once per point (``gitgrid analyze``), their finished
    run directories collected: a stage's runs travel with the sweep's, in the same notes. (An ``--all``
    stage's run stays here, with the files it wrote.)"""
    found = []
    for stage in store.stages.of(sweep.name):
        if not stage.every:
            records = stage_records(sweep, stage.stage)
            store.sweeps.sync(records, list_points(repo, records))
            refresh(store, repo, records, runs_root)
            found.append(records.name)
    return found


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
    notes = [p for p in rejected if p.ref in (NOTES_REF, SERIES_REF)]
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
    remote: str = "origin",
    repo: Repository | Path | str = ".",
    *,
    series: bool = False,
    dry_run: bool = False,
) -> Pulled:
    """Fetch ``remote``'s sweeps and results (and, with ``series``, its runs' series), merge them into
    the local notes and store what this clone lacks."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    check_remote(repo, remote)
    kinds = [RECORDS, *([SERIES] if series else [])]
    advertised = remote_refs(repo, remote, [*(kind.ref for kind in kinds), f"{TAG_REFS}*"])
    tags = tuple(sorted(ref.removeprefix(TAG_REFS) for ref in advertised
                        if ref.startswith(TAG_REFS) and not ref.endswith("^{}")))  # fmt: skip
    present = [kind for kind in kinds if kind.ref in advertised]
    if dry_run:
        return Pulled(remote, tags, notes=RECORDS in present)
    messages: list[str] = []
    if tags:
        refused = fetch(repo, remote, [f"{TAG_REFS}*:{TAG_REFS}*"])
        messages.extend(
            f"sweep '{excerpt(ref.removeprefix(TAG_REFS).removeprefix(TAG_PREFIX))}' on "
            f"'{excerpt(remote)}' is not this clone's (a sweep of that name was made there and here "
            "apart): not fetched, and its results there are skipped"
            for ref in refused
        )
    if RECORDS not in present:
        return Pulled(remote, tags, messages=[*messages, f"'{excerpt(remote)}' has no results yet"])
    fetch(repo, remote, [f"+{kind.ref}:{_fetched(kind)}" for kind in present])
    try:
        done, gained = _merge_and_import(repo, remote, present)
    finally:
        scratch = [_fetched(kind) for kind in present if repo.ref_exists(_fetched(kind))]
        if scratch:
            repo.update_refs([], delete=scratch)
    return Pulled(remote, tags, done.stored, done.known, done.skipped, True, messages, gained)


def _fetched(kind: Kind) -> str:
    """Where a remote's notes of ``kind`` wait until they are checked and merged."""
    return f"{FETCHED}/{kind.ref.removeprefix('refs/notes/')}"


@dataclass(frozen=True)
class _Checked:
    """Fetched notes whose shape was checked, ours, and the content of every note to read."""

    kind: Kind
    theirs: Notes
    ours: Notes
    contents: dict[str, bytes]


def _merge_and_import(repo: Repository, remote: str, kinds: Sequence[Kind]) -> tuple[Imported, int]:
    """Check the fetched notes (every kind), read what is new in them and in ours, merge, and store the
    records (and series). Every check of the notes' shape comes before anything is written."""
    what = f"the results of '{excerpt(remote)}'"
    _, store = open_store(repo)
    try:
        seen = store.shares.notes_read()
        checked = [_checked(repo, kind, what, seen if kind is RECORDS else set()) for kind in kinds]
        for one in checked:
            merged = merge(
                repo, one.ours, one.theirs, f"gitgrid: merge results from {remote}", what, one.kind
            )
            if merged.commit is not None and merged.commit != one.ours.commit:
                repo.update_refs([RefUpdate(one.kind.ref, merged.commit, one.ours.commit or ZERO)])
        done = import_records(repo, store, checked[0].contents, what)
        gained = import_series(store, checked[1].contents)[0] if len(checked) > 1 else 0
        return done, gained
    finally:
        store.close()


def _checked(repo: Repository, kind: Kind, what: str, seen: set[str]) -> _Checked:
    theirs = read_notes(repo, repo.ref_value(_fetched(kind)), MAX_NOTES, what)
    ours = read_notes(repo, repo.ref_value(kind.ref), MAX_NOTES, f"the local notes {kind.ref}")
    known = set(ours.notes.values())
    contents = read_contents(repo, [b for b in theirs.notes.values() if b not in seen | known], what, kind)
    if kind is RECORDS:  # ours, when the store has not read them (a store rebuilt, say)
        contents.update(read_contents(repo, [b for b in known if b not in seen], "local notes", kind))
    return _Checked(kind, theirs, ours, contents)
