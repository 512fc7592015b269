"""Writing a sweep's commits: a linear chain from the base, each the base tree plus one point's files.

Two writers produce the same objects, byte for byte (so the same commit ids): :class:`PackCommits` writes a
pack file directly and is the default; :class:`FastImportCommits` streams through ``git fast-import``
(``--writer fast-import``), and is kept as the reference the pack writer is tested against. Neither
touches a ref, the index, HEAD or the working tree; the caller creates the refs once :meth:`finish`
returned the last commit.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import uuid
from collections.abc import Sequence
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Protocol

from gitgrid.errors import GitFailure
from gitgrid.git.fastimport import quote_path
from gitgrid.git.pack import BLOB, COMMIT, Delta, PackWriter, SealedPack, TreePlan, prepare_delta
from gitgrid.git.repository import Ident, Repository
from gitgrid.rewrite.files import LineFile, PlannedFile, Rendered

__all__ = ["CommitWriter", "FastImportCommits", "ForkedCommits", "PackCommits", "open_commit_writer"]


class CommitWriter(Protocol):
    """Takes one point at a time; ``finish`` returns the last commit's id. An error leaves nothing."""

    def add(self, files: Sequence[Rendered], message: bytes) -> None: ...
    def finish(self) -> str: ...
    def __enter__(self) -> CommitWriter: ...
    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


_FORK_FROM = 4096  # points: below this, starting a writer process costs more than it saves


def open_commit_writer(
    repo: Repository,
    base: str,
    files: Sequence[PlannedFile],
    author: Ident,
    committer: Ident,
    writer: str = "auto",
    count: int = 0,
    parent: str | None = None,
) -> CommitWriter:
    """The pack writer where it applies (``auto``), or the one named: ``pack`` or ``fast-import``.

    For ``count`` points or more the pack writer runs in a forked process (:class:`ForkedCommits`).
    ``parent`` (default ``base``) is where the chain hangs: an existing sweep's tip, to add points to it.
    """
    if writer == "auto":
        writer = "pack"
    if writer == "pack":
        packer = PackCommits(repo, base, files, author, committer, parent)
        if count >= _FORK_FROM and "fork" in multiprocessing.get_all_start_methods():
            return ForkedCommits(packer)
        return packer
    if writer == "fast-import":
        return FastImportCommits(repo, parent or base, author, committer)
    raise ValueError(f"unknown writer {writer!r} (expected auto, pack or fast-import)")


def _commit_object(tree: str, parent: str, author: Ident, committer: Ident, message: bytes) -> bytes:
    head = f"tree {tree}\nparent {parent}\nauthor {author.line}\ncommitter {committer.line}\n\n"
    return head.encode() + message


Payload = tuple[bytes, ...] | bytes  # a rewritten file's hole values, or a template output's content
Blob = Delta | bytes  # a rewritten file's prepared delta, or a template output's content


class PackCommits:
    """Writes every object of the sweep into new packs (see :mod:`gitgrid.git.pack`).

    A pack is sealed and another started every :data:`~gitgrid.git.pack.MAX_OBJECTS` objects, which is
    what keeps memory flat however many points a sweep has; each pack stores the delta bases again (a few
    KiB). The packs keep temporary names until :meth:`finish` has sealed the last, so a failed or
    killed create never leaves a pack git can see. The base trees are read when it is made; the first
    pack is only opened on ``__enter__``, so that a forked process can own it.
    """

    def __init__(
        self,
        repo: Repository,
        base: str,
        files: Sequence[PlannedFile],
        author: Ident,
        committer: Ident,
        parent: str | None = None,
    ) -> None:
        self._parent = parent or base
        self._files = tuple(files)
        self._people = (author, committer)
        self._trees = TreePlan(repo.read_object, repo.root_tree(base), [(f.path, f.mode) for f in files])
        self._pack_dir = repo.git_dir / "objects" / "pack"
        self._pack: PackWriter | None = None
        self._sealed: list[SealedPack] = []
        self._base_offsets: list[int] = []

    def __enter__(self) -> PackCommits:
        self._open_pack()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            if self._pack is not None:
                self._pack.abort()
            for sealed in self._sealed:
                sealed.discard()

    def _open_pack(self) -> PackWriter:
        """Start a pack with the delta bases every point's blobs and trees refer to."""
        self._pack = pack = PackWriter(self._pack_dir)
        self._trees.write_bases(pack)
        self._base_offsets = [
            pack.add_base(BLOB, f.base) if isinstance(f, LineFile) else -1 for f in self._files
        ]
        return pack

    def add(self, files: Sequence[Rendered], message: bytes) -> None:
        self.write(self.prepare([rendered.payload for rendered in files]), message)

    def prepare(self, payloads: Sequence[Payload]) -> list[Blob]:
        """The blobs of one point, hashed and delta-encoded: all that needs no pack (see ForkedCommits)."""
        blobs: list[Blob] = []
        for planned, payload in zip(self._files, payloads, strict=True):
            if isinstance(payload, bytes):
                blobs.append(payload)
            else:
                assert isinstance(planned, LineFile)
                data = planned.splice.build(payload)
                blobs.append(prepare_delta(BLOB, data, planned.splice.delta(payload, len(data))))
        return blobs

    def write(self, blobs: Sequence[Blob], message: bytes) -> None:
        """Store one point's blobs (from :meth:`prepare`), its trees and its commit."""
        pack = self._pack
        assert pack is not None, "use PackCommits as a context manager"
        if pack.full:  # checked before a point, not after: the last pack is never one of bases alone
            self._sealed.append(pack.seal())
            pack = self._open_pack()
        blob_ids = [
            pack.add(BLOB, blob) if isinstance(blob, bytes) else pack.add_prepared(blob, base)
            for blob, base in zip(blobs, self._base_offsets, strict=True)
        ]
        tree = self._trees.write_point(pack, blob_ids).hex()
        commit = _commit_object(tree, self._parent, *self._people, message)
        self._parent = pack.add_unique(COMMIT, commit).hex()

    def finish(self) -> str:
        """Seal the last pack and publish them all, each pack before the index by which git finds it."""
        assert self._pack is not None
        self._sealed.append(self._pack.seal())
        self._pack = None
        for sealed in self._sealed:
            sealed.publish()
        return self._parent


class ForkedCommits:
    """A :class:`PackCommits` in a forked process, fed batches of prepared blobs through a pipe.

    This process makes each point (values, texts, message) and its blobs (content, hash, delta); the
    child writes them with the point's trees and commit, so the work is shared by two cores. The child
    stops at end of input: if this process dies or leaves by an error before :meth:`finish`, the child
    deletes its temporary pack and nothing is written.
    """

    _BATCH = 256

    def __init__(self, packer: PackCommits) -> None:
        self._packer = packer
        self._batch: list[tuple[list[Blob], bytes]] = []
        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(packer, child_end, self._conn), name="gitgrid-pack", daemon=True
        )
        self._child_end = child_end

    def __enter__(self) -> ForkedCommits:
        self._process.start()
        self._child_end.close()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._conn.close()  # end of input: after finish() a no-op, else the child aborts
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def add(self, files: Sequence[Rendered], message: bytes) -> None:
        self._batch.append((self._packer.prepare([rendered.payload for rendered in files]), message))
        if len(self._batch) >= self._BATCH:
            self._send()

    def _send(self) -> None:
        try:
            self._conn.send_bytes(pickle.dumps(self._batch, pickle.HIGHEST_PROTOCOL))
        except (BrokenPipeError, ConnectionResetError):
            self._raise_child_error()
        self._batch = []

    def finish(self) -> str:
        if self._batch:
            self._send()
        self._conn.send_bytes(b"")
        status, value = self._result()
        if status != "ok":
            raise GitFailure(f"writing the pack failed: {value}")
        return value

    def _result(self) -> tuple[str, str]:
        try:
            status, value = self._conn.recv()
        except EOFError:
            return "error", f"the pack writer process ended with status {self._process.exitcode}"
        return str(status), str(value)

    def _raise_child_error(self) -> None:
        raise GitFailure(f"writing the pack failed: {self._result()[1]}")


def _serve(packer: PackCommits, conn: Connection, parent_end: Connection) -> None:
    """The child's loop: pack every batch until the empty message, then report the tip commit."""
    parent_end.close()  # else this process would keep its own input open and never see the end
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        with packer:
            while batch := conn.recv_bytes():
                for blobs, message in pickle.loads(batch):
                    packer.write(blobs, message)
            tip = packer.finish()
    except EOFError:
        return  # the parent went away or gave up: the pack was dropped on the way out
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", tip))


class FastImportCommits:
    """Streams the sweep through one ``git fast-import`` on a scratch ref that is reset before the end."""

    def __init__(self, repo: Repository, base: str, author: Ident, committer: Ident) -> None:
        self._ref = f"refs/gitgrid/tmp/{uuid.uuid4().hex}".encode()
        self._head = f"author {author.line}\ncommitter {committer.line}\n".encode()
        self._from = b"from %s\n" % base.encode()
        self._stream = repo.fast_import()
        self._count = 0

    def __enter__(self) -> FastImportCommits:
        self._stream.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stream.__exit__(kind, exc, tb)

    def add(self, files: Sequence[Rendered], message: bytes) -> None:
        self._count += 1
        parts = [b"commit ", self._ref, b"\nmark :%d\n" % self._count, self._head]
        parts += [b"data %d\n" % len(message), message, b"\n", self._from]
        for rendered in files:
            planned = rendered.file
            parts += [b"M ", planned.mode.encode(), b" inline ", quote_path(planned.path), b"\n"]
            parts += [b"data %d\n" % len(rendered.data), rendered.data, b"\n"]
        self._stream.write(b"".join(parts))
        self._from = b""

    def finish(self) -> str:
        return self._stream.finish(self._ref.decode(), mark=self._count)
