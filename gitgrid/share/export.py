"""Writing the store's finished runs into the local results notes (``refs/notes/gitgrid``), as
``gitgrid push`` does before it pushes them.

Only runs not written before are read (the store flags each run once it is in the notes); each changed
note is the union of what it held and the new records, written with the others in one pack and one
commit, and the ref moves only if nobody moved it meanwhile. When the notes the flags refer to are gone
(the ref was deleted or reset), every run is written again: the union makes that harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitgrid.git.notes import read_notes, write_notes
from gitgrid.git.pack import BLOB, object_id
from gitgrid.git.repository import ZERO, RefUpdate, Repository
from gitgrid.share.notes import CHUNK, MAX_NOTES, NOTES_REF, anchor, read_contents, union
from gitgrid.share.record import StageDefinition, encode
from gitgrid.store import Store
from gitgrid.sweep.stages import split_records

__all__ = ["Exported", "export_results"]

_LOCAL = "the local results notes (refs/notes/gitgrid)"


@dataclass(frozen=True)
class Exported:
    """What an export wrote: how many run records, and the notes commit after it (None: no notes)."""

    runs: int
    commit: str | None


def export_results(repo: Repository, store: Store, sweeps: Sequence[str]) -> Exported:
    """Write the finished runs of ``sweeps`` that the local results notes lack into them."""
    local = repo.ref_value(NOTES_REF)
    marker = store.shares.exported()
    if marker is not None and (local is None or not repo.is_ancestor(marker, local)):
        store.shares.unshare_all()
    additions: dict[str, list[bytes]] = {}
    ids: list[int] = []
    for sweep in sweeps:
        anchors, stage = store.shares.commits(sweep, CHUNK), _stage(store, sweep)
        for run_id, run in store.shares.unshared(sweep):
            target = anchors.get(anchor(run.index))
            if target is not None:  # (always, unless the store lost the point, or an --all stage's run)
                additions.setdefault(target, []).append(encode(run, stage))
                ids.append(run_id)
    if not ids:
        return Exported(0, local)
    ours = read_notes(repo, local, MAX_NOTES, _LOCAL)
    old = read_contents(repo, [ours.notes[t] for t in additions if t in ours.notes], _LOCAL)
    changed: dict[str, bytes] = {}
    for target, lines in additions.items():
        previous = old.get(ours.notes.get(target, ""), b"")
        content = union(previous, b"\n".join(lines))
        if content != previous:
            changed[target] = content
    if not changed:  # every record is in the notes already (pulled back, say)
        store.shares.mark_shared(ids, local)
        return Exported(0, local)
    named = ", ".join(sweeps[:3]) + (f" and {len(sweeps) - 3} more" if len(sweeps) > 3 else "")
    message = f"gitgrid: {len(ids)} run records of {named}"
    commit = write_notes(repo, {**ours.notes, **changed}, [local] if local else [], message)
    repo.update_refs([RefUpdate(NOTES_REF, commit, local or ZERO)])
    written = [object_id(BLOB, content).hex() for content in changed.values()]
    store.shares.mark_shared(ids, commit, written)
    return Exported(len(ids), commit)


def _stage(store: Store, sweep: str) -> StageDefinition | None:
    """For a stage's records (``SWEEP:STAGE``), the stage's command and ``--uses`` its runs' lines carry."""
    base, name = split_records(sweep)
    found = [s for s in store.stages.of(base) if s.stage == name] if name is not None else []
    return (found[0].command, found[0].uses) if found else None
