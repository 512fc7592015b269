"""The results notes: the ref, which note a run's record goes in, the bounds a note is read within, and
the union two machines' notes merge into.

The records of a sweep's points ``64 k`` to ``64 k + 63`` (every attempt of each) are one note, attached
to the commit of point ``64 k``: a note per point would cost 160 bytes a point in a pack (a tree entry and
a blob each, random ids that do not compress), a note per 64 points costs 60 (measured:
docs/git.md). Each note holds its lines sorted, each once, so the notes of two machines merge by a union
of lines, note by note: what ``git notes merge -s cat_sort_uniq`` gives (tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gitgrid.git.notes import NoteProblem, Notes, read_blobs, read_notes, write_notes
from gitgrid.git.repository import Repository

__all__ = [
    "CHUNK",
    "MAX_NOTES",
    "NOTES_REF",
    "RECORDS",
    "SERIES",
    "SERIES_REF",
    "Kind",
    "Merged",
    "anchor",
    "merge",
    "note_lines",
    "read_contents",
    "union",
]

NOTES_REF = "refs/notes/gitgrid"
SERIES_REF = "refs/notes/gitgrid-series"  # runs' series, pushed and pulled with --series
CHUNK = 64  # points per note
MAX_NOTES = 1 << 17  # notes in a results ref: 8 million points


@dataclass(frozen=True)
class Kind:
    """A notes ref gitgrid writes and the bounds a note of it is read within: bytes of one note, lines
    (records) in one note, bytes of all the notes one pull reads."""

    ref: str
    max_note: int
    max_lines: int
    max_bytes: int


RECORDS = Kind(NOTES_REF, 4 << 20, 1 << 15, 1 << 30)  # 64 points of 512 attempts; 1 GiB
SERIES = Kind(SERIES_REF, 256 << 20, 1 << 15, 4 << 30)  # a run's series may be long


def anchor(index: int) -> int:
    """The point whose commit carries the note holding point ``index``'s records."""
    return index - index % CHUNK


def note_lines(content: bytes) -> list[bytes]:
    """A note's records: its non-empty lines."""
    return [line for line in content.split(b"\n") if line]


def union(*contents: bytes) -> bytes:
    """The lines of every note, sorted (bytewise), each once, each ended by a newline: git's
    ``cat_sort_uniq``."""
    lines = sorted({line for content in contents for line in note_lines(content)})
    return b"".join(line + b"\n" for line in lines)


def read_contents(
    repo: Repository, blobs: Sequence[str], what: str, kind: Kind = RECORDS
) -> dict[str, bytes]:
    """The content of each note blob, within the bounds of ``kind``: :class:`NoteProblem` for a note too
    large or of too many records, or too many bytes of notes in all."""
    wanted = list(dict.fromkeys(blobs))
    contents: dict[str, bytes] = {}
    total = 0
    for blob, content in zip(wanted, read_blobs(repo, wanted, kind.max_note, what), strict=True):
        total += len(content)
        if total > kind.max_bytes:
            raise NoteProblem(
                f"{what}: more than {kind.max_bytes >> 20} MiB of notes; not results gitgrid wrote"
            )
        if content.count(b"\n") > kind.max_lines:
            raise NoteProblem(f"{what}: note {blob[:12]} holds more than {kind.max_lines} records")
        contents[blob] = content
    return contents


@dataclass(frozen=True)
class Merged:
    """The notes after a merge: their commit (None: no notes at all) and whether it is new."""

    commit: str | None
    notes: Mapping[str, str]
    written: bool = False


def merge(
    repo: Repository, ours: Notes, theirs: Notes, message: str, what: str, kind: Kind = RECORDS
) -> Merged:
    """Our notes and theirs as one: theirs when ours are in their history, ours when theirs are in ours,
    else a merge commit whose notes are the union, note by note (both are checked first by the caller)."""
    if theirs.commit is None or theirs.commit == ours.commit:
        return Merged(ours.commit, ours.notes)
    if ours.commit is None or repo.is_ancestor(ours.commit, theirs.commit):
        return Merged(theirs.commit, theirs.notes)
    if repo.is_ancestor(theirs.commit, ours.commit):
        return Merged(ours.commit, ours.notes)
    both = [t for t in theirs.notes if t in ours.notes and ours.notes[t] != theirs.notes[t]]
    contents = read_contents(
        repo, [*(ours.notes[t] for t in both), *(theirs.notes[t] for t in both)], what, kind
    )
    notes: dict[str, bytes | str] = {**ours.notes, **theirs.notes}
    for target in both:
        notes[target] = union(contents[ours.notes[target]], contents[theirs.notes[target]])
    commit = write_notes(repo, notes, [ours.commit, theirs.commit], message)
    return Merged(commit, read_notes(repo, commit, MAX_NOTES, what).notes, written=True)
