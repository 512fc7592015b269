"""Acceptance (issue 19): results refs someone else made are untrusted input. A notes ref that is no notes
ref (a blob, paths, links, too many notes, a note too large or of too many records) is one line of
error and nothing changes here; records that are not runs (wrong types, huge values, paths, points that
are not in the sweep, sweeps this clone lacks) are skipped with one warning per cause, and the store
takes nothing of them. The hostile objects are made with git's own plumbing in a real bare remote."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import SIM, SPEC, cli, git, make_repo, refs, sim

NOTES = "refs/notes/gitgrid"


def blob(repo: Path, data: bytes) -> str:
    done = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo, input=data, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def tree(repo: Path, entries: list[tuple[str, str, str]]) -> str:
    """A tree of exactly these (mode, name, id) entries, as git would never write some of them."""
    raw = b"".join(b"%s %s\0%s" % (m.encode(), n.encode(), bytes.fromhex(o)) for m, n, o in entries)
    done = subprocess.run(
        ["git", "hash-object", "-t", "tree", "--literally", "-w", "--stdin"], cwd=repo, input=raw,
        capture_output=True, check=True,
    )  # fmt: skip
    return done.stdout.decode().strip()


def notes_commit(repo: Path, tree_id: str) -> str:
    return git(repo, "commit-tree", tree_id, "-m", "hostile notes").strip()


class Setup:
    """A remote whose sweep has three runs in its results; a laptop that pulled them."""

    def __init__(self, tmp_path: Path) -> None:
        files = {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM, "spec.yaml": SPEC}
        self.origin = make_repo(tmp_path / "origin", files)
        self.sweep = create_sweep(self.origin / "spec.yaml", self.origin)
        run_sweep(sim(), repo=self.origin, options=RunOptions(jobs=2, where="b == 10"))
        git(tmp_path, "init", "-q", "--bare", "remote.git")
        self.remote = tmp_path / "remote.git"
        git(self.origin, "remote", "add", "origin", str(self.remote))
        assert cli("push", repo=self.origin).exit_code == 0
        git(tmp_path, "clone", "-q", str(self.remote), "laptop")
        self.laptop = tmp_path / "laptop"
        assert "3 runs stored" in cli("pull", repo=self.laptop).stdout
        self.commits = cli("list", repo=self.laptop).stdout.split()
        self.line = json.loads(
            git(self.laptop, "notes", "--ref=gitgrid", "show", self.commits[0]).splitlines()[0]
        )

    def snapshot(self, bookkeeping: bool = True) -> tuple[str, str]:
        """Every row of the laptop's store (without ``bookkeeping``: but the note blobs read, which
        says only that they need no reading again), and its refs."""
        db = sqlite3.connect(f"file:{self.laptop / '.gitgrid/results.db'}?mode=ro", uri=True)
        try:
            rows = [row for row in db.iterdump() if bookkeeping or '"notes_read"' not in row]
            return "\n".join(rows), refs(self.laptop)
        finally:
            db.close()

    def records(self, lines: list[bytes]) -> str:
        """A notes commit holding these lines as the note of point 0."""
        note = blob(self.remote, b"".join(line + b"\n" for line in lines))
        return notes_commit(self.remote, tree(self.remote, [("100644", self.commits[0], note)]))

    def record(self, **changes: object) -> bytes:
        return json.dumps({**self.line, **changes}, sort_keys=True, separators=(",", ":")).encode()


Hostile = Callable[[Setup], str]  # makes a notes commit (or object) in the remote; returns its id


def as_blob(s: Setup) -> str:
    return blob(s.remote, b"not a commit")


def with_a_path(s: Setup) -> str:
    note = blob(s.remote, s.record() + b"\n")
    return notes_commit(s.remote, tree(s.remote, [("100644", "../../../etc/passwd", note)]))


def with_a_link(s: Setup) -> str:
    target = blob(s.remote, b"/etc/passwd")
    return notes_commit(s.remote, tree(s.remote, [("120000", s.commits[0], target)]))


def with_a_folder(s: Setup) -> str:
    inner = tree(s.remote, [("100644", "x", blob(s.remote, b"{}\n"))])
    return notes_commit(s.remote, tree(s.remote, [("40000", "zz", inner)]))


def too_many_notes(s: Setup) -> str:
    note = blob(s.remote, s.record() + b"\n")
    entries = [("100644", f"{n:040x}", note) for n in range((1 << 17) + 1)]
    return notes_commit(s.remote, tree(s.remote, entries))


def a_million_records(s: Setup) -> str:
    return s.records([b"{}"] * 1_000_000)


def a_huge_note(s: Setup) -> str:
    return s.records([s.record(reason="x" * 4000)] * 1200)  # 5 MiB


ERRORS: dict[str, tuple[Hostile, str]] = {
    "a blob": (as_blob, "is a blob, not a notes commit"),
    "a path": (with_a_path, "entry '../../../etc/passwd'"),
    "a link": (with_a_link, "is not a note"),
    "a folder": (with_a_folder, "entry 'zz/x'"),
    "too many notes": (too_many_notes, "more than 131072 notes"),
    "a million records": (a_million_records, "holds more than 32768 records"),
    "a huge note": (a_huge_note, "more than 4194304"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_a_results_ref_that_is_no_notes_ref_is_one_line_and_nothing_changes(
    tmp_path: Path, case: str
) -> None:
    setup = Setup(tmp_path)
    make, message = ERRORS[case]
    git(setup.remote, "update-ref", NOTES, make(setup))
    before = setup.snapshot()
    result = cli("pull", repo=setup.laptop)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("gitgrid: error: the results of 'origin': ")
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert setup.snapshot() == before


BAD_RECORDS: dict[str, tuple[bytes | str, str]] = {
    "not JSON": (b"{", "not a run record"),
    "a list": (b"[1, 2]", "not a JSON object but list"),
    "an index as text": ('index="0"', "'index' must be a whole number"),
    "a negative attempt": ("attempt=-1", "'attempt' must be a whole number of at least 1"),
    "a status": ('status="done"', "'status' must be one of"),
    "a commit": ('commit="HEAD"', "'commit' must be a commit id"),
    "a huge metric": ('metrics={"loss": ' + "9" * 400 + "}", "too large a number"),
    "a metric as text": ('metrics={"loss": "low"}', "is not a number"),
    "a metric named like a param": ('metrics={"a": 1.0}', "a metric has the name of a param"),
    "a time": ("started=1e300", "'started' is out of range"),
    "a long reason": ('reason="' + "x" * 5000 + '"', "'reason' must be a string of at most 4096"),
    "a sweep path": ('sweep="../../etc"', "'sweep'"),
    "an unknown sweep": ('sweep="elsewhere"', "no such sweep here"),
    "a point not in the sweep": ("index=12", "not a point of its sweep here"),
    "another point's commit": ("index=1", "not a point of its sweep here"),
    "a line too long": ('job="' + "y" * 70_000 + '"', "more than 65536"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_records_that_are_not_runs_are_skipped_with_one_warning(tmp_path: Path, case: str) -> None:
    setup = Setup(tmp_path)
    change, message = BAD_RECORDS[case]
    if isinstance(change, bytes):
        line = change
    else:
        name, _, value = change.partition("=")
        line = (
            setup.record(**{name: json.loads(value)}) if name != "job" else setup.record(job=value.strip('"'))
        )
    lines = [line] * 3
    git(setup.remote, "update-ref", NOTES, setup.records(lines))
    before = setup.snapshot(bookkeeping=False)[0]
    result = cli("pull", repo=setup.laptop)
    assert result.exit_code == 0, result.output
    assert "0 runs stored" in result.stdout and "skipped" in result.stdout
    warnings = [w for w in result.stderr.splitlines() if w.startswith("gitgrid: warning: ")]
    assert len(warnings) == 1 and message in warnings[0], result.stderr
    assert len(warnings[0]) < 400
    assert setup.snapshot(bookkeeping=False)[0] == before


def test_a_path_in_a_record_is_never_used(tmp_path: Path) -> None:
    """Unknown fields (a run directory, say) are ignored: the run is stored without one."""
    setup = Setup(tmp_path)
    evil = tmp_path / "evil"
    line = setup.record(run_dir=str(evil), attempt=7, host="elsewhere")
    git(setup.remote, "update-ref", NOTES, setup.records([line]))
    assert "1 runs stored" in cli("pull", repo=setup.laptop).stdout
    db = sqlite3.connect(setup.laptop / ".gitgrid/results.db")
    assert db.execute("SELECT run_dir, host FROM runs WHERE attempt = 7").fetchall() == [(None, "elsewhere")]
    assert not evil.exists()
    assert "success      3" in cli("status", repo=setup.laptop).stdout
