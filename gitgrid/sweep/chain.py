"""A sweep's points read back from its commits in index order, in memory that does not grow with the sweep.

git walks history from the newest commit: asked for the oldest first over a range (``git log --reverse
base..tip``), it holds every commit of the range before printing one, 600 MiB per million points. So the
chain is read newest first (:meth:`~gitgrid.git.repository.Repository.walk_chain`, one short git process
per 65,536 commits); as git prints them, the commits are filtered and rendered by blocks of 4,096, each
block oldest first, and the blocks wait in a temporary file (:class:`Spill`) to be handed out last block
first. Memory is a block and what the pipe holds; the time is git's one pass, the rendering done meanwhile.

The sweep's record says where its chain starts (base), ends (tip) and how long it is (count). When the walk
from the tip does not meet the base within ``count`` commits, the chain is not the line gitgrid wrote (a
record edited by hand, a rewritten history): the points are then read as before, over the range
``base..tip``, with git holding it in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

from gitgrid.errors import GitgridError, SweepError, excerpt
from gitgrid.git.repository import Repository
from gitgrid.spec.values import Value
from gitgrid.sweep.record import TRAILERS, Sweep, point_params, trailer_number

__all__ = ["BLOCK", "PointRow", "Spill", "commit_blocks", "point_blocks"]

PointRow = tuple[Any, ...]  # index, commit, params (and tree): a point as its trailers give it
Record = tuple[str, ...]  # a commit id and the fields git printed for it
_TRAILER_FIELDS = [f"%(trailers:key={key},valueonly,separator=%x1d)" for key in TRAILERS]
BLOCK = 4096  # commits rendered at a time: about 20 ms of work, while git reads on


class Spill:
    """Blocks of bytes kept in an unnamed temporary file (``$TMPDIR``), handed back last block first.

    The last block pushed stays in memory, so a sweep of one block never touches the disk.
    """

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._spans: list[tuple[int, int]] = []
        self._last: bytes | None = None

    def push(self, block: bytes) -> None:
        if self._last is not None:
            if self._file is None:
                import tempfile  # only for sweeps of several blocks: start-up time

                self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by popped())
            self._spans.append((self._file.tell(), len(self._last)))
            self._file.write(self._last)
        self._last = block

    def popped(self) -> Iterator[bytes]:
        """Every block, last pushed first; the file is closed at the end (or when the reader stops)."""
        try:
            if self._last is not None:
                yield self._last
                self._last = None
            if self._file is not None:
                self._file.flush()
                for start, size in reversed(self._spans):
                    self._file.seek(start)
                    yield self._file.read(size)
        finally:
            self.close()

    def close(self) -> None:
        """Drop every block (the file goes with its last descriptor: it never had a name)."""
        self._last = None
        if self._file is not None:
            self._file.close()


def point_blocks(
    repo: Repository,
    sweep: Sweep,
    render: Callable[[list[PointRow]], bytes],
    keep: Callable[[Mapping[str, Value]], bool] | None = None,
    trees: bool = False,
) -> Iterator[bytes]:
    """The sweep's points, in index order, by blocks of consecutive points each given to ``render``.

    ``keep`` chooses points by their params (``--where``); it and ``render`` run as the chain is read.
    With ``trees`` each row also ends with its commit's tree id (read by the same walk, for run keys).
    """

    names = frozenset(sweep.params)

    def rows(records: Iterable[Record]) -> list[PointRow]:
        out: list[PointRow] = []
        for commit, index, params_json, *tree in records:
            if not index:
                continue  # a commit added to the branch by hand, not a point
            number, params = _point(sweep, names, commit, index, params_json)
            if keep is None or keep(params):
                out.append((number, commit, params, *(tree or [""])) if trees else (number, commit, params))
        return out

    fields = [*_TRAILER_FIELDS, "%T"] if trees else _TRAILER_FIELDS
    spill, length = _walk(repo, sweep, lambda records: render(rows(records)), fields)
    if length is not None:
        return spill.popped()
    records = repo.log_trailers(sweep.base, sweep.tip, TRAILERS, tree=trees)
    return _by_range(records, lambda r: render(rows(r)))


def _point(
    sweep: Sweep, names: frozenset[str], commit: str, index: str, params_json: str
) -> tuple[int, dict[str, Value]]:
    """A point's index and params from its trailers, checked: they may come from someone else's repository."""
    try:
        number = trailer_number(index)
        if number is None:
            raise ValueError(f"commit {commit[:12]}: Gitgrid-Index '{excerpt(index)}' is not a point index")
        return number, point_params(params_json, names, commit)
    except ValueError as exc:
        raise SweepError(f"sweep '{sweep.name}': {exc}") from None


def commit_blocks(repo: Repository, sweep: Sweep) -> Iterator[list[str]] | None:
    """Commit ids of the sweep's points in index order, by blocks; None unless the chain is exactly the
    ``count`` commits gitgrid wrote on the base (then points are told from other commits by their trailers).
    """
    spill, length = _walk(repo, sweep, lambda records: "\n".join(r[0] for r in records).encode(), ())
    if length != sweep.count:
        spill.close()
        return None
    return (block.decode().split("\n") for block in spill.popped())


def _walk(
    repo: Repository, sweep: Sweep, render: Callable[[list[Record]], bytes], fields: Iterable[str]
) -> tuple[Spill, int | None]:
    """The chain from the tip rendered into a spill by blocks of :data:`BLOCK` commits, oldest first
    within each; and the number of commits above the base, or None when the walk did not meet the base
    within ``count`` commits.

    A commit that cannot be read as a point stops the listing only if it turns out to be in the sweep: a
    walk that misses the base may have gone past the sweep's commits.
    """
    spill = Spill()
    length: int | None = None
    seen = 0
    failure: Exception | None = None
    block: list[Record] = []

    def push() -> None:
        nonlocal failure
        block.reverse()
        try:
            if failure is None:
                spill.push(render(block))
        except (ValueError, TypeError, GitgridError) as exc:
            failure = exc
        block.clear()

    for chunk in repo.walk_chain(sweep.tip, sweep.base, max(sweep.count, 0) + 1, list(fields)):
        if chunk and chunk[-1][0] == sweep.base:
            chunk.pop()
            length = seen + len(chunk)
        seen += len(chunk)
        block += chunk
        if len(block) >= BLOCK:
            push()
    if block:
        push()
    if length is None or failure is not None:
        spill.close()
    if failure is not None and length is not None:
        raise failure
    return spill, length


def _by_range(records: Iterator[list[str]], render: Callable[[list[Record]], bytes]) -> Iterator[bytes]:
    """Records already oldest first (``git log --reverse``), rendered by blocks of :data:`BLOCK`."""
    block: list[Record] = []
    for record in records:
        block.append(tuple(record))
        if len(block) == BLOCK:
            yield render(block)
            block = []
    if block:
        yield render(block)
