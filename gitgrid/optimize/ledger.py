"""Every measurement of one optimisation, and the rule that no run is wasted.

Every method starts the same way: the start is measured twice. Two equal values mean the objective is
noise-free (a deterministic simulation): from then on a point measured before is answered from the
ledger and never run again (a check of a point already measured, an integer param rounded to a point
seen before). Two different values mean noise: the start is measured twice more, four values whose
standard deviation is the noise the methods calibrate on (and that ``auto`` chooses by); nothing is
ever answered from the ledger then, since a repeat is a new, independent measurement.

Methods ask through :meth:`Ledger.measure` (``values = yield from ledger.measure(requests)``): only the
requests that must run are yielded to whoever evaluates them, and the budget counts those alone.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace

from gitgrid.errors import OptimizeError
from gitgrid.optimize.history import Outcome, Request
from gitgrid.spec.values import Value

__all__ = ["START_MARGIN", "Ledger", "Measure", "Noise", "finish", "first_is_better", "measure_start"]

Measure = Generator[list[Request], list[float], list[float]]
STALLED = 1000  # batches in a row answered wholly from the ledger: the method has nothing new to ask
START_MARGIN = 1.0  # with noise, an answer replaces the start if measured lower by this many standard errors


@dataclass(frozen=True)
class Noise:
    """The values measured at the start, and what they say about the noise."""

    values: tuple[float, ...]

    @property
    def free(self) -> bool:
        """Noise-free: every measurement of the start gave the same value (or there was only one)."""
        return len(set(self.values)) <= 1

    @property
    def sd(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)


class Ledger:
    """The measurements made so far, the budget left, and the best single measurement."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.spent = 0
        self.noise: Noise | None = None  # None until the start is measured: everything runs
        self.seen: dict[tuple[Value, ...], list[float]] = {}
        self.best: tuple[float, tuple[Value, ...]] | None = None
        self.idle = 0  # batches in a row that ran nothing

    @property
    def left(self) -> int:
        return self.budget - self.spent

    @property
    def stalled(self) -> bool:
        """True once a method asked only for points already measured, batch after batch: a small
        discrete space is exhausted, or the method converged onto measured points."""
        return self.idle >= STALLED

    def known(self, x: Sequence[Value]) -> bool:
        """Whether asking for ``x`` would be answered without a run."""
        return self.noise is not None and self.noise.free and tuple(x) in self.seen

    def measure(self, requests: Sequence[Request]) -> Measure:
        """The values of ``requests``: those that must run are yielded (and counted), the rest answered."""
        reuse = self.noise is not None and self.noise.free
        runs: list[Request] = []
        slots: list[int] = []  # per request: its run, or -1 when the ledger answers it
        pending: dict[tuple[Value, ...], int] = {}
        for request in requests:
            key = tuple(request.x)
            if reuse and key in self.seen:
                slots.append(-1)
            elif reuse and key in pending:
                slots.append(pending[key])
            else:
                pending[key] = len(runs)
                slots.append(len(runs))
                runs.append(request)
        if len(runs) > self.left:
            raise OptimizeError(
                f"internal: {len(runs)} evaluations asked with {self.left} left of the budget"
            )
        values: list[float] = (yield runs) if runs else []
        self.idle = 0 if runs else self.idle + 1
        self.spent += len(runs)
        for request, value in zip(runs, values, strict=True):
            self.seen.setdefault(tuple(request.x), []).append(value)
            if self.best is None or value < self.best[0]:
                self.best = (value, tuple(request.x))
        return [
            values[s] if s >= 0 else self.seen[tuple(r.x)][0] for r, s in zip(requests, slots, strict=True)
        ]

    def mean(self, x: Sequence[Value]) -> float:
        """The mean of every measurement of ``x``."""
        return statistics.fmean(self.seen[tuple(x)])


def measure_start(ledger: Ledger, start: tuple[Value, ...]) -> Generator[list[Request], list[float], Noise]:
    """Measure the start twice, and twice more if the two differ (see the module); sets the ledger's noise."""
    first = min(2, ledger.left)
    values = yield from ledger.measure([Request(start, 0, "start")] * first)
    if len(set(values)) > 1 and ledger.left >= 2:
        values += yield from ledger.measure([Request(start, 0, "start")] * 2)
    ledger.noise = Noise(tuple(values))
    return ledger.noise


def first_is_better(first: Sequence[float], second: Sequence[float], margin: float) -> bool:
    """Whether the measurements ``first`` are lower on average than ``second`` by more than ``margin``
    standard errors of the difference (the spread pooled from both); noise-free (one value each), just
    lower."""
    difference = statistics.fmean(second) - statistics.fmean(first)
    if min(len(first), len(second)) < 2:
        return difference > 0
    pooled = (statistics.variance(first) + statistics.variance(second)) / 2
    return difference > margin * math.sqrt(pooled * (1 / len(first) + 1 / len(second)))


def finish(outcome: Outcome, ledger: Ledger, start: tuple[Value, ...]) -> Outcome:
    """The answer, made never worse than what was measured.

    Noise-free: the best point measured, if the method's answer is not at least as good. With noise,
    the method's answer keeps its value (an honest estimate: a mean of measurements) if its
    measurements are lower than the start's by more than ``START_MARGIN`` standard errors; else the
    start is the answer: a lower mean within the noise does not show the answer is better (goal (b)
    of the benchmark, never worse than the start, failed on that once in 500 held-out runs). An answer
    at the best single reading's point (CMA-ES and SPSA measure it again) is judged without that
    reading, the draw that picked it. The best single reading is reported beside it, never as the
    answer (it is a lucky draw).
    """
    noise = ledger.noise or Noise(())
    best = ledger.best
    if noise.free and best is not None and best[0] < outcome.value:
        outcome = replace(outcome, x=best[1], value=best[0])
    elif not noise.free and noise.values and tuple(outcome.x) != tuple(start):
        measured = list(ledger.seen.get(tuple(outcome.x), [outcome.value]))
        if best is not None and best[1] == tuple(outcome.x) and len(measured) > 1:
            measured.remove(best[0])  # the lucky reading that picked the point: no evidence for it
        if not first_is_better(measured, noise.values, START_MARGIN):
            outcome = replace(outcome, x=start, value=noise.mean)
    if not math.isfinite(outcome.value):
        raise OptimizeError(f"internal: the answer's value is {outcome.value}")
    return replace(outcome, noise=noise.sd, best=best)
