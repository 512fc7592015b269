"""``--where`` in SQL: the expression language of :mod:`gitgrid.spec.expression`, compiled to a condition
that keeps exactly the rows Python's evaluation keeps, so SQLite filters a million rows without Python.

Python's evaluation of a row keeps it when the expression is truthy and raises nothing; anything that
raises (``None < 1``, ``'a' < 1``, ``x / 0``, ``abs(None)``) drops the row, wherever it happens, unless
``and``/``or`` or a chained comparison stopped before reaching it. The compiled SQL mirrors that with
three values per condition: 1 (true), 0 (false) and NULL (Python would have raised); ``and``/``or``
become ``CASE`` chains that stop where Python stops, ``==`` becomes ``IS`` (``None == 1`` is false, not an
error), ordering comparisons of values of different kinds give NULL, ``/`` divides as floats and gives NULL
for a zero divisor. A column that may be null (a missing metric, or NaN, which the store keeps as null)
is Python's ``None``.

What has no exact SQL equivalent (``//``, ``%``, ``**``, ``round``, strings in arithmetic, ``in`` a
string, non-constant lists) is evaluated by Python inside SQLite (:func:`python_condition`), row by row,
with the same result. Known differences, both beyond 2**63 or infinity: integer arithmetic that
overflows 64 bits is approximated as a float, and ``inf - inf`` (NaN in Python) counts as an error.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gitgrid.spec.expression import Expression, ExpressionError

__all__ = ["Column", "Condition", "Functions", "python_condition", "where_sql"]

_INT64 = range(-(2**63), 2**63)
_MAX_SQL = 200_000  # longer than this (deeply nested comparisons of mixed columns): evaluate in Python
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_ORDER = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_CLASS = "CASE typeof({0}) WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 END"
_KIND_CLASS = {"num": "1", "text": "2"}
_ids = itertools.count()


@dataclass(frozen=True)
class Column:
    """A name the expression may use: its SQL, the kind of its values (``num``, ``text``, ``mixed``
    for both, ``other`` for values SQL must not compare), and whether it may be null (Python's None)."""

    sql: str
    kind: str
    nullable: bool = False


@dataclass(frozen=True)
class Condition:
    """SQL that is 1 where the expression holds, 0 where it does not, NULL where Python would raise;
    ``args`` are its named parameters."""

    sql: str
    args: dict[str, Any]


@dataclass(frozen=True)
class _Node:
    sql: str
    kind: str  # num, text, mixed, bool (0/1, NULL = error)
    null: bool  # may be NULL
    raw: bool = False  # a column itself: NULL is Python's None, not an error


class Functions(Protocol):
    """Where a Python function is registered for SQL to call: an SQLite connection, or the store's
    :class:`~gitgrid.store.database.Database`."""

    def create_function(
        self, name: str, narg: int, func: Callable[..., Any], *, deterministic: bool = False
    ) -> None: ...


class _Unsupported(Exception):
    """No exact SQL for this node: evaluate the expression in Python."""


def where_sql(text: str, columns: Mapping[str, Column], prefix: str = "w") -> Condition | None:
    """``text`` (already accepted by ``compile_expression``) as SQL, or None where SQL cannot give the
    same rows (then use :func:`python_condition`). Its parameters are named ``<prefix><n>``."""
    compiler = _Compiler(columns, prefix)
    try:
        root = compiler.visit(ast.parse(text.strip(), mode="eval").body)
        sql = _truth(root)
    except (_Unsupported, SyntaxError, RecursionError):
        return None
    if len(sql) > _MAX_SQL:
        return None
    return Condition(sql, compiler.args)


def python_condition(
    db: Functions,
    expression: Expression,
    values: Sequence[str],
    env: Callable[..., Mapping[str, Any]],
) -> str:
    """SQL calling ``expression`` in Python for each row: ``values`` are the SQL of its arguments and
    ``env`` turns them into the expression's names. 1, 0, or NULL where the expression raises."""
    name = f"gitgrid_where_{next(_ids)}"

    def holds(*row: Any) -> int | None:
        try:
            return 1 if expression(env(*row)) else 0
        except (ExpressionError, ValueError, TypeError, ArithmeticError, RecursionError, MemoryError):
            return None

    db.create_function(name, len(values), holds, deterministic=True)
    return f"{name}({', '.join(values)})"


class _Compiler:
    def __init__(self, columns: Mapping[str, Column], prefix: str) -> None:
        self.columns, self.prefix = columns, prefix
        self.args: dict[str, Any] = {}

    def constant(self, value: Any) -> _Node:
        name = f"{self.prefix}{len(self.args)}"
        self.args[name] = value
        kind = "text" if isinstance(value, str) else "num"
        return _Node(f":{name}", kind, False)

    def visit(self, node: ast.AST) -> _Node:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        result: _Node = method(node)
        return result

    def visit_Constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            return self.constant(int(value))
        if isinstance(value, int) and value not in _INT64:
            raise _Unsupported("integer beyond 64 bits")
        if not isinstance(value, int | float | str):
            raise _Unsupported("constant")
        return self.constant(value)

    def visit_Name(self, node: ast.Name) -> _Node:
        column = self.columns.get(node.id)
        if column is None:
            if node.id.lower() in ("true", "false"):
                return self.constant(int(node.id.lower() == "true"))
            raise _Unsupported(node.id)
        if column.kind not in ("num", "text", "mixed"):
            raise _Unsupported(node.id)
        return _Node(column.sql, column.kind, column.nullable, raw=column.nullable)

    def visit_BinOp(self, node: ast.BinOp) -> _Node:
        left, right = _number(self.visit(node.left)), _number(self.visit(node.right))
        if isinstance(node.op, ast.Div):  # true division; SQLite gives NULL for a zero divisor
            return _Node(f"(CAST({left.sql} AS REAL) / {right.sql})", "num", True)
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            raise _Unsupported("operator")
        return _Node(f"({left.sql} {op} {right.sql})", "num", left.null or right.null)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Node:
        value = node.operand.value if isinstance(node.operand, ast.Constant) else None
        if isinstance(node.op, ast.USub | ast.UAdd) and isinstance(value, int | float):
            folded = (
                -value if isinstance(node.op, ast.USub) else +value
            )  # a negative constant, e.g. in a list
            return self.visit_Constant(ast.Constant(folded))
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            truth = _truth(operand)
            return _Node(f"(CASE {truth} WHEN 0 THEN 1 WHEN 1 THEN 0 END)", "bool", operand.null)
        operand = _number(operand)
        sign = {ast.USub: "-", ast.UAdd: "+"}.get(type(node.op))
        if sign is None:
            raise _Unsupported("operator")
        return _Node(f"({sign} {operand.sql})", "num", operand.null)

    def visit_BoolOp(self, node: ast.BoolOp) -> _Node:
        parts = [self.visit(value) for value in node.values]
        stop, go_on = ("0", "1") if isinstance(node.op, ast.And) else ("1", "0")
        sql = _truth(parts[-1])
        for part in reversed(parts[:-1]):
            sql = f"(CASE {_truth(part)} WHEN {stop} THEN {stop} WHEN {go_on} THEN {sql} END)"
        return _Node(sql, "bool", any(p.null for p in parts))

    def visit_Compare(self, node: ast.Compare) -> _Node:
        left = self.visit(node.left)
        operands: list[_Node | list[_Node]] = [left]
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(comparator, ast.List | ast.Tuple):
                    raise _Unsupported("'in' something other than a list")
                operands.append([self._item(item) for item in comparator.elts])
            else:
                operands.append(self.visit(comparator))
        pairs = [
            _compare(operands[i], op, operands[i + 1])  # type: ignore[arg-type]
            for i, op in enumerate(node.ops)
        ]
        sql = pairs[-1].sql
        for pair in reversed(pairs[:-1]):
            sql = f"(CASE {pair.sql} WHEN 0 THEN 0 WHEN 1 THEN {sql} END)"
        values = [o for o in operands if isinstance(o, _Node)]
        errors = [o.sql for o in values if o.null and not o.raw]  # Python evaluates every operand first
        if errors:
            sql = f"(CASE WHEN {' OR '.join(f'{e} IS NULL' for e in errors)} THEN NULL ELSE {sql} END)"
        return _Node(sql, "bool", any(p.null for p in pairs) or bool(errors))

    def _item(self, node: ast.AST) -> _Node:
        item = self.visit(node)
        if item.sql[:1] != ":":  # only constants in a list: nothing in it can raise
            raise _Unsupported("a list of non-constants")
        return item

    def visit_Call(self, node: ast.Call) -> _Node:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise _Unsupported("call")
        args = [self.visit(arg) for arg in node.args]
        name = node.func.id
        if name == "abs" and len(args) == 1:
            value = _number(args[0])
            return _Node(f"abs({value.sql})", "num", value.null)
        if name in ("min", "max") and len(args) >= 2:
            kinds = {"num" if a.kind == "bool" else a.kind for a in args}
            if len(kinds) != 1 or kinds & {"mixed"}:
                raise _Unsupported("min/max of values of different kinds")
            sql = f"{name}({', '.join(a.sql for a in args)})"
            return _Node(sql, kinds.pop(), any(a.null for a in args))
        raise _Unsupported("call")


def _number(node: _Node) -> _Node:
    if node.kind not in ("num", "bool"):
        raise _Unsupported("arithmetic on strings")
    return node


def _truth(node: _Node) -> str:
    """Python's ``bool(value)``: 1 or 0, NULL when evaluating the value raised."""
    x = node.sql
    if node.kind == "bool":
        return x
    if node.kind == "num":
        test = f"({x} <> 0)"
    elif node.kind == "text":
        test = f"({x} <> '')"
    else:
        test = f"(CASE typeof({x}) WHEN 'text' THEN {x} <> '' ELSE {x} <> 0 END)"
    return f"IFNULL({test}, 0)" if node.raw else test  # bool(None) is False


def _compare(left: _Node, op: ast.cmpop, right: _Node | list[_Node]) -> _Node:
    """One comparison of a chain, its operands already evaluated without error."""
    if isinstance(right, list):
        negated = isinstance(op, ast.NotIn)
        if not right:
            return _Node("1" if negated else "0", "bool", False)
        sql = f"({left.sql} {'NOT IN' if negated else 'IN'} ({', '.join(r.sql for r in right)}))"
        if left.raw:  # None is in no list of constants
            sql = f"IFNULL({sql}, {int(negated)})"
        return _Node(sql, "bool", False)
    if isinstance(op, ast.Eq | ast.NotEq):  # never raises in Python, even for None or other kinds
        return _Node(
            f"({left.sql} IS{' NOT' if isinstance(op, ast.NotEq) else ''} {right.sql})", "bool", False
        )
    symbol = _ORDER.get(type(op))
    if symbol is None:
        raise _Unsupported("comparison")
    kinds = ["num" if n.kind == "bool" else n.kind for n in (left, right)]
    sql = f"({left.sql} {symbol} {right.sql})"
    null = left.null or right.null
    if "mixed" in kinds:  # Python orders numbers with numbers and strings with strings, else raises
        classes = [
            _KIND_CLASS.get(k) or _CLASS.format(n.sql) for k, n in zip(kinds, (left, right), strict=True)
        ]
        return _Node(f"(CASE WHEN {classes[0]} = {classes[1]} THEN {sql} END)", "bool", True)
    if kinds[0] != kinds[1]:
        return _Node("NULL", "bool", True)
    return _Node(sql, "bool", null)
