"""What an optimisation asks for and what it gives back: requests, evaluations and the result.

Every method is written as a generator of batches (:data:`Steps`): it yields the requests of one batch
(the evaluations that may run at once, e.g. SPSA's ``theta+`` and ``theta-``) and is sent their values,
in the same order, and finally returns its :class:`Outcome`. Whoever drives it decides how a batch is
evaluated: an executor for the Python API, commits and runs for ``gitgrid optimize``. Because a method
depends only on its seed and the values it is sent, driving it again with the recorded values replays
it exactly: that is how an interrupted optimisation continues.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

from gitgrid.errors import OptimizeError
from gitgrid.spec.values import Value

__all__ = ["Evaluate", "Evaluation", "Outcome", "Request", "Result", "Steps", "drive", "finite"]


@dataclass(frozen=True)
class Request:
    """One evaluation a method asks for: the point, the iteration, and its role in it.

    Roles: ``start`` (the start, measured for calibration), ``theta+``/``theta-`` (SPSA's perturbed
    pair), ``check`` (the returned point, measured), ``trial`` (random search, Optuna).
    """

    x: tuple[Value, ...]
    iteration: int
    role: str


@dataclass(frozen=True)
class Evaluation:
    """One evaluation made: the point, the objective's value there, the iteration and the role."""

    x: tuple[Value, ...]
    value: float
    iteration: int
    role: str


@dataclass(frozen=True)
class Outcome:
    """What a method returns: its answer, the value measured there, and why it stopped."""

    x: tuple[Value, ...]
    value: float
    iterations: int
    stopped: str  # budget, ftol, param-tol, converged, exhausted
    settings: tuple[tuple[str, float], ...] = ()  # e.g. SPSA's calibrated gains a, c, A
    method: str = ""  # the method that ran (what ``auto`` chose)
    reason: str = ""  # why ``auto`` chose it
    noise: float | None = None  # the standard deviation measured at the start
    best: tuple[float, tuple[Value, ...]] | None = None  # the best single measurement: value, point


@dataclass(frozen=True)
class Result:
    """An optimisation's answer: the point, its value, and every evaluation made on the way."""

    x: tuple[Value, ...]
    value: float
    history: tuple[Evaluation, ...]
    iterations: int
    stopped: str
    settings: dict[str, float]
    method: str = ""  # the method that ran: what ``auto`` chose, or the one named
    reason: str = ""  # why ``auto`` chose it
    noise: float | None = None  # the standard deviation of the start's measurements (0: noise-free)
    best: Evaluation | None = None  # the best single measurement (with noise: a lucky draw, not the answer)

    @property
    def evaluations(self) -> int:
        return len(self.history)


Steps = Generator[list[Request], list[float], Outcome]
Evaluate = Callable[[Sequence[Request]], list[float]]


def drive(steps: Steps, evaluate: Evaluate) -> Result:
    """Run a method to its end, evaluating each batch it asks for with ``evaluate``."""
    history: list[Evaluation] = []
    try:
        batch = next(steps)
        while True:
            values = evaluate(batch)
            history += [Evaluation(r.x, v, r.iteration, r.role) for r, v in zip(batch, values, strict=True)]
            batch = steps.send(values)
    except StopIteration as stop:
        outcome: Outcome = stop.value
    best = None
    if outcome.best is not None:
        value, x = outcome.best
        best = next((e for e in history if e.x == x and e.value == value), None)
    return Result(outcome.x, outcome.value, tuple(history), outcome.iterations, outcome.stopped,
                  dict(outcome.settings), outcome.method, outcome.reason, outcome.noise, best)  # fmt: skip


def finite(value: object, where: str) -> float:
    """``value`` as a float, or an error naming the point: NaN or infinity would silently steer a method."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OptimizeError(f"the objective returned {value!r} at {where}: expected a number") from None
    if not math.isfinite(number):
        raise OptimizeError(f"the objective returned {number} at {where}: expected a finite number")
    return number
