"""A small, safe expression language for ``where`` filters over params (and, later, metrics).

The text is parsed with Python's own parser (so precedence is what users expect) and then compiled, node by
node, into closures from a short whitelist: numbers, strings, names, arithmetic, comparisons, ``and``/``or``/
``not``, ``in`` over a literal list, and the functions ``abs``, ``min``, ``max``, ``round``. Nothing is
``eval``-ed: attribute access, subscripts, calls to anything else, lambdas and comprehensions are refused
before anything runs.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Expression", "ExpressionError", "compile_expression"]

Env = Mapping[str, Any]
Node = Callable[[Env], Any]

_MAX_EXPONENT = 10_000  # beyond this, 2 ** 10 ** 10 would compute for ever instead of answering


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(exponent, int | float) and abs(exponent) > _MAX_EXPONENT:
        raise ValueError(f"exponent {exponent} is too large (at most {_MAX_EXPONENT})")
    return operator.pow(base, exponent)


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max, "round": round}
_CONSTANTS = {"true": True, "false": False}


class ExpressionError(ValueError):
    """The expression is not valid, names something unknown, or failed on a point."""


@dataclass(frozen=True)
class Expression:
    """A compiled expression; call it with a mapping of names to values."""

    text: str
    names: frozenset[str]
    _run: Node

    def __call__(self, env: Env) -> Any:
        try:
            return self._run(env)
        except (ArithmeticError, TypeError, ValueError) as exc:
            shown = ", ".join(f"{k}={env[k]!r}" for k in sorted(self.names) if k in env)
            raise ExpressionError(f"'{self.text}' failed for {shown}: {exc}") from None


def compile_expression(text: str, known: Collection[str]) -> Expression:
    """Compile ``text``; every name it uses must be in ``known`` (params, metrics) or true/false."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"'{text}' is not a valid expression: {exc.msg}") from None
    compiler = _Compiler(text, frozenset(known))
    run = compiler.visit(tree.body)
    return Expression(text, frozenset(compiler.used), run)


class _Compiler:
    def __init__(self, text: str, known: frozenset[str]) -> None:
        self.text = text
        self.known = known
        self.used: set[str] = set()

    def refuse(self, node: ast.AST, what: str) -> ExpressionError:
        snippet = ast.get_source_segment(self.text.strip(), node) or type(node).__name__
        return ExpressionError(
            f"'{snippet}' in '{self.text}': {what} is not allowed "
            "(only numbers, strings, param names, arithmetic, comparisons, and/or/not, "
            "'in [...]', abs/min/max/round)"
        )

    def visit(self, node: ast.AST) -> Node:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise self.refuse(node, type(node).__name__)
        result: Node = method(node)
        return result

    def visit_Constant(self, node: ast.Constant) -> Node:
        if not isinstance(node.value, int | float | str | bool):
            raise self.refuse(node, "this constant")
        value = node.value
        return lambda env: value

    def visit_Name(self, node: ast.Name) -> Node:
        name = node.id
        if name in self.known:
            self.used.add(name)
            return lambda env: env[name]
        if name.lower() in _CONSTANTS:
            constant = _CONSTANTS[name.lower()]
            return lambda env: constant
        known = ", ".join(sorted(self.known)) or "none"
        raise ExpressionError(f"'{self.text}' uses unknown name '{name}' (known: {known})")

    def visit_BinOp(self, node: ast.BinOp) -> Node:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.refuse(node, "this operator")
        left, right = self.visit(node.left), self.visit(node.right)
        return lambda env: op(left(env), right(env))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Node:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise self.refuse(node, "this operator")
        operand = self.visit(node.operand)
        return lambda env: op(operand(env))

    def visit_BoolOp(self, node: ast.BoolOp) -> Node:
        parts = [self.visit(value) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda env: all(part(env) for part in parts)
        return lambda env: any(part(env) for part in parts)

    def visit_Compare(self, node: ast.Compare) -> Node:
        ops = []
        for op_node in node.ops:
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise self.refuse(node, "this comparison")
            ops.append(op)
        operands = [self.visit(node.left), *(self.visit(c) for c in node.comparators)]

        def compare(env: Env) -> bool:
            values = [operand(env) for operand in operands]
            return all(op(values[i], values[i + 1]) for i, op in enumerate(ops))

        return compare

    def visit_List(self, node: ast.List | ast.Tuple) -> Node:
        items = [self.visit(item) for item in node.elts]
        return lambda env: [item(env) for item in items]

    visit_Tuple = visit_List

    def visit_Call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
            raise self.refuse(node, "this call")
        function = _FUNCTIONS[node.func.id]
        args = [self.visit(arg) for arg in node.args]
        return lambda env: function(*(arg(env) for arg in args))
