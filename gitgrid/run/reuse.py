"""Nothing computed twice: before points run, each one whose run key a stored successful run has is
recorded as a success of its own that names that run, and is not run.

A run's key is its point commit's tree id and its recipe (the command and its arguments, ``--build``,
``--setup``, the run contract's version: :func:`gitgrid.store.record.run_key`). So a sweep created again
on the same base, the old points of an extended grid, an optimiser starting where another sweep ran, or a
point of another sweep with the same files, reuse what ran, from any sweep, made here or pulled (but
never to repeat a point of its own sweep: :func:`_first_of_each_key`); a change in the
command, the build, the setup or any file of the tree changes the key. Every launcher plans its points
through :func:`plan_runs`, so each reuses the same way. ``--no-reuse`` (and ``--rerun``, which asks for
new runs) turn it off: for a command that reads what the tree does not hold (data outside the
repository, the clock, the network).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from gitgrid.git.repository import Repository
from gitgrid.run.contract import host
from gitgrid.store import Plan, Store
from gitgrid.store.record import recipe_of, run_key
from gitgrid.store.reuse import Reusing, Source
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["Choice", "Planned", "plan_runs"]


class Choice(Protocol):
    """What planning needs of a run's options (:class:`gitgrid.run.runner.RunOptions` has it all)."""

    @property
    def where(self) -> str | None: ...
    @property
    def rerun(self) -> bool: ...
    @property
    def retry_failed(self) -> bool: ...
    @property
    def build(self) -> str | None: ...
    @property
    def setup(self) -> str | None: ...
    @property
    def reuse(self) -> bool: ...
    @property
    def runs_root(self) -> Path | None: ...


@dataclass(frozen=True)
class Planned:
    """What to run: the store's plan without the reused points, the points reused (by index) and from
    which sweeps, the recipe, and each point's tree (by commit) for the keys of the runs to come."""

    plan: Plan
    recipe: str
    trees: Mapping[str, str] = field(default_factory=dict)
    reused: Mapping[str, int] = field(default_factory=dict)  # source sweep -> points reused from it
    indexes: frozenset[int] = frozenset()  # the points reused

    @property
    def count(self) -> int:
        return sum(self.reused.values())


def plan_runs(
    repo: Repository,
    store: Store,
    sweep: Sweep,
    options: Choice,
    command: Sequence[str],
    *,
    record: bool = True,
) -> Planned:
    """The points ``options`` select (:meth:`gitgrid.store.progress.Progress.plan`), less those that can
    reuse a stored success, which are recorded as reused (unless not ``record``: a dry run); the rest are
    to run. ``--no-reuse`` and ``--rerun`` reuse nothing.

    Everything is done for all points at once, before anything is launched: one bulk key lookup, one
    write of the reused runs; and the points' params (JSON the runs need, not the reuse) are read only for
    the points left to run, so a sweep whose every point is reused costs little more than ``status``."""
    reusing = options.reuse and not options.rerun
    lean = reusing and record  # params read after reuse, for the points left
    plan = store.progress.plan(
        sweep, options.where, rerun=options.rerun, retry_failed=options.retry_failed, params=not lean
    )
    recipe = recipe_of(command, options.build, options.setup)
    trees = {point.commit: point.tree for point in plan.points if point.tree}
    if len(trees) < len(plan.points):  # points the store had before it kept trees: ask git
        trees.update(repo.trees([point.commit for point in plan.points if not point.tree]))
    if not reusing or not plan.points:
        return Planned(plan, recipe, trees)
    keys = {p.index: run_key(trees[p.commit], recipe) for p in plan.points if p.commit in trees}
    sources = _one_each(plan.points, keys, store.reuse.sources(keys.values(), sweep.name))
    rest: list[PointRecord] = [p for p in plan.points if p.index not in sources]
    if lean:
        rest = _with_params(store, sweep, rest)
    if not sources:
        return Planned(replace(plan, points=rest), recipe, trees)
    if record:
        at = time.time()
        reused = Reusing(sweep.name, plan.rerun, host(), at, recipe)
        store.reuse.record(
            reused, [(p.index, p.commit, keys[p.index], sources[p.index].run_id) for p in plan.points
                     if p.index in sources]
        )  # fmt: skip
    counts = Counter(source.sweep for source in sources.values())
    return Planned(replace(plan, points=rest), recipe, trees, dict(counts), frozenset(sources))


def _with_params(store: Store, sweep: Sweep, points: list[PointRecord]) -> list[PointRecord]:
    """``points`` (planned without their params) with their params."""
    if not points:
        return points
    params = store.sweeps.params(sweep.name, [p.index for p in points])
    return [replace(p, params=params[p.index]) for p in points]


def _one_each(
    points: Sequence[PointRecord], keys: Mapping[int, str], sources: Mapping[str, Sequence[Source]]
) -> dict[int, Source]:
    """The run each point reuses, by index: a run of the point's key, and never one run for two points.
    Points of one sweep with one tree repeat a measurement on purpose (an optimiser measuring its noise
    or checking its answer, replicates): each takes a run of its own, or runs, so that the repeats never
    copy one value and hide the noise they are there to measure."""
    taken: dict[str, int] = {}
    chosen: dict[int, Source] = {}
    for point in points:
        key = keys.get(point.index)
        if key is None or not (found := sources.get(key)):
            continue
        used = taken.get(key, 0)
        if used < len(found):
            chosen[point.index] = found[used]
            taken[key] = used + 1
    return chosen
