"""Schema 3 (issue 19): a schema-2 store is migrated explicitly and keeps working; its runs gain their
identity, are never reused (they have no recipe), and go into the results notes at the next push."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from gitgrid.store import SCHEMA_VERSION
from tests.helpers import cli, git, sim, stored_rows
from tests.store.test_schema import DATA, new_repo


def v2_store(tmp_path: Path) -> Path:
    repo = new_repo(tmp_path, name="v2")
    points = json.loads(cli("list", "-f", "json", repo=repo).stdout)
    dump = (DATA / "store_v2.sql").read_text().replace("@REPO@", str(repo))
    dump = dump.replace("@BASE@", git(repo, "rev-parse", "master").strip())
    for point in reversed(points):  # @C11@ before @C1@
        index, commit = point["index"], point["commit"]
        dump = dump.replace(f"@C{index}@", commit).replace(f"@S{index}@", commit[:12])
    (repo / ".gitgrid").mkdir()
    with sqlite3.connect(repo / ".gitgrid/results.db") as db:
        db.executescript(dump)
    return repo


def test_a_schema_2_store_is_migrated_and_keeps_working(tmp_path: Path) -> None:
    repo = v2_store(tmp_path)
    table = results(repo, include_all=True)
    shown = [(r["index"], r["loss"], r["status"], r["attempt"]) for r in table.rows]
    assert shown == [
        (0, 15.0, "success", 2), (1, 30.0, "success", 2), (2, 45.0, "success", 2), (3, 60.0, "success", 1),
        (4, None, "failed", 1), (5, 50.0, "success", 1), (6, 75.0, "success", 1), (7, None, "never run", None),
        (8, 35.0, "success", 1), (9, 70.0, "success", 1), (10, 105.0, "success", 1),
        (11, None, "never run", None),
    ]  # fmt: skip
    store = repo / ".gitgrid/results.db"
    assert (
        stored_rows(store, "PRAGMA user_version") == [(SCHEMA_VERSION,)] == [(5,)]
    )  # 3, then 4 (stages, #22), then 5 (the run-key index)
    runs = stored_rows(store, "SELECT recipe, run_key, reused_sweep, shared FROM runs")
    assert len(runs) == 13 and set(runs) == {(None, None, None, 0)}
    summary = run_sweep(sim(), repo=repo, options=RunOptions(jobs=2))  # never-run points only, not reused
    assert (summary.state.succeeded, summary.state.skipped, summary.state.reused) == (2, 10, {})
    keyed = stored_rows(store, "SELECT idx FROM runs WHERE run_key IS NOT NULL ORDER BY idx")
    assert keyed == [(7,), (11,)]
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    pushed = cli("push", str(tmp_path / "remote.git"), repo=repo)
    assert pushed.exit_code == 0 and "15 new run records" in pushed.stdout, pushed.output
