"""Whether the results store is one gitgrid wrote here, and so whether the paths it holds may be followed.

A store is a file: someone can commit ``.gitgrid/results.db`` into a repository (every clone then has it),
or copy one in. Its numbers can be shown for what they are, but its run directories are paths someone
else chose, so a store gitgrid did not write is *doubted* (#17): its results are shown with a warning,
and no path it holds is followed (no logs, ``meta.json`` or live series are read through it). gitgrid
doubts a store when

- git tracks anything under ``.gitgrid/`` (it came with the repository: gitgrid itself keeps
  ``.gitgrid/`` out of commits through ``.git/info/exclude``);
- the store belongs to another user;
- the store is not the file gitgrid created here: when gitgrid creates a store (or rebuilds one) it
  notes the file's device and inode in the git dir (``.git/gitgrid/store.json``, which no clone
  carries); a store file that is another file was copied or moved in since. A store without that note
  (made before gitgrid kept it) is not doubted for lacking it.

Whatever a store says, a run directory from it is used only as :func:`gitgrid.layout.run_dir_problem`
allows.
"""

from __future__ import annotations

import json
import os
import stat
from contextlib import suppress

from gitgrid.git.repository import Repository
from gitgrid.layout import Layout

__all__ = ["doubt_warning", "record_store", "store_doubt"]


def store_doubt(repo: Repository, layout: Layout) -> str | None:
    """Why the store of ``layout`` is not one gitgrid wrote here, or None (also when there is none)."""
    try:
        info = os.lstat(layout.store)
    except OSError:
        return None
    home = layout.home.relative_to(repo.root).as_posix() if layout.home.is_relative_to(repo.root) else ""
    if home and repo.tracked(home):
        return f"git tracks {home}/ in this repository, so the store came with it"
    if info.st_uid != os.geteuid():
        return f"it belongs to another user (uid {info.st_uid})"
    noted = _noted(layout)
    if noted is not None and noted != (info.st_dev, info.st_ino):
        return "it is not the file gitgrid created there (it was copied or moved in since)"
    return None


def doubt_warning(layout: Layout, why: str) -> str:
    """The warning for a doubted store: what is shown, what is not, and how to have a store of one's own."""
    return (
        f"{layout.store} was not written by gitgrid here ({why}): its results are shown, but no path it "
        "holds is followed (no logs, meta.json or live series); 'gitgrid collect --rebuild' makes a "
        "store of your own from the run directories"
    )


def record_store(layout: Layout) -> None:
    """Note which file is the store gitgrid just created (device and inode), in the git dir. Best effort:
    a git dir that cannot be written only loses the note."""
    with suppress(OSError):
        info = os.lstat(layout.store)
        record = layout.store_record
        record.parent.mkdir(parents=True, exist_ok=True)
        temporary = record.with_name(f".{record.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"device": info.st_dev, "inode": info.st_ino}) + "\n")
        temporary.replace(record)


def _noted(layout: Layout) -> tuple[int, int] | None:
    """The device and inode noted, read as a small regular file (never a link or a FIFO)."""
    try:
        fd = os.open(layout.store_record, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        noted = json.loads(os.read(fd, 4096))
        return int(noted["device"]), int(noted["inode"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(fd)
