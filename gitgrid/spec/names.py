"""What a param may be called: the one rule, for specs and for the sweep records read back from git.

Kept apart from the spec reader so that checking a record (every ``gitgrid list``) does not load YAML and
the expression compiler: start-up time (#10).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from gitgrid.errors import excerpt

__all__ = [
    "FIXED_COLUMNS",
    "RESERVED_NAMES",
    "name_problem",
    "param_env_name",
    "param_variables",
    "shared_variables",
]

# Columns ``gitgrid list`` and ``results`` show beside the params: a param of that name would replace one.
FIXED_COLUMNS = frozenset({"index", "commit", "status", "attempt", "duration", "reason", "rerun"})
RESERVED_NAMES = frozenset({"point"}) | FIXED_COLUMNS
_MAX_NAME = 100


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a param's name, or None when it can.

    Names travel through commit trailers, sweep records, table headers and store columns: they must be
    short printable text (no line break or other control character) and must not replace a fixed column.
    """
    if not isinstance(name, str) or not name:
        return f"param name {excerpt(name)} must be a non-empty string"
    if len(name) > _MAX_NAME:
        return f"param name '{excerpt(name)}' is longer than {_MAX_NAME} characters"
    if not name.isprintable():
        return f"param name '{excerpt(name)}' holds a line break or another control character"
    if name.lower() in FIXED_COLUMNS:
        return (
            f"param name '{name}' is a fixed column of 'gitgrid list' and 'results'; give the param another "
            f"name and point it at the file's name with 'target: {name}'"
        )
    if name in RESERVED_NAMES:
        return f"param name '{name}' is reserved (templates use it)"
    return None


def param_env_name(name: str) -> str:
    """``GITGRID_PARAM_<NAME>``, the variable a run reads the param from: upper-cased, anything but
    ASCII letters and digits turned into ``_`` (shells and schedulers pass no other variable names)."""
    return "GITGRID_PARAM_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def param_variables(names: Iterable[str]) -> dict[str, str | None]:
    """Each param's ``GITGRID_PARAM_*`` variable, or None for params that share one (``N`` and ``n``,
    ``a.b`` and ``a_b``): such a variable is not set at all, since either value in it would be a wrong
    number for the other param; ``GITGRID_PARAMS`` (JSON) holds both."""
    variables = {name: param_env_name(name) for name in names}
    counts = Counter(variables.values())
    return {name: variable if counts[variable] == 1 else None for name, variable in variables.items()}


def shared_variables(names: Iterable[str]) -> list[str]:
    """One line for each ``GITGRID_PARAM_*`` variable that params share (and that runs therefore do
    not get), naming the params: a warning when the spec is read."""
    shared: dict[str, list[str]] = {}
    for name, variable in param_variables(names).items():
        if variable is None:
            shared.setdefault(param_env_name(name), []).append(name)
    return [
        f"params {' and '.join(repr(n) for n in params)} would share ${variable}, so runs do not get it; "
        "read them from $GITGRID_PARAMS (JSON) or rename one (pointing at the file's name with 'target:')"
        for variable, params in shared.items()
    ]
