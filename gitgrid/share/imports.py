"""Results notes into the store: each record read as untrusted input, checked against this clone's own
sweeps, and stored once.

A record is stored when its line is a valid record (:func:`gitgrid.share.record.parse`), its sweep is
one this clone knows (by its tag) and its point is that sweep's point of that index with that commit,
and no metric has the name of a param; a record the store holds already (the same run: commit,
attempt, host and start) is known and skipped. Anything else is skipped with one warning per cause,
counted, naming the first case. Records of a sweep whose tag is missing here are retried by the next
pull (its tag may come later); every other note read is remembered, so a pull reads only new notes.
The run key of each record is computed here, from this clone's tree of the commit and the recipe.

A stage's runs (``gitgrid analyze``: records of ``SWEEP:STAGE``) are stored the same way, as runs of that
sweep's stage's records; a stage this clone has never run is recorded with the command and ``--uses``
its records carry, so its metrics show as ``STAGE.METRIC`` and ``gitgrid analyze`` here runs only the
points whose analysis would differ (another simulation run, other analysis code).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gitgrid.errors import GitgridWarning
from gitgrid.git.repository import Repository
from gitgrid.run.contract import Run
from gitgrid.share.notes import note_lines
from gitgrid.share.record import RecordProblem, StageDefinition, parse_stage
from gitgrid.store import Store
from gitgrid.store.record import Identity, StageRecord, run_key
from gitgrid.sweep.catalog import list_points, list_sweeps
from gitgrid.sweep.record import Sweep
from gitgrid.sweep.stages import split_records, stage_records

__all__ = ["Imported", "import_records"]

_BATCH = 256  # notes stored per transaction: memory stays that of 16,384 points' records


@dataclass
class Imported:
    """What an import did: runs stored, records already here, records skipped (warned about)."""

    stored: int = 0
    known: int = 0
    skipped: int = 0
    problems: dict[str, tuple[int, str]] = field(default_factory=dict)  # cause -> (count, first case)

    def skip(self, cause: str, case: str) -> None:
        count, first = self.problems.get(cause, (0, case))
        self.problems[cause] = (count + 1, first)
        self.skipped += 1

    def warn(self, what: str) -> None:
        for cause, (count, first) in self.problems.items():
            records = "a record" if count == 1 else f"{count} records"
            warnings.warn(GitgridWarning(f"{what}: {records} skipped: {cause} ({first})"), stacklevel=3)


def import_records(repo: Repository, store: Store, contents: Mapping[str, bytes], what: str) -> Imported:
    """Store the records of the note blobs ``contents`` (blob id -> content) that are new here."""
    done = Imported()
    sweeps = _Sweeps({sweep.name: sweep for sweep in list_sweeps(repo)})
    points: dict[str, dict[int, tuple[str, str | None]]] = {}
    blobs = list(contents)
    for start in range(0, len(blobs), _BATCH):
        batch = blobs[start : start + _BATCH]
        runs: list[Run] = []
        complete: list[str] = []
        for blob in batch:
            found, whole = _records(repo, store, contents[blob], blob, sweeps, points, done)
            runs += found
            if whole:
                complete.append(blob)
        _store(repo, store, runs, complete, points, done)
    _adopt(store, sweeps.stages)
    done.warn(what)
    return done


@dataclass
class _Sweeps:
    """This clone's sweeps by name, a stage's records (``SWEEP:STAGE``) found through its sweep; and the
    stages pulled records named, each with the command and ``--uses`` its records carry and an analysis
    key."""

    known: dict[str, Sweep]
    stages: dict[tuple[str, str], tuple[StageDefinition, str]] = field(default_factory=dict)

    def get(self, name: str) -> Sweep | None:
        if name not in self.known:
            base, stage = split_records(name)
            sweep = self.known.get(base) if stage is not None else None
            if sweep is None or stage is None:
                return None
            self.known[name] = stage_records(sweep, stage)
        return self.known[name]

    def note(self, run: Run, stage: StageDefinition | None) -> None:
        base, name = split_records(run.sweep)
        if name is not None and stage is not None and run.analysis is not None:
            self.stages.setdefault((base, name), (stage, run.analysis))


def _adopt(store: Store, pulled: dict[tuple[str, str], tuple[StageDefinition, str]]) -> None:
    """Record each stage pulled records named that this clone's store does not know (a stage run here is
    kept as it was run here): its command, ``--uses``, and the working tree as its code."""
    for (sweep, name), ((command, uses), analysis) in pulled.items():
        if not any(stage.stage == name for stage in store.stages.of(sweep)):
            store.stages.record(StageRecord(sweep, name, False, command, None, uses, analysis, "", False))


def _records(
    repo: Repository,
    store: Store,
    content: bytes,
    blob: str,
    sweeps: _Sweeps,
    points: dict[str, dict[int, tuple[str, str | None]]],
    done: Imported,
) -> tuple[list[Run], bool]:
    """The valid records of one note; and whether every record of it was judged for good (False when a
    record's sweep is unknown here: its tag may arrive later)."""
    runs, whole = [], True
    for number, line in enumerate(note_lines(content), 1):
        try:
            run, stage = parse_stage(line)
        except RecordProblem as exc:
            done.skip("not a run record", f"note {blob[:12]}, line {number}: {exc}")
            continue
        sweep = sweeps.get(run.sweep)
        if sweep is None:
            done.skip("no such sweep here (push its tag from where it was made)", f"'{run.sweep}'")
            whole = False
            continue
        problem = _point_problem(repo, store, sweep, run, points)
        if problem is not None:
            done.skip(problem, f"note {blob[:12]}, line {number}: {run.sweep} point {run.index}")
            continue
        runs.append(run)
        sweeps.note(run, stage)
    return runs, whole


def _point_problem(
    repo: Repository,
    store: Store,
    sweep: Sweep,
    run: Run,
    points: dict[str, dict[int, tuple[str, str | None]]],
) -> str | None:
    """Why ``run`` is not a run of a point of ``sweep`` here, if it is not."""
    if sweep.name not in points:
        store.sweeps.sync(sweep, list_points(repo, sweep))
        points[sweep.name] = store.shares.points(sweep.name)
    point = points[sweep.name].get(run.index)
    if point is None or point[0] != run.commit:
        return "not a point of its sweep here (another commit, or no such index)"
    if any(name in sweep.params for name in run.metrics):
        return "a metric has the name of a param"
    return None


def _store(
    repo: Repository,
    store: Store,
    runs: list[Run],
    complete: Iterable[str],
    points: Mapping[str, Mapping[int, tuple[str, str | None]]],
    done: Imported,
) -> None:
    """Store the runs the store does not hold yet (each once), with their keys (from the trees the store
    keeps of its points); remember the notes."""
    known = store.shares.known(runs)
    fresh: dict[Identity, Run] = {}
    for run in runs:
        if run.identity in known or run.identity in fresh:
            done.known += 1
        else:
            fresh[run.identity] = run
    trees = {run.commit: tree for run in fresh.values() if (tree := points[run.sweep][run.index][1])}
    missing = {run.commit for run in fresh.values() if run.recipe and run.commit not in trees}
    if missing:  # points the store had before it kept trees: ask git
        trees.update(repo.trees(sorted(missing)))
    keyed = [
        (run, run_key(trees[run.commit], run.recipe) if run.recipe and run.commit in trees else None)
        for run in fresh.values()
    ]
    store.shares.add_pulled(keyed, complete)
    done.stored += len(keyed)
