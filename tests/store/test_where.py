"""--where in SQL keeps exactly the rows Python's evaluation kept (issue 10): the same expression is run
both ways over rows with nulls (missing or NaN metrics), mixed kinds and zeros, by hand and by hypothesis."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitgrid.spec.expression import ExpressionError, compile_expression
from gitgrid.store.where import Column, python_condition, where_sql

# Columns as the store has them: params never null (i, f, s, m), metrics nullable (loss, rate).
COLUMNS = {
    "i": Column("+t.i", "num"),
    "f": Column("+t.f", "num"),
    "s": Column("+t.s", "text"),
    "m": Column("+t.m", "mixed"),
    "loss": Column("+t.loss", "num", nullable=True),
    "rate": Column("+t.rate", "num", nullable=True),
}
ROWS = [
    (0, 0, 0.0, "", 0, None, None),
    (1, 1, 0.5, "a", "x", 1.5, 0.0),
    (2, -3, -2.25, "b,c", 7, -0.0, 3.0),
    (3, 10, 1e-05, "ä", "10", 100.0, None),
    (4, 2, 3.0, "10", 2.5, None, -1.0),
    (5, 7, -0.0, "a", "", 2.0, 2.0),
    (6, 1, 1.0, "A", 1, 1.0, 1.0),
]


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, i, f, s, m, loss REAL, rate REAL)")
    connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS)
    yield connection
    connection.close()


def python_rows(db: sqlite3.Connection, text: str) -> list[int]:
    """What gitgrid did before issue 10: evaluate on each row's values, an error meaning no match."""
    condition = compile_expression(text, COLUMNS)
    kept = []
    for row in db.execute("SELECT id, i, f, s, m, loss, rate FROM t ORDER BY id"):
        try:
            if condition(dict(zip(COLUMNS, row[1:], strict=True))):
                kept.append(row[0])
        except ExpressionError:
            continue
    return kept


def sql_rows(db: sqlite3.Connection, text: str) -> tuple[list[int], bool]:
    """The rows SQL keeps, and whether the expression compiled to SQL (else Python ran inside SQLite)."""
    expression = compile_expression(text, COLUMNS)
    compiled = where_sql(text, COLUMNS)
    if compiled is None:
        names = sorted(expression.names)
        sql = python_condition(
            db, expression, [COLUMNS[n].sql for n in names], lambda *v: dict(zip(names, v, strict=True))
        )
        args: dict[str, Any] = {}
    else:
        sql, args = compiled.sql, compiled.args
    rows = db.execute(f"SELECT id FROM t WHERE ({sql}) ORDER BY id", args).fetchall()
    return [row[0] for row in rows], compiled is not None


@pytest.mark.parametrize(
    "text",
    [
        "loss < 5",
        "loss != 1.5",  # a missing metric is not 1.5: kept, as Python's None != 1.5
        "loss == rate",  # None == None holds in Python
        "not loss",
        "loss or rate",
        "loss < 5 or i > 1",  # the error on the left drops the row even where the right holds
        "i > 1 or loss < 5",  # ... but not where the left already held
        "i == 0 or f / i > 1",  # division by zero after a short circuit
        "f / i > 0",  # ... and without one
        "s < 'b'",
        "s < 5",  # strings and numbers do not order: every row dropped
        "m < 5",
        "m == '10' or m == 10",
        "m in [1, 'x', 2.5]",
        "loss in [1.5, 100]",
        "loss not in [1.5]",
        "1 < i <= 7 != f",
        "i < 0 < loss",
        "-i > -2 and abs(f) >= 0.5",
        "min(i, f) < 1 and max(loss, rate) > 1",
        "min(s, 'b') == 'b'",
        "(i > 1) + (f > 0) == 1",
        "s",
        "m",
        "true and not false",
        "i * 2 - f / 4 + 1 > 3",
        "i // 2 == 1",  # no exact SQL: Python inside SQLite
        "s * 2 == 'aa'",
        "round(f) == 0",
        "i % 3 == 1",
        "i ** 2 > 10",
    ],
)
def test_sql_keeps_the_rows_python_kept(db: sqlite3.Connection, text: str) -> None:
    assert sql_rows(db, text)[0] == python_rows(db, text)


def test_what_compiles_to_sql(db: sqlite3.Connection) -> None:
    assert sql_rows(db, "loss < 5 or i > 1 and s in ['a', 'b']")[1]
    assert sql_rows(db, "min(i, f) < abs(-f) / 2")[1]
    assert not sql_rows(db, "i // 2 == 1")[1]
    assert not sql_rows(db, "s * 2 == 'aa'")[1]


# A family of expressions over the same columns -------------------------------------------------------
NAMES = st.sampled_from(sorted(COLUMNS))
CONSTANTS = st.one_of(
    st.integers(-3, 12).map(str),
    st.sampled_from(["0.5", "1.5", "-2.25", "0.0", "1e-05", "'a'", "'b,c'", "'10'", "''", "true", "false"]),
)


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(NAMES, CONSTANTS)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        compare = st.tuples(inner, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        chain = st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} < {t[1]} <= {t[2]})")
        logic = st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        member = st.tuples(inner, st.lists(CONSTANTS, max_size=3), st.booleans()).map(
            lambda t: f"({t[0]} {'not in' if t[2] else 'in'} [{', '.join(t[1])}])"
        )
        calls = st.one_of(
            inner.map(lambda x: f"abs({x})"),
            st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            inner.map(lambda x: f"(not {x})"),
            inner.map(lambda x: f"(-{x})"),
        )
        return st.one_of(binary, compare, chain, logic, member, calls)

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=expressions())
def test_any_expression_keeps_the_rows_python_kept(db: sqlite3.Connection, text: str) -> None:
    assert sql_rows(db, text)[0] == python_rows(db, text), text
