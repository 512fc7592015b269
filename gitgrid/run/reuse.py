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
from gitgrid.run.contract import Run, host
from gitgrid.store import Plan, Store
from gitgrid.store.record import recipe_of, run_key
from gitgrid.store.reuse import Source
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
    to run. ``--no-reuse`` and ``--rerun`` reuse nothing."""
    plan = store.progress.plan(sweep, options.where, rerun=options.rerun, retry_failed=options.retry_failed)
    recipe = recipe_of(command, options.build, options.setup)
    trees = {point.commit: point.tree for point in plan.points if point.tree}
    if len(trees) < len(plan.points):  # points the store had before it kept trees: ask git
        trees.update(repo.trees([point.commit for point in plan.points if not point.tree]))
    if not options.reuse or options.rerun or not plan.points:
        return Planned(plan, recipe, trees)
    keys = {p.index: run_key(trees[p.commit], recipe) for p in plan.points if p.commit in trees}
    sources = _one_each(plan.points, keys, store.reuse.sources(keys.values(), sweep.name))
    hits = [p for p in plan.points if p.index in sources]
    if not hits:
        return Planned(plan, recipe, trees)
    if record:
        store.reuse.record(sweep.name, _reused(store, sweep, plan, hits, command, recipe, keys, sources))
    chosen = frozenset(p.index for p in hits)
    rest: list[PointRecord] = [p for p in plan.points if p.index not in chosen]
    counts = Counter(sources[p.index].sweep for p in hits)
    return Planned(replace(plan, points=rest), recipe, trees, dict(counts), chosen)


def _one_each(
    points: Sequence[PointRecord], keys: Mapping[int, str], sources: Mapping[str, Sequence[Source]]
) -> dict[int, Source]:
    """The run each point reuses, by index: a run of the point's key, and never one run for two points.
    Points of one sweep with one tree repeat a measurement on purpose (an optimiser measuring its noise
    or checking its answer, replicates): each takes a run of its own, or runs, so that the repeats never
    copy one value and hide the noise they are there to measure."""
    taken: Counter[str] = Counter()
    chosen: dict[int, Source] = {}
    for point in points:
        key = keys.get(point.index)
        if key is not None and taken[key] < len(sources.get(key, ())):
            chosen[point.index] = sources[key][taken[key]]
            taken[key] += 1
    return chosen


def _reused(
    store: Store,
    sweep: Sweep,
    plan: Plan,
    hits: Sequence[PointRecord],
    command: Sequence[str],
    recipe: str,
    keys: Mapping[int, str],
    sources: Mapping[int, Source],
) -> list[tuple[Run, int]]:
    """A reused run of each point (a success that ran nothing, naming its source) and its source's id."""
    attempts = store.runs.attempts(sweep.name, (p.index for p in hits))
    now, here = time.time(), host()
    reused = []
    for point in hits:
        source, attempt = sources[point.index], attempts.get(point.index, 0) + 1
        run = Run(
            sweep=sweep.name, index=point.index, commit=point.commit, attempt=attempt,
            status="success", run_dir="", params=point.params, rerun=plan.rerun, host=here, started=now,
            ended=now, command=tuple(command), recipe=recipe, key=keys[point.index],
            reused=(source.sweep, source.index), reason=f"reused from {source.sweep} point {source.index}",
        )  # fmt: skip
        reused.append((run, source.run_id))
    return reused
