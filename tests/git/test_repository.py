"""The repository wrapper: what it opens, it closes (the dashboard and the optimiser live long)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from gitgrid import open_repository


def children() -> set[int]:
    """Live child processes of this one (zombies are not counted: they hold nothing)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def descriptors() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def test_a_long_loop_of_reads_leaks_no_process_or_descriptor(sim_repo: Path) -> None:
    gc.collect()  # an earlier test's garbage (a pipe, a Popen) closed mid-test would look like a change
    before_children, before_fds = children(), descriptors()
    repo = open_repository(sim_repo)
    for _ in range(300):
        tree = repo.tree("HEAD")
        assert tree.read("src/model.py") is not None
        assert repo.read_object(repo.root_tree("HEAD"))
    during = children() - before_children
    assert 0 < len(during) <= 2  # GitPython's persistent cat-file processes, reused by every read
    repo.close()
    assert children() - before_children == set()
    assert descriptors() == before_fds


def test_a_repository_closes_at_the_end_of_with_and_reopens_on_use(sim_repo: Path) -> None:
    before = children()
    with open_repository(sim_repo) as repo:
        assert repo.tree("HEAD").read("README") == ("100644", b"a simulation\n")
    assert children() - before == set()
    assert repo.tree("HEAD").read("README") is not None  # reopened on use after close
    repo.close()
    assert children() - before == set()
