"""Reading a sweep back by segments of its chain, newest first, reversed through a spill: the same points,
in the same order, as the one ``git log --reverse base..tip`` it replaces; and the same fallback."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from gitgrid import create_sweep, list_commits, list_points, open_repository
from gitgrid.cli.output import write_tuples
from gitgrid.errors import SweepError
from gitgrid.git import repository
from gitgrid.sweep import chain
from gitgrid.sweep.chain import Spill
from gitgrid.sweep.record import PointRecord, Sweep
from tests.helpers import cli, git, make_repo

SPEC = "files: [m.py]\nparams:\n  a: {range: [1, 30]}\n  b: {values: ['x', 'y, \"z\"', 't\\tu']}\n"


@pytest.fixture
def small_segments(monkeypatch: pytest.MonkeyPatch) -> int:
    """Segments of 16 commits and blocks of 5, so that a 90-point sweep takes six git processes and a
    spill of 18 blocks."""
    monkeypatch.setattr(repository, "CHAIN_SEGMENT", 16)
    monkeypatch.setattr(chain, "BLOCK", 5)
    return 16


@pytest.fixture
def swept(tmp_path: Path) -> tuple[Path, Sweep]:
    repo = make_repo(tmp_path / "r", {"m.py": "a = 0\nb = 'q'\n"})
    (repo / "spec.yaml").write_text(SPEC)
    return repo, create_sweep(repo / "spec.yaml", repo)


def range_points(repo: Path, sweep: Sweep) -> list[PointRecord]:
    """The points as gitgrid read them before: one ``git log --reverse`` over ``base..tip`` (with each
    commit's tree, which the walk now reads too)."""
    fmt = (
        "%H%x1f%(trailers:key=Gitgrid-Index,valueonly)%x1f%(trailers:key=Gitgrid-Params,valueonly)%x1f%T%x1e"
    )
    out = git(repo, "log", "--reverse", "--first-parent", f"--format={fmt}", f"{sweep.base}..{sweep.tip}")
    records = [r.strip("\n").split("\x1f") for r in out.split("\x1e")[:-1]]
    return [PointRecord(int(i), c, json.loads(p), t) for c, i, p, t in records if i]


def test_points_read_by_segments_equal_the_range_walk(swept: tuple[Path, Sweep], small_segments: int) -> None:
    path, sweep = swept
    repo = open_repository(path)
    expected = range_points(path, sweep)
    assert len(expected) == 90 > 5 * small_segments
    assert list(list_points(repo, sweep)) == expected
    assert list(list_points(repo, sweep, "a % 7 == 0")) == [p for p in expected if p.params["a"] % 7 == 0]
    assert list(list_commits(repo, sweep)) == [p.commit for p in expected]


@pytest.mark.parametrize("fmt", ["tsv", "csv", "json"])
def test_list_formats_give_the_bytes_of_the_row_writer(
    swept: tuple[Path, Sweep], small_segments: int, fmt: str
) -> None:
    path, sweep = swept
    points = range_points(path, sweep)
    for short, where in [(False, None), (True, "b != 'x'")]:
        kept = [p for p in points if where is None or p.params["b"] != "x"]
        width = 12 if short else 40
        rows = [(p.index, p.commit[:width], p.params["a"], p.params["b"]) for p in kept]
        expected = io.StringIO()
        write_tuples(rows, ["index", "commit", "a", "b"], fmt, expected)
        args = ["list", "-f", fmt, *(["--short"] if short else []), *(["--where", where] if where else [])]
        assert cli(*args, repo=path).stdout == expected.getvalue()
    assert cli("list", repo=path).stdout == "".join(p.commit + "\n" for p in points)
    assert cli("list", "--where", "a == 3", repo=path).stdout.split() == [p.commit for p in points[6:9]]


def test_a_chain_that_is_not_the_one_recorded_is_read_over_the_range(
    swept: tuple[Path, Sweep], small_segments: int
) -> None:
    path, sweep = swept
    repo = open_repository(path)
    git(path, "checkout", "-q", sweep.name)
    git(path, "commit", "-q", "--allow-empty", "-m", "added by hand")
    on_top = git(path, "rev-parse", "HEAD").strip()
    git(path, "checkout", "-q", "--orphan", "side")
    git(path, "commit", "-q", "--allow-empty", "-m", "elsewhere")
    elsewhere = git(path, "rev-parse", "HEAD").strip()
    records = [
        dataclasses.replace(sweep, count=5),  # the walk stops before the base
        dataclasses.replace(sweep, tip=on_top),  # one commit more than counted
        dataclasses.replace(sweep, count=200),  # fewer points than counted
        dataclasses.replace(sweep, base=elsewhere),  # a base the chain never meets
    ]
    for record in records:
        expected = range_points(path, record)
        assert list(list_points(repo, record)) == expected
        assert list(list_commits(repo, record)) == [p.commit for p in expected]
    assert len(range_points(path, records[3])) == 90


def test_a_commit_past_a_base_never_met_does_not_stop_the_listing(
    tmp_path: Path, small_segments: int
) -> None:
    path = make_repo(tmp_path / "r", {"m.py": "a = 0\nb = 'q'\n"})
    git(path, "commit", "-q", "--allow-empty", "-m", "old\n\nGitgrid-Index: zz\nGitgrid-Params: nope")
    git(path, "commit", "-q", "--allow-empty", "-m", "the base")
    (path / "spec.yaml").write_text(SPEC)
    sweep = create_sweep(path / "spec.yaml", path)
    git(path, "checkout", "-q", "-b", "side", "HEAD~1")
    git(path, "commit", "-q", "--allow-empty", "-m", "a sibling of the base")
    record = dataclasses.replace(sweep, base=git(path, "rev-parse", "HEAD").strip(), count=200)
    points = list(list_points(open_repository(path), record))  # the walk reads 'old', outside the range
    assert [p.index for p in points] == list(range(90))
    root = git(path, "rev-list", "--max-parents=0", "HEAD").strip()
    with pytest.raises(SweepError, match="Gitgrid-Index 'zz' is not a point index"):  # inside, it does
        list(list_points(open_repository(path), dataclasses.replace(sweep, base=root, count=92)))


def test_walk_chain_reads_segments_newest_first_down_to_the_base(
    swept: tuple[Path, Sweep], small_segments: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, sweep = swept
    repo = open_repository(path)
    chain = git(path, "rev-list", "--first-parent", sweep.tip).split()
    started: list[tuple[str, int]] = []
    segment = repo._chain_segment

    def recorded(start: str, size: int, fields: Sequence[str]) -> subprocess.Popen[bytes]:
        started.append((start, size))
        return segment(start, size, fields)

    monkeypatch.setattr(repo, "_chain_segment", recorded)
    records = [r for chunk in repo.walk_chain(sweep.tip, sweep.base, 1000) for r in chunk]
    assert [r[0] for r in records] == chain[:91] and chain[90] == sweep.base  # 90 points, then the base
    assert started == [(chain[i], 16) for i in range(0, 96, 16)]  # one git process per 16 commits
    started.clear()
    limited = [r for chunk in repo.walk_chain(sweep.tip, sweep.base, 20, ["%s"]) for r in chunk]
    subjects = git(path, "log", "--first-parent", "-n20", "--format=%s", sweep.tip).splitlines()
    assert limited == list(zip(chain[:20], subjects, strict=True))
    assert started == [(chain[0], 16), (chain[16], 4)]


def test_spill_hands_blocks_back_last_first() -> None:
    spill = Spill()
    for block in (b"one", b"", b"three", b"four"):
        spill.push(block)
    assert list(spill.popped()) == [b"four", b"three", b"", b"one"]
    single = Spill()
    single.push(b"only")
    assert list(single.popped()) == [b"only"] and single._file is None
    assert list(Spill().popped()) == []
