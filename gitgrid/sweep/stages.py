"""A stage's records: the runs of one analysis of a sweep (``gitgrid analyze``), kept as a sweep of
their own named ``SWEEP:STAGE``, with the sweep's points.

Keeping them as a sweep lets every part that records, collects, reconciles, counts and shows runs do the
same for a stage's runs (``gitgrid status grid:spikes`` groups its failures, ``gitgrid results
grid:spikes --all-attempts`` lists its attempts), while the sweep's own rows never mix with them. The
name cannot be a sweep's: git refuses ``:`` in a branch name (:mod:`gitgrid.sweep.names`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from gitgrid.errors import SweepError, excerpt
from gitgrid.sweep.record import Sweep

__all__ = ["SEPARATOR", "check_stage", "split_records", "stage_problem", "stage_records"]

SEPARATOR = ":"
_STAGE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")


def stage_problem(name: object) -> str | None:
    """Why ``name`` cannot name a stage, or None. A stage's metrics are shown as ``STAGE.METRIC`` and its
    runs kept in a folder named after it, so: letters, digits, ``_`` and ``-``, at most 64, no dot."""
    if not isinstance(name, str) or not _STAGE.fullmatch(name):
        return "a stage name is 1 to 64 letters, digits, '_' or '-' (not starting with '-'), without '.'"
    return None


def check_stage(name: str) -> str:
    """``name`` when it may name a stage, else :class:`~gitgrid.errors.SweepError` saying why."""
    problem = stage_problem(name)
    if problem is not None:
        raise SweepError(f"--stage {excerpt(name)}: {problem}")
    return name


def stage_records(sweep: Sweep, stage: str) -> Sweep:
    """The records of stage ``stage`` of ``sweep``: a sweep named ``SWEEP:STAGE`` with its points."""
    if SEPARATOR in sweep.name:
        raise SweepError(f"'{excerpt(sweep.name)}' holds a stage's records already: analyse its sweep")
    return replace(sweep, name=f"{sweep.name}{SEPARATOR}{check_stage(stage)}")


def split_records(name: str) -> tuple[str, str | None]:
    """``(sweep, stage)`` of a name of a stage's records, ``(name, None)`` of any other name."""
    sweep, separator, stage = name.partition(SEPARATOR)
    return (sweep, stage) if separator else (name, None)
