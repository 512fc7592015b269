"""git notes, read and written in bulk: a notes commit's tree as a map from annotated object to note blob,
and a new notes commit written by gitgrid's own pack writer (never one ``git notes`` process per note).

A notes tree names each note by the id of the object it annotates, whole (``<40 hex>``) or split into
fan-out folders of two hex digits (``ab/cdef...``), as git does once there are many notes; git reads
either. gitgrid always writes one level of fan-out, so a notes tree of N notes is a root of at most 256
folders, and a change rewrites only the folders it touches.

A notes ref may come from someone else's repository (``gitgrid pull``). Reading one checks every entry
(a note is a regular-file blob named by hex digits, a fan-out folder two hex digits; nothing else, so no
path, link or submodule) and stops past a bound on their number before any blob is read; blobs are read
only after their sizes were checked against a bound.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from gitgrid.errors import GitFailure, RepoError, excerpt
from gitgrid.git.pack import BLOB, COMMIT, TREE, PackWriter
from gitgrid.git.repository import Repository

__all__ = ["NoteProblem", "Notes", "object_type", "read_blobs", "read_notes", "write_notes"]

_HEX40 = re.compile(r"[0-9a-f]{40}")
_FANOUT = re.compile(r"[0-9a-f]{2}")
_NOTE_MODE = "100644"


class NoteProblem(RepoError):
    """A notes ref that is not what git (or gitgrid) writes: a wrong object type, an entry that is no
    note, too many notes, a blob too large. The message names the ref and the entry."""


@dataclass(frozen=True)
class Notes:
    """A notes commit and its notes: annotated object id -> note blob id (both hex)."""

    commit: str | None
    notes: Mapping[str, str]


def object_type(repo: Repository, oid: str) -> str | None:
    """``commit``, ``tree``, ``blob`` or ``tag`` for an object id (hex), None when there is no such object."""
    if not _HEX40.fullmatch(oid):
        return None
    result = subprocess.run(
        ["git", "cat-file", "-t", "--end-of-options", oid],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def read_notes(repo: Repository, commit: str | None, limit: int, what: str = "notes") -> Notes:
    """The notes of ``commit`` (None: no notes yet), each entry checked; :class:`NoteProblem` when the
    commit is no commit, an entry is not a note, or there are more than ``limit`` notes."""
    if commit is None:
        return Notes(None, {})
    kind = object_type(repo, commit)
    if kind != "commit":
        raise NoteProblem(f"{what}: {commit[:12]} is a {kind or 'missing object'}, not a notes commit")
    notes: dict[str, str] = {}
    args = ["git", "ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit]
    with subprocess.Popen(args, cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        try:
            for entry in _entries(proc.stdout):
                target, blob = _note(entry, what)
                notes[target] = blob
                if len(notes) > limit:
                    raise NoteProblem(f"{what}: more than {limit} notes; not a results ref gitgrid wrote")
        finally:
            proc.kill()
        if proc.wait() not in (0, -9):
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise GitFailure(f"git ls-tree {commit[:12]} failed: {err}")
    return Notes(commit, notes)


def _entries(stream: IO[bytes]) -> Iterator[bytes]:
    """NUL-ended records of ``git ls-tree -z``, as they come."""
    pending = b""
    while chunk := stream.read(1 << 16):
        pending += chunk
        *records, pending = pending.split(b"\0")
        yield from records
    if pending:
        yield pending


def _note(entry: bytes, what: str) -> tuple[str, str]:
    """``(annotated id, blob id)`` of one ``ls-tree -r`` record, or :class:`NoteProblem` saying why not."""
    head, _, path_bytes = entry.partition(b"\t")
    path = path_bytes.decode("utf-8", "replace")
    fields = head.decode("ascii", "replace").split(" ")
    parts = path.split("/")
    named = "".join(parts)
    if (
        len(fields) != 3
        or fields[0] != _NOTE_MODE
        or fields[1] != "blob"
        or not _HEX40.fullmatch(fields[2])
        or not _HEX40.fullmatch(named)
        or not all(_FANOUT.fullmatch(part) for part in parts[:-1])
    ):
        raise NoteProblem(f"{what}: entry '{excerpt(path)}' ({excerpt(head.decode('ascii', 'replace'))}) "
                          "is not a note: a note is a file named by the id of what it annotates")  # fmt: skip
    return named, fields[2]


def read_blobs(repo: Repository, blobs: Sequence[str], limit: int, what: str = "notes") -> Iterator[bytes]:
    """The content of each blob in order, from one ``git cat-file --batch``; :class:`NoteProblem` when
    one is larger than ``limit`` bytes (checked first by ``--batch-check``: nothing large is read)."""
    if not blobs:
        return
    for blob, size in zip(blobs, _sizes(repo, blobs), strict=True):
        if size > limit:
            raise NoteProblem(f"{what}: note {blob[:12]} holds {size} bytes, more than {limit}")
    proc = subprocess.Popen(
        ["git", "cat-file", "--batch"], cwd=repo.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    feeder = threading.Thread(target=_feed, args=(proc, blobs), daemon=True)  # no deadlock on full pipes
    feeder.start()
    try:
        assert proc.stdout is not None
        for blob in blobs:
            header = proc.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise NoteProblem(f"{what}: {blob[:12]} is not a blob")
            data = proc.stdout.read(int(header[2]) + 1)[:-1]
            yield data
    finally:
        proc.kill()
        proc.wait()
        feeder.join()


def _feed(proc: subprocess.Popen[bytes], ids: Sequence[str]) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write("".join(f"{oid}\n" for oid in ids).encode())
        proc.stdin.close()
    except (BrokenPipeError, ValueError, OSError):
        pass


def _sizes(repo: Repository, ids: Sequence[str]) -> list[int]:
    """Each object's size, by ``git cat-file --batch-check`` (an object that is missing or no blob: -1)."""
    result = subprocess.run(
        ["git", "cat-file", "--batch-check"], cwd=repo.root, capture_output=True, check=False,
        input="".join(f"{oid}\n" for oid in ids).encode(),
    )  # fmt: skip
    if result.returncode != 0:
        raise GitFailure(f"git cat-file failed: {result.stderr.decode(errors='replace').strip()}")
    sizes = []
    for line in result.stdout.decode(errors="replace").splitlines():
        fields = line.split()
        sizes.append(int(fields[2]) if len(fields) == 3 and fields[1] == "blob" else -1)
    if len(sizes) != len(ids) or -1 in sizes:
        raise NoteProblem("a note is missing or not a blob")
    return sizes


def write_notes(
    repo: Repository, notes: Mapping[str, bytes | str], parents: Sequence[str], message: str
) -> str:
    """Write a notes commit whose tree holds ``notes`` (annotated id -> new content, or the id of a blob
    that exists already) with ``parents``; returns its id. Objects go into one new pack; no ref moves."""
    pack = PackWriter(repo.git_dir / "objects" / "pack")
    try:
        folders: dict[str, list[tuple[bytes, bytes]]] = {}
        for target in sorted(notes):
            note = notes[target]
            blob = pack.add(BLOB, note, level=9) if isinstance(note, bytes) else bytes.fromhex(note)
            folders.setdefault(target[:2], []).append((target[2:].encode(), blob))
        root = []
        for folder in sorted(folders):
            entries = b"".join(b"100644 %s\0%s" % (name, blob) for name, blob in folders[folder])
            root.append(b"40000 %s\0%s" % (folder.encode(), pack.add(TREE, entries, level=9)))
        tree = pack.add(TREE, b"".join(root), level=9)
        commit = _commit_body(repo, tree.hex(), parents, message)
        oid = pack.add(COMMIT, commit)
        pack.seal().publish()
    except BaseException:
        pack.abort()
        raise
    return oid.hex()


def _commit_body(repo: Repository, tree: str, parents: Sequence[str], message: str) -> bytes:
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines += [f"author {repo.ident('AUTHOR').line}", f"committer {repo.ident('COMMITTER').line}"]
    return ("\n".join(lines) + f"\n\n{message.rstrip()}\n").encode()
