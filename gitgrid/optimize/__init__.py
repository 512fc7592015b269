"""Choosing points instead of gridding them: SPSA, random search and Optuna's samplers, as a Python API
over any executor and as ``gitgrid optimize``, where every evaluation is a commit.

``box`` is the search box and its unit cube; ``history`` what a method asks and answers (and ``drive``,
which runs one); ``gains`` and ``stochastic`` are SPSA; ``samplers`` random search and Optuna; ``methods``
chooses one by name; ``minimize`` is the Python API over executors; ``sharded`` the worker-initialised
objective. Documented in ``docs/optimize.md``.
"""

from __future__ import annotations

from gitgrid.optimize.box import Box, Dimension
from gitgrid.optimize.history import Evaluation, Result
from gitgrid.optimize.methods import METHODS
from gitgrid.optimize.minimize import minimize, spsa
from gitgrid.optimize.sharded import Sharded
from gitgrid.optimize.stochastic import SpsaSettings

__all__ = [
    "METHODS",
    "Box",
    "Dimension",
    "Evaluation",
    "Result",
    "Sharded",
    "SpsaSettings",
    "minimize",
    "spsa",
]
