"""Locks on files whose holder may remove them (a node checkout's lock goes with the checkout)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import pytest

from gitgrid.locks import first_free, remove_held, try_lock


def test_a_lock_won_on_a_file_removed_meanwhile_is_taken_again_on_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "slot-0.lock"
    path.write_text("")
    real = fcntl.flock
    removed: list[int] = []

    def holder_removes_it_first(fd: Any, operation: int) -> None:
        if not removed:  # the holder removed the file and let go while this process waited to lock it
            removed.append(path.stat().st_ino)
            remove_held(path)
        real(fd, operation)

    monkeypatch.setattr("gitgrid.locks.fcntl.flock", holder_removes_it_first)
    taken = try_lock(path)
    assert taken is not None and removed
    assert os.fstat(taken.fileno()).st_ino == path.stat().st_ino  # the file at the path, not the removed one
    monkeypatch.undo()
    assert try_lock(path) is None  # and it is held
    taken.close()


def test_first_free_skips_held_locks_and_recreates_removed_ones(tmp_path: Path) -> None:
    def lock_of(number: int) -> Path:
        return tmp_path / f"slot-{number}.lock"

    number0, held0 = first_free(lock_of)
    number1, held1 = first_free(lock_of)
    assert (number0, number1) == (0, 1)
    remove_held(lock_of(0))
    held0.close()
    again, held = first_free(lock_of)
    assert again == 0 and lock_of(0).exists()
    held.close()
    held1.close()
