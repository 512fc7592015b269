"""The store's choice of the runs a planning reuses (``Reuse.take``), made in SQL for the points whose key
is their own and in Python for those that share one: it must be the choice made key by key from
``Reuse.sources`` (newest first, the i-th point of a key takes its i-th run, never the sweep's own runs,
never a run the sweep reused already), and a dry run must write nothing."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from gitgrid.run.contract import Run
from gitgrid.store import Store
from gitgrid.store.record import run_key
from gitgrid.store.reuse import Reusing
from tests.helpers import stored_rows
from tests.store.test_points import points, sweep

COUNT = 40


def expected(store: Store, target: str, wanted: list[tuple[int, str]]) -> dict[int, float]:
    """The choice made key by key, as the planning made it before the choice moved into SQL: each
    point's source, by the loss that source (and no other run) measured."""
    found = store.reuse.sources([key for _, key in wanted], target)
    losses = dict(stored_rows(store.path, "SELECT run_id, value FROM metrics WHERE name = 'loss'"))
    used: dict[str, int] = {}
    chosen = {}
    for index, key in wanted:
        runs = found.get(key, [])
        if used.get(key, 0) < len(runs):
            chosen[index] = losses[runs[used.get(key, 0)].run_id]
            used[key] = used.get(key, 0) + 1
    return chosen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_choice_made_in_sql_is_the_choice_made_key_by_key(tmp_path: Path, seed: int) -> None:
    """Keys from a small pool, so that sources share keys (several runs of one tree, in two sweeps and
    in two attempts of one point) and so do the planned points (an optimiser's repeats): each planning
    takes what the key-by-key choice takes, in three plannings in turn (the later ones must not take a
    run again), with the reused runs' ids in index order; the sweep never takes its own runs."""
    rng = random.Random(seed)
    store = Store.open(tmp_path / "results.db")
    pool = [run_key(f"{i:040x}", "f" * 64) for i in range(12)]
    loss = iter(range(1, 10_000))
    for name, tip in (("s", "1"), ("r", "2"), ("t", "3")):
        store.sweeps.sync(replace(sweep(tip * 40, COUNT), name=name), points(COUNT))
    for name in ("s", "r"):
        runs = []
        for point in points(COUNT):
            for attempt in range(1, rng.randrange(1, 3) + 1):
                status = rng.choice(["success", "success", "failed"])
                run = Run(name, point.index, point.commit, attempt, status, "", started=float(next(loss)),
                          ended=10_000.0, metrics={"loss": float(next(loss))})  # fmt: skip
                runs.append((run, rng.choice(pool)))
        store.shares.add_pulled(runs, ())
    for planning in range(3):
        planned = sorted(rng.sample(range(COUNT), 25))
        keyed = [(i, rng.choice(pool)) for i in planned]
        choice = expected(store, "t", keyed)
        dry = store.reuse.take(Reusing("t", 0, "here", 5.0, "f" * 64), keyed, record=False)
        taken = store.reuse.take(Reusing("t", 0, "here", 5.0 + planning, "f" * 64), keyed)
        assert taken.indexes == frozenset(choice) == dry.indexes
        now = stored_rows(store.path, "SELECT idx, m.value, r.id FROM runs r JOIN metrics m ON m.run_id = r.id "
                          "WHERE r.sweep = 't' AND r.started = ? ORDER BY r.id", (5.0 + planning,))  # fmt: skip
        assert {i: v for i, v, _ in now} == choice
        assert [i for i, _, _ in now] == sorted(choice)  # ids in index order
        counts = stored_rows(store.path, "SELECT reused_sweep, COUNT(*) FROM runs WHERE sweep = 't' "
                             "AND started = ? GROUP BY reused_sweep", (5.0 + planning,))  # fmt: skip
        assert dict(taken.counts) == dict(counts)
    copies = stored_rows(store.path, "SELECT m.value FROM runs r JOIN metrics m ON m.run_id = r.id "
                         "WHERE r.sweep = 't' AND r.reused_sweep IS NOT NULL")  # fmt: skip
    assert len(copies) == len(set(copies))  # never one run taken twice, over the three plannings
    wanted = [(i, pool[i % len(pool)]) for i in range(COUNT)]
    choice = expected(store, "s", wanted)
    assert store.reuse.take(Reusing("s", 0, "here", 9.0, "f" * 64), wanted).indexes == frozenset(choice)
    own = stored_rows(store.path, "SELECT value FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.sweep = 's' "
                      "AND r.reused_sweep IS NULL")  # fmt: skip
    copied = stored_rows(store.path, "SELECT value FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.sweep = 's' "
                         "AND r.reused_sweep IS NOT NULL")  # fmt: skip
    assert copied and not set(copied) & set(own)  # a sweep never takes its own runs
    store.close()


def test_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "results.db")
    store.sweeps.sync(sweep("1" * 40, 3), points(3))
    store.sweeps.sync(replace(sweep("2" * 40, 3), name="t"), points(3))
    keys = [run_key(f"{i:040x}", "f" * 64) for i in range(3)]
    store.shares.add_pulled(
        [(Run("s", i, p.commit, 1, "success", "", started=1.0, metrics={"loss": i}), keys[i])
         for i, p in enumerate(points(3))], (),
    )  # fmt: skip
    tables = ("runs", "metrics", "points", "point_metrics", "sweep_metrics")
    before = [stored_rows(store.path, f"SELECT * FROM {table}") for table in tables]
    taken = store.reuse.take(Reusing("t", 0, "here", 5.0, "f" * 64), list(enumerate(keys)), record=False)
    assert taken.indexes == frozenset({0, 1, 2}) and dict(taken.counts) == {"s": 3}
    assert [stored_rows(store.path, f"SELECT * FROM {table}") for table in tables] == before
    store.close()
