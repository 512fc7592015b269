"""Streaming commits through ``git fast-import``: the reference writer the pack writer is tested against.

git-filter-repo's way: one ``git fast-import --done`` process fed a stream of commits onto a scratch ref
that is reset before the stream ends, so a driver that dies mid-stream leaves only unreferenced objects
(removed by ``git gc``), never a half-written branch.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import IO

from gitgrid.errors import GitFailure

__all__ = ["FastImport", "quote_path"]

# glibc otherwise hands zlib's buffers back to the kernel after every object: about 4x slower commit writing.
_FAST_IMPORT_ENV = {"MALLOC_TRIM_THRESHOLD_": "268435456"}


class FastImport:
    """One ``git fast-import`` process taking a stream of commits.

    Use as a context manager: leaving the block by an exception kills the process, and what it wrote stays
    unreferenced. :meth:`finish` ends the stream and returns the id of a marked commit.
    """

    def __init__(self, root: Path) -> None:
        self._proc = subprocess.Popen(
            ["git", "fast-import", "--done", "--quiet", "--date-format=raw"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **_FAST_IMPORT_ENV},
            bufsize=1 << 20,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._stdout: IO[bytes] = self._proc.stdout

    def __enter__(self) -> FastImport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for stream in (self._stdin, self._stdout, self._proc.stderr):
            if stream is not None and not stream.closed:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()

    def write(self, data: bytes) -> None:
        try:
            self._stdin.write(data)
        except BrokenPipeError:
            raise self._failure() from None

    def finish(self, ref: str, mark: int) -> str:
        """End the stream: the id of commit ``:mark``; ``ref`` (the scratch ref) is left unset."""
        self.write(b"get-mark :%d\nreset %s\n\ndone\n" % (mark, ref.encode()))
        try:
            self._stdin.close()
        except BrokenPipeError:
            raise self._failure() from None
        commit = self._stdout.readline().decode().strip()
        if self._proc.wait() != 0 or len(commit) != 40:
            raise self._failure()
        return commit

    def _failure(self) -> GitFailure:
        self._proc.wait()
        stderr = self._proc.stderr.read().decode(errors="replace").strip() if self._proc.stderr else ""
        return GitFailure(f"git fast-import failed: {stderr.splitlines()[0] if stderr else 'no message'}")


def quote_path(path: str) -> bytes:
    """A path as fast-import's ``M`` command needs it: C-style quoted when it could be misread."""
    raw = path.encode("utf-8")
    if not (raw.startswith(b'"') or b"\n" in raw or b"\\" in raw):
        return raw
    escaped = raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
    return b'"' + escaped + b'"'
