"""Nothing computed twice: before points run, each one whose run key a stored successful run has is
recorded as a success of its own that names that run, and is not run.

A run's key is its point commit's tree id and its recipe (the command and its arguments, ``--build``,
``--setup``, the run contract's version: :func:`gitgrid.store.record.run_key`). So a sweep created again
on the same base, the old points of an extended grid, an optimiser starting where another sweep ran, or a
point of another sweep with the same files, reuse what ran, from any sweep, made here or pulled (but
never to repeat a point of its own sweep, nor to copy one run into two points:
:func:`gitgrid.store.reuse.one_each`); a change in the
command, the build, the setup or any file of the tree changes the key. Every launcher plans its points
through :func:`plan_runs`, so each reuses the same way. ``--no-reuse`` (and ``--rerun``, which asks for
new runs) turn it off: for a command that reads what the tree does not hold (data outside the
repository, the clock, the network).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from gitgrid.git.repository import Repository
from gitgrid.run.contract import host
from gitgrid.store import Plan, Store
from gitgrid.store.record import recipe_of, run_keys
from gitgrid.store.reuse import Reusing
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

    Everything is done for all points at once, before anything is launched: the keys computed from the
    trees the store keeps, one choice of sources and one write of the reused runs, both in SQL
    (:meth:`gitgrid.store.reuse.Reuse.take`); the points are plain rows until then, and only the points
    left to run become records with their params (JSON the runs need, not the reuse), so a sweep whose
    every point is reused costs little more than ``status``."""
    recipe = recipe_of(command, options.build, options.setup)
    if not options.reuse or options.rerun:
        plan = store.progress.plan(
            sweep, options.where, rerun=options.rerun, retry_failed=options.retry_failed
        )
        trees = {point.commit: point.tree for point in plan.points if point.tree}
        if len(trees) < len(plan.points):  # points the store had before it kept trees: ask git
            trees.update(repo.trees([point.commit for point in plan.points if not point.tree]))
        return Planned(plan, recipe, trees)
    plan, rows = store.progress.lean_plan(
        sweep, options.where, rerun=options.rerun, retry_failed=options.retry_failed
    )
    if not rows:
        return Planned(plan, recipe)
    trees = {commit: tree for _, commit, tree in rows if tree}
    if len(trees) < len(rows):  # points the store had before it kept trees: ask git
        trees.update(repo.trees([commit for _, commit, tree in rows if not tree]))
    keys = run_keys(((index, trees.get(commit)) for index, commit, _ in rows), recipe)
    reusing = Reusing(sweep.name, plan.rerun, host(), time.time(), recipe)
    taken = store.reuse.take(reusing, keys, record=record)
    left = [(index, commit) for index, commit, _ in rows if index not in taken.indexes]
    params = store.sweeps.params(sweep.name, [index for index, _ in left]) if left else {}
    points = [PointRecord(i, commit, params[i], trees.get(commit, "")) for i, commit in left]
    return Planned(
        replace(plan, points=points), recipe, {c: trees[c] for _, c in left if c in trees},
        dict(taken.counts), taken.indexes,
    )  # fmt: skip
