"""The store's side of push, pull and reuse: runs stored in bulk point at the same latest and successful
runs as runs stored one by one; what is shared, known and reusable is found by its index."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gitgrid.run.contract import Run
from gitgrid.store import Store
from gitgrid.store.record import run_key
from tests.helpers import stored_rows
from tests.store.test_points import points, sweep

POINTERS = "SELECT idx, latest_run, success_run, state FROM points WHERE sweep = 's' ORDER BY idx"
METRICS = "SELECT idx, name, value FROM point_metrics WHERE sweep = 's' ORDER BY idx, name"


def some_runs(count: int, seed: int) -> list[Run]:
    """Several attempts per point, some of one attempt made on two machines (the same attempt number),
    mixed statuses, some points without runs."""
    rng, found = random.Random(seed), []
    for point in points(count):
        for attempt in range(1, rng.randrange(0, 4) + 1):
            for host in ["a", "b"][: rng.randrange(1, 3)]:
                status = rng.choice(["success", "success", "failed", "interrupted"])
                metrics = {"loss": rng.random()} if status == "success" else {}
                started = rng.choice([10.0, 20.0, 30.0]) + attempt
                found.append(Run("s", point.index, point.commit, attempt, status, "", host=host,
                                 started=started, ended=started + 1, metrics=metrics))  # fmt: skip
    return found


@pytest.mark.parametrize(("count", "batches"), [(10, 1), (300, 1), (300, 3)])  # point by point, in bulk
def test_runs_stored_in_bulk_point_where_runs_stored_one_by_one_do(
    tmp_path: Path, count: int, batches: int
) -> None:
    """In several batches, a point's runs come in two or three of them: a point alone with its run takes
    the short way (pointers set), one with other runs, stored before or beside it, is recomputed."""
    runs = some_runs(count, seed=count)
    runs = [run for start in range(batches) for run in runs[start::batches]]  # the order of the batches
    bulk, single = Store.open(tmp_path / "bulk.db"), Store.open(tmp_path / "single.db")
    for store in (bulk, single):
        store.sweeps.sync(sweep("1" * 40, count), points(count))
    size = -(-len(runs) // batches)
    for start in range(0, len(runs), size):
        bulk.shares.add_pulled([(run, None) for run in runs[start : start + size]], ())
    for n, run in enumerate(runs):  # a run directory each: the store's usual path keys runs by them
        single.runs.ingest(Run(**{**run.__dict__, "run_dir": f"/r/{n}"}))
    assert stored_rows(bulk.path, POINTERS) == stored_rows(single.path, POINTERS)
    assert stored_rows(bulk.path, METRICS) == stored_rows(single.path, METRICS)
    assert len(stored_rows(bulk.path, "SELECT 1 FROM points WHERE state IS NOT NULL")) < count


def test_known_runs_are_found_by_their_identity(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 4), points(4))
    runs = some_runs(4, seed=1)
    store.shares.add_pulled([(run, None) for run in runs[:3]], ())
    assert store.shares.known(runs) == {run.identity for run in runs[:3]}


def test_unshared_runs_are_the_finished_ones_not_yet_in_the_notes(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 4), points(4))
    commit = points(4)[1].commit
    for n, status in enumerate(["success", "running", "failed"]):
        store.runs.ingest(Run("s", 1, commit, n + 1, status, f"/r/{n}", started=1.0 + n, metrics={"x": 1.5}))
    assert [(r.attempt, r.status) for _, r in store.shares.unshared("s")] == [(1, "success"), (3, "failed")]
    assert next(store.shares.unshared("s"))[1].metrics == {"x": 1.5}
    ids = [run_id for run_id, _ in store.shares.unshared("s")]
    store.shares.mark_shared(ids, "c" * 40, ["d" * 40])
    assert list(store.shares.unshared("s")) == [] and store.shares.exported() == "c" * 40
    assert store.shares.notes_read() == {"d" * 40}
    store.shares.unshare_all()
    assert len(list(store.shares.unshared("s"))) == 2 and store.shares.notes_read() == set()


def test_a_key_finds_every_success_that_ran_newest_first_never_the_sweeps_own(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 4), points(4))
    key = run_key("e" * 40, "f" * 64)
    commit = points(4)[0].commit
    store.shares.add_pulled(
        [(Run("s", 0, commit, n, "success", "", started=float(n)), key) for n in (1, 2)]
        + [(Run("s", 0, commit, 3, "failed", "", started=3.0), key)],
        (),
    )
    found = store.reuse.sources([key, run_key("0" * 40, "f" * 64)], "another sweep")
    assert list(found) == [key] and [(s.sweep, s.index) for s in found[key]] == [("s", 0)] * 2
    ids = stored_rows(store.path, "SELECT id FROM runs WHERE status = 'success' ORDER BY attempt DESC")
    assert [s.run_id for s in found[key]] == [i for (i,) in ids]  # newest first
    assert store.reuse.sources([key], "s") == {}  # a sweep never reuses its own runs


def test_a_reused_run_is_its_points_next_attempt_latest_run_and_success(tmp_path: Path) -> None:
    """Reused runs are made by SQLite and their points' pointers set, not recomputed: they must be what
    recomputing gives (a point with a failed attempt before reuses as attempt 2), the source's metrics
    copied, its sweep and point named."""
    from dataclasses import replace

    from gitgrid.store.reuse import Reusing

    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 3), points(3))
    target = replace(sweep("2" * 40, 3), name="t")
    store.sweeps.sync(target, points(3))
    keys = [run_key(f"{i:040x}", "f" * 64) for i in range(3)]
    store.shares.add_pulled(
        [(Run("s", i, p.commit, 1, "success", "", started=1.0, ended=2.0, metrics={"loss": i + 0.5}), keys[i])
         for i, p in enumerate(points(3))],
        (),
    )  # fmt: skip
    store.runs.ingest(Run("t", 1, points(3)[1].commit, 1, "failed", "/r/t1", started=3.0, ended=4.0))
    found = store.reuse.sources(keys, "t")
    taken = store.reuse.take(Reusing("t", 0, "here", 5.0, "f" * 64), [(0, keys[0]), (1, keys[1])])
    assert taken.indexes == frozenset({0, 1}) and dict(taken.counts) == {"s": 2}
    rows = stored_rows(
        store.path,
        "SELECT r.idx, r.attempt, r.status, r.reason, r.reused_sweep, r.reused_index, r.duration_text, "
        "r.metric_texts, p.latest_run = r.id, p.success_run = r.id, p.state FROM runs r JOIN points p "
        "ON p.sweep = r.sweep AND p.idx = r.idx WHERE r.sweep = 't' AND r.status = 'success' ORDER BY r.idx",
    )
    assert rows == [
        (0, 1, "success", "reused from s point 0", "s", 0, "0.0", "0.5", 1, 1, "success"),
        (1, 2, "success", "reused from s point 1", "s", 1, "0.0", "1.5", 1, 1, "success"),
    ]
    assert stored_rows(store.path, "SELECT idx, name, value FROM point_metrics WHERE sweep = 't' ORDER BY idx") == [
        (0, "loss", 0.5), (1, "loss", 1.5)
    ]  # fmt: skip
    assert stored_rows(store.path, "SELECT name FROM sweep_metrics WHERE sweep = 't'") == [("loss",)]
    assert store.reuse.sources(keys, "t") == {keys[2]: found[keys[2]]}  # each source reused once


def test_the_key_index_holds_runs_that_ran_and_a_lookup_reads_it_alone(tmp_path: Path) -> None:
    """Schema 5: a reused run is never a source, so it is not written among the keys (100,000 random
    inserts into the index of every key, for a sweep reused whole); the lookup finds each source's sweep
    and point in the index itself (SQLite says COVERING), and another sweep finds the runs that ran."""
    from dataclasses import replace

    from gitgrid.store.reuse import SOURCES, Reusing

    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 3), points(3))
    store.sweeps.sync(replace(sweep("2" * 40, 3), name="t"), points(3))
    keys = [run_key(f"{i:040x}", "f" * 64) for i in range(3)]
    store.shares.add_pulled(
        [(Run("s", i, p.commit, 1, "success", "", started=1.0), keys[i]) for i, p in enumerate(points(3))], ()
    )
    found = store.reuse.sources(keys, "t")
    assert [found[k][0].sweep for k in keys] == ["s"] * 3
    store.reuse.take(Reusing("t", 0, "here", 5.0, "f" * 64), list(enumerate(keys)))
    keyed = stored_rows(store.path, "SELECT sweep FROM runs INDEXED BY runs_key WHERE status = 'success' "
                        "AND reused_sweep IS NULL AND run_key IS NOT NULL")  # fmt: skip
    assert keyed == [("s",)] * 3
    assert stored_rows(store.path, "SELECT COUNT(*) FROM runs WHERE sweep = 't' AND run_key IS NOT NULL") == [
        (3,)
    ]
    again = store.reuse.sources(keys, "u")
    assert [(s.sweep, s.index) for k in keys for s in again[k]] == [("s", 0), ("s", 1), ("s", 2)]
    plan = stored_rows(store.path, "EXPLAIN QUERY PLAN " + SOURCES.format("?, ?"), ("a", "b", "t", "t"))
    assert any("COVERING INDEX runs_key" in str(row) for row in plan), plan
    assert any("INDEX runs_reused (sweep=? AND reused_sweep=? AND reused_index=?)" in str(r) for r in plan)
    store.close()
