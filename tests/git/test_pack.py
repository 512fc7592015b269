"""The pack writer: same commits as git fast-import, valid packs, deltas that apply, nothing left on failure."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitgrid import create_sweep, list_points, open_repository
from gitgrid.errors import RewriteError
from gitgrid.git import pack
from gitgrid.git.pack import _large_offsets
from gitgrid.splice import Splice, varint
from gitgrid.sweep.create import plan_sweep, write_sweep
from tests.helpers import git, gitgrid_command, make_repo, refs

FILES = {
    "src/model.py": "class M:\n    a = 1\n    b = 'x'  # note\n",
    "src/zz.py": "z = 0\n",
    "src/aa/deep.c": "double c = 1.0; /* c */\n",
    "run.sh": "#!/bin/sh\nN=1\n",
    "tpl/p.j2": "a={{ a }} b={{ b }} i={{ point.index }}\n",
    "top.txt": "unchanged\n",
}
SPEC = """\
files:
  - src/model.py
  - src/aa/deep.c
  - run.sh
  - template: tpl/p.j2
    output: src/ab.txt
  - template: tpl/p.j2
    output: newdir/sub/out.txt
  - template: tpl/p.j2
    output: src/aa.h
params:
  a: {range: [1, %d]}
  b: {values: [x, "y z"], format: "'{}'"}
  c: {linspace: [0, 1, 3]}
  N: [1, 2]
"""


def repo_with(tmp_path: Path, name: str) -> Path:
    repo = make_repo(tmp_path / name, FILES)
    git(repo, "update-index", "--chmod=+x", "run.sh")
    git(repo, "commit", "-q", "-m", "x")
    return repo


@pytest.mark.parametrize(
    ("points", "per_pack"),
    [(2, pack.MAX_OBJECTS), (700, pack.MAX_OBJECTS), (700, 5000)],  # 700 * 12 points: the forked writer
)
def test_pack_and_fast_import_write_the_same_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, points: int, per_pack: int
) -> None:
    several = per_pack < pack.MAX_OBJECTS
    monkeypatch.setattr(pack, "MAX_OBJECTS", per_pack)
    tips = {}
    for writer in ("pack", "fast-import"):
        repo = repo_with(tmp_path, writer)
        (repo / "spec.yaml").write_text(SPEC % points)
        sweep = write_sweep(plan_sweep(repo / "spec.yaml", repo), writer=writer)
        tips[writer] = (sweep.tip, [p.commit for p in list_points(open_repository(repo), sweep)])
        subprocess.run(
            ["git", "fsck", "--strict", "--no-dangling"], cwd=repo, check=True, capture_output=True
        )
    assert tips["pack"] == tips["fast-import"]
    assert len(tips["pack"][1]) == points * 12
    written = list((tmp_path / "pack/.git/objects/pack").glob("pack-*.idx"))
    for idx in written:  # valid, and none of delta bases alone
        assert " commit " in git(tmp_path / "pack", "verify-pack", "-v", str(idx))
    counts = [int.from_bytes(idx.read_bytes()[1028:1032], "big") for idx in written]  # fan-out's last
    assert sum(counts) >= points * 12 * 4 and max(counts) < per_pack + 16
    assert len(written) > sum(counts) / (per_pack + 16) if several else len(written) == 1


def test_pack_is_valid_and_trees_are_sorted(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "r")
    (repo / "spec.yaml").write_text(SPEC % 2)
    sweep = create_sweep(repo / "spec.yaml", repo)
    packs = list((repo / ".git/objects/pack").glob("pack-*.idx"))
    for idx in packs:
        subprocess.run(["git", "verify-pack", str(idx)], cwd=repo, check=True)
    assert git(repo, "ls-tree", "--name-only", sweep.tip, "src/").split() == [
        "src/aa.h",
        "src/aa",
        "src/ab.txt",
        "src/model.py",
        "src/zz.py",
    ]  # fmt: skip  (git sorts a folder as "aa/", after "aa.h")
    assert git(repo, "show", f"{sweep.tip}:newdir/sub/out.txt") == "a=2 b=y z i=23\n"
    assert git(repo, "show", f"{sweep.tip}:src/model.py") == "class M:\n    a = 2\n    b = 'y z'  # note\n"
    assert not list((repo / ".git/objects/pack").glob("tmp_*"))


def test_a_failure_mid_sweep_leaves_no_pack_and_no_ref(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"t.j2": "{{ 10 // (a - 6000) }}\n", "m.py": "a = 0\n"})
    (repo / "spec.yaml").write_text(
        "files:\n  - m.py\n  - template: t.j2\n    output: o.txt\nparams:\n  a: {range: [1, 9000]}\n"
    )
    before = refs(repo), sorted(p.name for p in (repo / ".git/objects/pack").iterdir())
    with pytest.raises(RewriteError, match=r"t.j2:1: template failed for point 5999: .*by zero"):
        create_sweep(repo / "spec.yaml", repo)
    after = refs(repo), sorted(p.name for p in (repo / ".git/objects/pack").iterdir())
    assert after == before


def test_killed_forked_writer_cleans_up(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": "a = 0\nb = 0\n"})
    (repo / "spec.yaml").write_text(
        "files: [m.py]\nparams:\n  a: {range: [1, 3000]}\n  b: {range: [1, 100]}\n"
    )
    proc = subprocess.Popen(
        [*gitgrid_command(), "-C", str(repo), "create", "spec.yaml"], stderr=subprocess.PIPE
    )
    pack_dir = repo / ".git/objects/pack"
    deadline = time.monotonic() + 60
    while not list(pack_dir.glob("tmp_pack_gitgrid_*")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    while list(pack_dir.glob("tmp_*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(pack_dir.glob("tmp_*")), "the writer process left its temporary pack"
    assert "grid_search" not in refs(repo)


def test_a_create_killed_after_sealing_packs_leaves_none(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": "a = 0\nb = 0\n"})
    (repo / "spec.yaml").write_text(
        "files: [m.py]\nparams:\n  a: {range: [1, 3000]}\n  b: {range: [1, 100]}\n"
    )
    pack_dir = repo / ".git/objects/pack"
    before = refs(repo), sorted(pack_dir.iterdir())
    small_packs = (
        "import sys; import gitgrid.git.pack as p; p.MAX_OBJECTS = 2000; from gitgrid.cli import main; main()"
    )
    proc = subprocess.Popen([sys.executable, "-c", small_packs, "-C", str(repo), "create", "spec.yaml"])
    deadline = time.monotonic() + 60
    while len(list(pack_dir.glob("tmp_idx_gitgrid_*"))) < 3:  # three packs sealed, waiting for the end
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    while list(pack_dir.glob("tmp_*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (refs(repo), sorted(pack_dir.iterdir())) == before


def apply_delta(base: bytes, delta: bytes) -> bytes:
    """git's patch-delta, written from its description, to check the deltas gitgrid writes."""
    pos = 0

    def size() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = delta[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    assert size() == len(base)
    target_size = size()
    out = bytearray()
    while pos < len(delta):
        op = delta[pos]
        pos += 1
        if op & 0x80:
            offset = length = 0
            for i in range(4):
                if op & (1 << i):
                    offset |= delta[pos] << (8 * i)
                    pos += 1
            for i in range(3):
                if op & (0x10 << i):
                    length |= delta[pos] << (8 * i)
                    pos += 1
            out += base[offset : offset + (length or 0x10000)]
        else:
            assert op, "opcode 0 is reserved"
            out += delta[pos : pos + op]
            pos += op
    assert len(out) == target_size
    return bytes(out)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=300), st.data())
def test_splice_delta_rebuilds_the_content(base: bytes, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(base)), max_size=6)))
    spans = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    splice = Splice.holes(base, spans)
    values = [data.draw(st.binary(max_size=300)) for _ in spans]
    target = splice.build(values)
    assert apply_delta(base, splice.delta(values, len(target))) == target


def test_splice_copies_long_runs_in_pieces() -> None:
    base = bytes(random.Random(1).randrange(256) for _ in range(0x20000))
    splice = Splice.holes(base, [(0x18000, 0x18004)])
    target = splice.build([b"XY"])
    assert apply_delta(base, splice.delta([b"XY"], len(target))) == target
    assert varint(0x20000) == bytes([0x80, 0x80, 0x08])


def test_large_offsets_go_to_the_eight_byte_table() -> None:
    small, large = _large_offsets([12, 1 << 31, 100, (1 << 33) + 5])
    assert small == bytes.fromhex("0000000c 80000000 00000064 80000001".replace(" ", ""))
    assert large == (1 << 31).to_bytes(8, "big") + ((1 << 33) + 5).to_bytes(8, "big")
