"""Run files and stores as an attacker leaves them (#17): every command and view reads a run's files by the
one safe reader, only from that point's run directory, and never follows a path of a store gitgrid did
not write (committed into a repository, copied in)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitgrid import open_repository, write_report
from gitgrid.layout import Layout, run_dir_problem
from gitgrid.query.views import open_readonly, run_files
from gitgrid.report.data import ViewOptions, point_detail
from gitgrid.store import store_doubt
from gitgrid.sweep.catalog import find_sweep
from tests.helpers import cli, git

SECRET = "TOP-SECRET-f00d"


def finished(call: Callable[[], Any], seconds: float = 60) -> Any:
    """``call()``'s result, failing (not hanging) the test when it has not returned after ``seconds``:
    a FIFO read would block for ever."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return out[0]


def run_dir(repo: Path, index: int) -> Path:
    """The run directory the store holds for point ``index``."""
    with sqlite3.connect(repo / ".gitgrid/results.db") as db:
        (found,) = db.execute("SELECT run_dir FROM runs WHERE idx = ?", (index,)).fetchone()
    return Path(found)


def detail(repo: Path, index: int) -> dict[str, Any]:
    opened = open_repository(repo)
    store = open_readonly(Layout.of(opened).store)
    assert store is not None
    try:
        found = point_detail(opened, store, find_sweep(opened), index, ViewOptions())
    finally:
        store.close()
    assert found is not None
    return found


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(f'{{"status": "success", "leak": "{SECRET}"}}\n')
    return path


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "link-to-a-file"])
def test_a_hostile_meta_json_is_never_read_by_report_or_dashboard(
    ran: Path, tmp_path: Path, secret: Path, kind: str
) -> None:
    meta = run_dir(ran, 0) / "meta.json"
    meta.unlink()
    if kind == "fifo":
        os.mkfifo(meta)
    else:
        meta.symlink_to("/dev/zero" if kind == "dev-zero" else secret)
    files = finished(lambda: detail(ran, 0))["files"]
    assert files["meta"] == "" and "point 0" in "".join(files["stdout"])
    finished(lambda: write_report(tmp_path / "report.html", repo=ran))
    assert SECRET not in (tmp_path / "report.html").read_text()


def test_a_store_path_is_used_only_when_it_is_that_points_run_directory(ran: Path, secret: Path) -> None:
    sweep = find_sweep(open_repository(ran)).name
    elsewhere = ran / "elsewhere" / "attempt-1"
    elsewhere.mkdir(parents=True)
    shutil.copy(secret, elsewhere / "meta.json")
    real = run_dir(ran, 1)
    assert run_dir_problem(str(real), sweep, 1) is None
    linked = real.parent.parent / "00002-abcdef123456" / "attempt-1"
    linked.parent.mkdir()
    linked.symlink_to(elsewhere)
    refused = {
        str(elsewhere): "is not the absolute path of a run directory",
        os.path.relpath(real, ran): "is not the absolute path of a run directory",
        str(real): f"is not a run directory of point 2 of sweep '{sweep}'",
        str(linked): "leaves its runs root through a symbolic link",
    }
    for path, problem in refused.items():
        assert problem in (run_dir_problem(path, sweep, 2) or ""), path
        assert run_files(path, sweep, 2) == {"stdout": [], "stderr": [], "meta": ""}
    assert "of sweep 'other'" in (run_dir_problem(str(real), "other", 1) or "")
    with sqlite3.connect(ran / ".gitgrid/results.db") as db:
        db.execute("UPDATE runs SET run_dir = ? WHERE idx = 2", (str(linked),))
    assert SECRET not in str(detail(ran, 2)["files"])


def test_a_committed_store_is_doubted_and_its_paths_never_followed(
    ran: Path, tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clone attack: a store committed with relative run directories and a meta.json linking to a
    local file, and a report made inside the clone. Its results are shown, with a warning; nothing it
    points at is read."""
    db = sqlite3.connect(ran / ".gitgrid/results.db")
    db.execute("UPDATE runs SET run_dir = substr(run_dir, ?)", (len(str(ran)) + 2,))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    meta = ran / run_dir(ran, 0) / "meta.json"
    meta.unlink()
    meta.symlink_to(secret)
    git(ran, "add", "-f", ".gitgrid/results.db", ".gitgrid/runs")
    git(ran, "commit", "-q", "-m", "results")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(ran), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    opened = open_repository(clone)
    assert "git tracks .gitgrid/" in (store_doubt(opened, Layout.of(opened)) or "")
    monkeypatch.chdir(clone)
    result = cli("report", "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    assert "was not written by gitgrid here (git tracks .gitgrid/" in result.stderr
    assert "no path it holds is followed" in result.stderr
    assert SECRET not in (tmp_path / "r.html").read_text()
    status = cli("status")
    assert "was not written by gitgrid here" in status.stderr and status.exit_code == 0


def test_a_store_copied_in_or_of_another_user_is_doubted(ran: Path) -> None:
    repo = open_repository(ran)
    layout = Layout.of(repo)
    assert store_doubt(repo, layout) is None and layout.store_record.is_file()
    copy = layout.store.with_name("copy.db")
    shutil.copy(layout.store, copy)
    copy.replace(layout.store)
    assert "copied or moved in" in (store_doubt(repo, layout) or "")
    assert "copied or moved in" in cli("results", repo=ran).stderr
    rebuilt = cli("collect", "--rebuild", repo=ran)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert store_doubt(repo, layout) is None  # the rebuilt store is gitgrid's own
    if os.geteuid() != 0:
        pytest.skip("giving the store to another user needs root (as in CI)")
    os.chown(layout.store, 12345, -1)
    assert "belongs to another user (uid 12345)" in (store_doubt(repo, layout) or "")


def test_status_reads_no_log_through_a_store_path(ran: Path, tmp_path: Path, secret: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import sys\nprint('Error: it broke', file=sys.stderr)\nsys.exit(3)\n")
    assert cli("run", "--", sys.executable, str(broken), repo=ran).exit_code == 1
    assert "Error: it broke" in cli("status", repo=ran).stdout  # and the run folders are collected
    with sqlite3.connect(ran / ".gitgrid/results.db") as db:
        run_id, folder = db.execute("SELECT MIN(id), run_dir FROM runs WHERE status = 'failed'").fetchone()
        db.execute("UPDATE runs SET run_dir = ? WHERE id = ?", (str(secret.parent), run_id))
    shutil.rmtree(folder)  # else collecting would store it again as the point's latest run
    shutil.copy(secret, secret.parent / "stderr.log")
    result = cli("status", repo=ran)
    assert result.exit_code == 0 and SECRET not in result.stdout
