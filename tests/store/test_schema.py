"""The store file: a schema-1 store is migrated and keeps working, a damaged or missing one is an error
that says how to rebuild it (never a silent rerun), and the rebuild restores every result (issue 9)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.errors import StoreError
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from gitgrid.store import SCHEMA_VERSION, Store
from tests.helpers import SIM, SPEC, cli, git, make_repo, sim

DATA = Path(__file__).parent / "data"
SERIES = [
    (0, "run_id", "INTEGER", 1, None, 1),
    (1, "name", "TEXT", 1, None, 2),
    (2, "step", "INTEGER", 1, None, 3),
    (3, "value", "REAL", 0, None, 0),
]


def new_repo(tmp_path: Path, name: str | None = None) -> Path:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo, name=name)
    return repo


def test_a_schema_1_store_is_migrated_and_keeps_working(tmp_path: Path) -> None:
    repo = new_repo(tmp_path, name="v1")
    points = json.loads(cli("list", "-f", "json", repo=repo).stdout)
    dump = (DATA / "store_v1.sql").read_text().replace("@REPO@", str(repo))
    dump = dump.replace("@BASE@", git(repo, "rev-parse", "master").strip())
    for point in reversed(points):  # @C11@ before @C1@
        index, commit = point["index"], point["commit"]
        dump = dump.replace(f"@C{index}@", commit).replace(f"@S{index}@", commit[:12])
    (repo / ".gitgrid").mkdir()
    with sqlite3.connect(repo / ".gitgrid/results.db") as db:
        db.executescript(dump)
    table = results(repo, include_all=True)
    shown = [
        (r["index"], r["a"], r["b"], r["loss"], r["rate"], r["status"], r["attempt"]) for r in table.rows
    ]
    assert shown == [
        (0, 1.5, 10, 15.0, 11.5, "success", 2), (1, 1.5, 20, 30.0, 21.5, "success", 2),
        (2, 1.5, 30, 45.0, 31.5, "success", 2), (3, 1.5, 40, 60.0, 41.5, "success", 1),
        (4, 2.5, 10, None, None, "failed", 1), (5, 2.5, 20, 50.0, 22.5, "success", 1),
        (6, 2.5, 30, 75.0, 32.5, "success", 1), (7, 2.5, 40, None, None, "never run", None),
        (8, 3.5, 10, 35.0, 13.5, "success", 1), (9, 3.5, 20, 70.0, 23.5, "success", 1),
        (10, 3.5, 30, 105.0, 33.5, "success", 1), (11, 3.5, 40, None, None, "never run", None),
    ]  # fmt: skip
    assert len(results(repo, all_attempts=True).rows) == 15
    with sqlite3.connect(repo / ".gitgrid/results.db") as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA table_info(series)").fetchall() == SERIES
    summary = run_sweep(sim(), repo=repo, options=RunOptions(jobs=2))  # resumes: never-run points only
    assert (summary.state.succeeded, summary.state.skipped) == (2, 10)


def test_a_new_store_has_the_series_table(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "results.db")
    store.close()
    with sqlite3.connect(tmp_path / "results.db") as db:
        assert db.execute("PRAGMA table_info(series)").fetchall() == SERIES
        assert (
            "WITHOUT ROWID" in db.execute("SELECT sql FROM sqlite_master WHERE name = 'series'").fetchone()[0]
        )


def test_a_store_from_a_newer_gitgrid_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path / "results.db").close()
    with sqlite3.connect(tmp_path / "results.db") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"written by a newer gitgrid \(store schema 99"):
        Store.open(tmp_path / "results.db")


def attempts(repo: Path) -> list[Path]:
    return sorted((repo / ".gitgrid/runs").glob("*/*/attempt-*"))


def empty(store: Path) -> None:
    store.write_bytes(b"")


def garbage(store: Path) -> None:
    store.write_bytes(os.urandom(4096))


def truncated(store: Path) -> None:
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 2])


def without_a_table(store: Path) -> None:
    with sqlite3.connect(store) as db:
        db.execute("DROP TABLE runs")


def missing(store: Path) -> None:
    store.unlink()


@pytest.mark.parametrize("damage", [empty, garbage, truncated, without_a_table, missing])
def test_a_damaged_store_stops_every_command_and_is_rebuilt(tmp_path: Path, damage: object) -> None:
    repo = new_repo(tmp_path)
    os.environ["SIM_FAIL"] = "5"
    try:
        run_sweep(sim(), repo=repo, options=RunOptions(jobs=2, where="b != 40"))
    finally:
        del os.environ["SIM_FAIL"]
    run_sweep(sim(), repo=repo, options=RunOptions(jobs=2, rerun=True, where="a == 1.5"))
    before = results(repo, all_attempts=True).tuples
    made = attempts(repo)
    store = repo / ".gitgrid/results.db"
    damage(store)  # type: ignore[operator]
    for command in (["results"], ["status"], ["results", "--all"], ["run", "--", *sim()]):
        done = cli(*command, repo=repo)
        assert done.exit_code == 2, (command, done.output)
        assert str(store) in done.stderr and "'gitgrid collect --rebuild'" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert attempts(repo) == made, "a damaged store made a point run again"
    rebuilt = cli("collect", "--rebuild", repo=repo)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"stored {len(made)} new runs" in rebuilt.stdout
    assert results(repo, all_attempts=True).tuples == before
    if damage is not missing:
        assert "the old store was kept as" in rebuilt.stderr
        assert list(store.parent.glob("results.db.damaged-*"))


def test_the_rebuild_waits_for_no_runner(tmp_path: Path) -> None:
    repo = new_repo(tmp_path)
    from gitgrid.layout import Layout
    from gitgrid.run.locks import hold

    run_sweep(sim(), repo=repo, options=RunOptions(jobs=2, where="a == 1.5"))
    name = results(repo).sweep.name
    with hold(Layout.of(_Root(repo)).sweep_lock(name)):
        done = cli("collect", "--rebuild", repo=repo)
    assert done.exit_code == 2 and f"sweep '{name}' is being run by gitgrid" in done.stderr
    assert len(results(repo).rows) == 4


class _Root:
    def __init__(self, root: Path) -> None:
        self.root, self.git_dir = root, root / ".git"

    def config(self, key: str) -> str | None:
        return None


def test_the_rebuild_reads_a_runs_root_given_as_its_argument(tmp_path: Path) -> None:
    """``gitgrid collect --rebuild RUNS_ROOT``, as docs/run.md writes it: runs kept outside the repository."""
    repo = new_repo(tmp_path)
    elsewhere = tmp_path / "scratch"
    run_sweep(sim(), repo=repo, options=RunOptions(jobs=2, where="a == 1.5", runs_root=elsewhere))
    before = results(repo).tuples
    (repo / ".gitgrid/results.db").write_bytes(b"")
    done = cli("collect", "--rebuild", str(elsewhere), repo=repo)
    assert done.exit_code == 0 and "stored 4 new runs" in done.stdout, done.output
    assert results(repo).tuples == before
    both = cli("collect", "--rebuild", "SWEEP", str(elsewhere), repo=repo)
    assert both.exit_code == 2 and "give no SWEEP" in both.stderr


def test_a_schema_3_store_gains_the_stages_in_a_step_of_its_own(tmp_path: Path) -> None:
    """A store written before stages (schema 3: no ``stages`` table, no ``reads`` or ``analysis`` of a
    run) keeps every run and result, and is schema 4 once opened (#22)."""
    repo = new_repo(tmp_path)
    run_sweep(sim(), repo=repo, options=RunOptions(jobs=2))
    store = repo / ".gitgrid/results.db"
    with sqlite3.connect(store) as db:
        db.execute("DROP TABLE stages")
        db.execute("ALTER TABLE runs DROP COLUMN reads")
        db.execute("ALTER TABLE runs DROP COLUMN analysis")
        db.execute("PRAGMA user_version = 3")
    before = [(r["index"], r["loss"]) for r in results(repo).rows]
    assert len(before) == 12
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,) == (5,)
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
        assert columns[-2:] == ["reads", "analysis"]
        assert db.execute(
            "SELECT COUNT(*) FROM runs WHERE reads IS NULL AND analysis IS NULL"
        ).fetchone() == (12,)
        assert db.execute("SELECT COUNT(*) FROM stages").fetchone() == (0,)
