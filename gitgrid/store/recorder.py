"""How a local runner records its runs: one store write per point.

A run's start is written at once, before its ``meta.json`` says ``running`` (a runner killed between
the two must leave a row the next runner finds: it stops the run's process group and records it). A
run's end waits: the runner has already written its final ``meta.json``, so a runner killed now leaves
a ``running`` row whose ``meta.json`` is final, which the next runner records as that ``meta.json``
says (the runner closes such orphans before it starts anything). Nothing finished is lost on ``kill -9``.
The ends waiting go into the store with the next start, of any worker, in one transaction, and the
runner flushes them on its ticks (every 50 ms) and before it returns, so a reader sees a result at
most a tick after its run ended.
"""

from __future__ import annotations

import threading

from gitgrid.store.record import Run, SeriesRows
from gitgrid.store.runs import Ended, Runs

__all__ = ["Recorder"]


class Recorder:
    """A runner's writes: starts at once, ends with the next write. Safe to share between workers."""

    def __init__(self, runs: Runs) -> None:
        self._runs = runs
        self._lock = threading.Lock()
        self._ends: list[Ended] = []

    def started(self, run: Run) -> int:
        """Store ``run`` as starting, with the ends waiting, in one transaction; its id."""
        ends = self._take()
        try:
            return self._runs.write(ends, run) or 0
        except BaseException:
            self._give_back(ends)
            raise

    def ended(self, run_id: int, run: Run, series: SeriesRows = ()) -> None:
        """Remember the end of the stored run ``run_id`` until the next write."""
        with self._lock:
            self._ends.append((run_id, run, tuple(series)))

    def flush(self) -> None:
        """Write the ends waiting, if any (kept for the next try when the store refuses)."""
        ends = self._take()
        if ends:
            try:
                self._runs.write(ends)
            except BaseException:
                self._give_back(ends)
                raise

    def _take(self) -> list[Ended]:
        with self._lock:
            ends, self._ends = self._ends, []
        return ends

    def _give_back(self, ends: list[Ended]) -> None:
        with self._lock:
            self._ends[:0] = ends
