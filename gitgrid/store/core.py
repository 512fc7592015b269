"""The :class:`Store`: a repository's results store, as the few focused parts callers ask by name.

Modelled on Optuna's storages: the rest of gitgrid sees named operations grouped by what they are
about (``store.sweeps``, ``store.runs``, ``store.jobs``, ``store.scans``, ``store.progress``,
``store.results``, ``store.views``, ``store.shares``, ``store.reuse``, ``store.stages``); every SQL
statement and the schema stay in this package, and no caller gets the connection or runs a query of its
own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gitgrid.store.database import Database
from gitgrid.store.jobs import Jobs
from gitgrid.store.progress import Progress
from gitgrid.store.reuse import Reuse
from gitgrid.store.rows import Results
from gitgrid.store.runs import Runs
from gitgrid.store.scans import Scans
from gitgrid.store.shares import Shares
from gitgrid.store.stages import Stages
from gitgrid.store.sweeps import Sweeps
from gitgrid.store.views import Views

__all__ = ["Store"]


class Store:
    """The results store of one repository. Safe to share between the threads of one runner.

    ``sweeps``: sweeps and their points; ``runs``: every attempt, written as it starts and ends or as
    it is collected; ``jobs``: submitted array jobs; ``scans``: what collecting has seen;
    ``progress``: where a sweep stands and what to run next; ``results``: result rows;
    ``views``: the report's and dashboard's aggregates and pages; ``shares``: runs as the results notes
    see them (push, pull); ``reuse``: successful runs by their run key; ``stages``: the analyses of each
    sweep (``gitgrid analyze``) and how current each point's is.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self.path = db.path
        self.sweeps = Sweeps(db)
        self.runs = Runs(db)
        self.jobs = Jobs(db)
        self.scans = Scans(db)
        self.progress = Progress(db)
        self.results = Results(db)
        self.views = Views(db)
        self.shares = Shares(db)
        self.reuse = Reuse(db)
        self.stages = Stages(db)

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> Store:
        """Open (creating on first use) the store at ``path``; refuse a damaged one or one from a newer
        gitgrid; migrate one of schema 1. ``readonly`` opens an existing store that is never written."""
        return cls(Database.open(path, readonly))

    def close(self) -> None:
        self._db.close()

    def stop_when(self, late: Callable[[], bool]) -> None:
        """Interrupt any query once ``late()`` says so (the dashboard's time limit per request)."""
        self._db.stop_when(late)

    @contextmanager
    def waiting(self, seconds: float) -> Iterator[None]:
        """Writes inside wait at most ``seconds`` for another writer (e.g. a chore a query can skip)."""
        with self._db.waiting(seconds):
            yield
