"""Acceptance (issue 19): nothing is computed twice. A point whose run key (its tree, the command, --build,
--setup, the run contract's version) a stored success has is recorded as a success naming that run, and
not run; an extended grid runs only its new points, a sweep created again runs nothing, an optimiser
coming back to a point reuses it; --no-reuse runs all, and any change of command, build or file means
no reuse. Real runs in real repositories: what ran is counted by the attempt folders it left."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gitgrid import create_sweep
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, RunSummary, run_sweep
from tests.helpers import SIM, cli, git, make_repo, sim, stored_rows
from tests.optimize.test_session import OPT_SIM
from tests.optimize.test_session import SPEC as OPT_SPEC
from tests.optimize.test_session import sim as opt_sim

GRID = "files: [model.py]\nparams:\n  a: {values}\n  b: [10, 20]\n"


def grid(repo: Path, name: str, values: str = "[1.5, 2.5, 3.5, 4.5]") -> None:
    (repo / f"{name}.yaml").write_text(GRID.format(values=values))
    create_sweep(repo / f"{name}.yaml", repo, name=name)


def ran(repo: Path, sweep: str) -> int:
    """Attempt folders of ``sweep``: what actually ran."""
    return len(list((repo / ".gitgrid/runs" / sweep).glob("*/attempt-*")))


def run(repo: Path, sweep: str, **options: object) -> RunSummary:
    summary = run_sweep(sim(), sweep, repo, RunOptions(jobs=2, **options))  # type: ignore[arg-type]
    assert summary.exit_code == 0
    return summary


def test_an_extended_grid_runs_only_its_new_points(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    grid(repo, "four")
    run(repo, "four")
    grid(repo, "six", "[1.5, 2.5, 3.5, 4.5, 5.5, 6.5]")
    summary = run(repo, "six")
    assert (summary.state.succeeded, summary.state.reused) == (4, {"four": 8})
    assert ran(repo, "six") == 4
    rows = results(repo, "six").rows
    assert [(r["a"], r["b"], r["loss"]) for r in rows] == [(a, b, a * b) for a in (1.5, 2.5, 3.5, 4.5, 5.5, 6.5)
                                                           for b in (10, 20)]  # fmt: skip
    sources = stored_rows(repo / ".gitgrid/results.db",
                          "SELECT idx, reused_sweep, reused_index, run_dir FROM runs WHERE sweep = 'six' ORDER BY idx")  # fmt: skip
    assert sources[:8] == [(i, "four", i, None) for i in range(8)]
    assert all(sweep is None and run_dir for _, sweep, _, run_dir in sources[8:])


def test_a_sweep_created_again_runs_nothing_and_says_where_its_results_come_from(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    grid(repo, "first")
    run(repo, "first")
    grid(repo, "again")
    done = cli("run", "again", "-j", "2", "--", *sim(), repo=repo)
    assert done.exit_code == 0
    assert "0 succeeded" in done.stderr and "8 reused (runs of first with the same run key)" in done.stderr
    assert ran(repo, "again") == 0
    first, again = results(repo, "first").rows, results(repo, "again").rows
    assert [(r["loss"], r["rate"]) for r in again] == [(r["loss"], r["rate"]) for r in first]
    shown = cli("status", "again", repo=repo).stdout
    assert {r["status"] for r in again} == {"success"} and "success      8" in shown
    # counted once, by source; not eight "success, but reused from ..." lines, as if each were a problem
    assert "of the successes, reused: 8 from first" in shown and "but" not in shown
    assert "reused" not in cli("status", "first", repo=repo).stdout
    assert stored_rows(repo / ".gitgrid/results.db",
                       "SELECT reason FROM runs WHERE sweep = 'again' AND idx = 7") == [("reused from first point 7",)]  # fmt: skip
    grid(repo, "third")  # a reused run is a source too: named by the run that actually ran
    run(repo, "third")
    assert stored_rows(repo / ".gitgrid/results.db",
                       "SELECT DISTINCT reused_sweep FROM runs WHERE sweep = 'third'") == [("first",)]  # fmt: skip


def test_no_reuse_runs_every_point(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    grid(repo, "first")
    run(repo, "first")
    grid(repo, "again")
    done = cli("run", "again", "--no-reuse", "-j", "2", "--", *sim(), repo=repo)
    assert done.exit_code == 0 and "8 succeeded" in done.stderr and "reused" not in done.stderr
    assert ran(repo, "again") == 8
    run(repo, "first", rerun=True)  # --rerun asks for new runs: it never reuses, not even its own
    assert ran(repo, "first") == 16


def test_a_change_of_command_build_setup_or_any_file_means_no_reuse(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM, "notes.txt": "x\n"})
    grid(repo, "first")
    run(repo, "first")
    grid(repo, "command")
    assert run_sweep(sim("--extra"), "command", repo, RunOptions(jobs=2)).state.reused == {}
    grid(repo, "build")
    assert run(repo, "build", build="true").state.reused == {}
    grid(repo, "build2")
    assert run(repo, "build2", build="true").state.reused == {"build": 8}  # the same build: reused
    grid(repo, "setup")
    assert run(repo, "setup", setup="true").state.reused == {}
    (repo / "notes.txt").write_text("y\n")  # a file no param touches, nor the command reads
    git(repo, "commit", "-qam", "another file")
    grid(repo, "file")
    assert run(repo, "file").state.reused == {}
    assert [ran(repo, s) for s in ("command", "build", "build2", "setup", "file")] == [8, 8, 0, 8, 8]


def test_an_optimiser_coming_back_to_points_reuses_them(tmp_path: Path) -> None:
    """The same optimisation again (same spec, seed and command): every point it asks for was evaluated,
    so nothing runs and it takes the same path. (The simulation is deterministic: a noisy one whose noise
    the tree does not fix, such as the optimiser tests' noise seeded by GITGRID_INDEX, needs --no-reuse.)"""
    deterministic = OPT_SIM.replace('os.environ.get("SIM_NOISE", "0.01")', '"0"')
    assert deterministic != OPT_SIM
    repo = make_repo(tmp_path / "opt", {"model.py": "x = 0.0\ny = 0.0\nz = 0\n", "sim.py": deterministic})
    (repo / "spec.yaml").write_text(OPT_SPEC)
    args = ["optimize", "spec.yaml", "--metric", "loss", "--budget", "8", "--seed", "5"]
    first = cli(*args, "--name", "first", "--", *opt_sim(), repo=repo)
    assert first.exit_code == 0, first.output
    count = ran(repo, "first")
    assert count >= 8 and f"{count} evaluations, {count} run now, stopped" in first.stderr  # none reused
    second = cli(*args, "--name", "second", "--", *opt_sim(), repo=repo)  # the same points, asked again
    assert second.exit_code == 0, second.output
    assert f"{count} evaluations, 0 run now, {count} reused (stored runs of the same key)" in second.stderr
    assert ran(repo, "second") == 0
    assert [r["loss"] for r in results(repo, "second").rows] == [
        r["loss"] for r in results(repo, "first").rows
    ]


def test_an_optimisers_repeated_measurements_each_run(tmp_path: Path) -> None:
    """A noisy optimisation measures its start again (and checks its answer) on purpose: those repeats
    share one tree, and each must be a measurement of its own. They never copy a run of their own sweep,
    and each takes a different run when another sweep measured the point, or the noise would vanish
    from the record (seen: the start's third and fourth measurements copied the second's)."""
    repo = make_repo(tmp_path / "opt", {"model.py": "x = 0.0\ny = 0.0\nz = 0\n", "sim.py": OPT_SIM})
    (repo / "spec.yaml").write_text(OPT_SPEC)
    args = ["optimize", "spec.yaml", "--metric", "loss", "--budget", "12", "--seed", "5"]
    first = cli(*args, "--name", "first", "--", *opt_sim(), repo=repo)
    assert first.exit_code == 0, first.output
    repeats = stored_rows(repo / ".gitgrid/results.db", "SELECT run_key FROM runs WHERE sweep = 'first' "
                          "GROUP BY run_key HAVING COUNT(*) > 1")  # fmt: skip
    assert repeats, "the noisy start is measured more than once"
    assert ran(repo, "first") == 12 and stored_rows(
        repo / ".gitgrid/results.db", "SELECT COUNT(*) FROM runs WHERE reused_sweep IS NOT NULL"
    ) == [(0,)]
    second = cli(*args, "--name", "second", "--", *opt_sim(), repo=repo)
    assert second.exit_code == 0, second.output
    copied = stored_rows(repo / ".gitgrid/results.db", "SELECT reused_sweep, reused_index FROM runs "
                         "WHERE sweep = 'second' AND reused_sweep IS NOT NULL")  # fmt: skip
    assert copied and all(sweep == "first" for sweep, _ in copied)
    assert len(set(copied)) == len(copied)  # never one run for two repeats


def test_a_schema_4_store_keeps_its_reused_runs_and_reuses_as_before(tmp_path: Path) -> None:
    """Schema 5 indexes the keys of runs that ran only (with their sweep and point), and a sweep's reused
    runs apart. A schema-4 store (the key index over every success, reused runs included) is migrated:
    its rows, results and status read the same, a sweep created again reuses the runs that ran, and a
    sweep that reused a source does not take it twice (its reused runs are found in the new index)."""
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    grid(repo, "first")
    run(repo, "first")
    grid(repo, "again")
    run(repo, "again", where="b == 10")  # half of it reused now, half later
    store = repo / ".gitgrid/results.db"
    with sqlite3.connect(store) as db:  # the shape schema 4 had
        db.execute("DROP INDEX runs_key")
        db.execute("DROP INDEX runs_reused")
        db.execute("CREATE INDEX runs_key ON runs (run_key) WHERE status = 'success'")
        db.execute("PRAGMA user_version = 4")
    rows = stored_rows(store, "SELECT * FROM runs ORDER BY id")
    shown = [(r["index"], r["loss"], r["status"], r["attempt"]) for r in results(repo, "again").rows]
    status = cli("status", "again", repo=repo).stdout
    assert stored_rows(store, "PRAGMA user_version") == [(5,)]
    assert stored_rows(store, "SELECT * FROM runs ORDER BY id") == rows
    assert [(r["index"], r["loss"], r["status"], r["attempt"]) for r in results(repo, "again").rows] == shown
    assert cli("status", "again", repo=repo).stdout == status and "success      4" in status
    indexes = dict(stored_rows(store, "SELECT name, sql FROM sqlite_master WHERE name LIKE 'runs_re%' "
                               "OR name = 'runs_key'"))  # fmt: skip
    assert (
        "reused_sweep IS NULL" in indexes["runs_key"] and "reused_sweep IS NOT NULL" in indexes["runs_reused"]
    )
    assert stored_rows(store, "SELECT COUNT(*) FROM runs INDEXED BY runs_key WHERE status = 'success' "
                       "AND reused_sweep IS NULL") == [(8,)]  # fmt: skip
    summary = run(repo, "again")  # the other half: reused from first, not from again's own copies
    assert (summary.state.succeeded, summary.state.reused) == (0, {"first": 4})
    copied = stored_rows(store, "SELECT idx, reused_sweep, reused_index FROM runs WHERE sweep = 'again' "
                         "ORDER BY idx")  # fmt: skip
    assert copied == [(i, "first", i) for i in range(8)]
    assert ran(repo, "again") == 0


def test_a_dry_run_plans_what_a_run_reuses_and_records_nothing(tmp_path: Path) -> None:
    """The dry run plans through the same choice (in SQL) without writing: it lists only the new points,
    the store keeps no run of the sweep, and the run after it reuses the same points and runs the rest."""
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    grid(repo, "four")
    run(repo, "four")
    grid(repo, "six", "[1.5, 2.5, 3.5, 4.5, 5.5, 6.5]")
    store = repo / ".gitgrid/results.db"
    before = stored_rows(store, "SELECT COUNT(*) FROM runs")
    dry = cli("run", "six", "--dry-run", "--", *sim(), repo=repo)
    assert dry.exit_code == 0, dry.output
    assert stored_rows(store, "SELECT COUNT(*) FROM runs") == before and ran(repo, "six") == 0
    assert "would run 4 points (8, 9, 10, 11)" in dry.stdout, dry.stdout
    summary = run(repo, "six")
    assert (summary.state.succeeded, summary.state.reused) == (4, {"four": 8})
