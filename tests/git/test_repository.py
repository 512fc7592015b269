"""The repository wrapper: what it opens, it closes (the dashboard and the optimiser live long)."""

from __future__ import annotations

import gc
import os
import subprocess
from pathlib import Path

from gitgrid import open_repository
from gitgrid.errors import GitFailure


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


def test_a_git_failure_is_one_line_of_gits_own_words(sim_repo: Path) -> None:
    """git's stderr runs to several lines (a fatal line, then advice about another git process): the
    error keeps git's lines on one line, without its hints, as every error is one line at the CLI."""
    (sim_repo / ".git" / "index.lock").write_text("")
    result = subprocess.run(
        ["git", "checkout", "-q", "--detach"], cwd=sim_repo, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) > 1  # what git says
    message = str(GitFailure(f"git checkout failed: {result.stderr}"))
    assert "\n" not in message and "index.lock" in message and "hint:" not in message
    assert message.startswith("git checkout failed: fatal: Unable to create")
