"""A small, safe expression language for ``where`` filters over params (and, later, metrics).

The text is parsed with Python's own parser (so precedence is what users expect) and then compiled, node by
node, into closures from a short whitelist: numbers, strings, names, arithmetic, comparisons, ``and``/``or``/
``not``, ``in`` over a literal list, and the functions ``abs``, ``min``, ``max``, ``round``. Nothing is
``eval``-ed: attribute access, subscripts, calls to anything else, lambdas and comprehensions are refused
before anything runs.

Bounded too (#9): the text is at most :data:`MAX_TEXT` characters and :data:`MAX_DEPTH` levels deep (so
neither Python's parser nor the compiled closures recurse without end), and every operation that could
build something huge checks the size of its result first: ``'x' * 10**12``, ``[1] * 10**11`` and
``((3**10000)**10000)**10000`` are errors, not a MemoryError or an endless computation.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gitgrid.errors import excerpt

__all__ = [
    "BINARY_OPERATORS",
    "MAX_DEPTH",
    "MAX_TEXT",
    "Expression",
    "ExpressionError",
    "compile_expression",
]

Env = Mapping[str, Any]
Node = Callable[[Env], Any]

MAX_TEXT = 4000  # characters of an expression; a filter a person writes is far shorter
MAX_DEPTH = 100  # levels of nesting (``a + b + c`` nests too); keeps recursion far from Python's limit
_MAX_EXPONENT = 10_000  # beyond this, 2 ** 10 ** 10 would compute for ever instead of answering
_MAX_ITEMS = 1_000_000  # characters of a string, items of a list an expression may build
_MAX_BITS = 1 << 17  # bits of a whole number an expression may build (about 39,000 digits)
_MAX_ROUND = 1000  # digits round() may round to, either way


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _check_items(count: int) -> None:
    if count > _MAX_ITEMS:
        raise ValueError(f"the result would hold {excerpt(count)} items (at most {_MAX_ITEMS})")


def _check_bits(bits: int) -> None:
    if bits > _MAX_BITS:
        raise ValueError(
            f"the result would be a whole number of about {excerpt(bits)} bits (at most {_MAX_BITS})"
        )


def _add(left: Any, right: Any) -> Any:
    sizes = (_size(left), _size(right))
    if sizes[0] is not None and sizes[1] is not None:
        _check_items(sizes[0] + sizes[1])
    return operator.add(left, right)


def _multiply(left: Any, right: Any) -> Any:
    for sequence, count in ((left, right), (right, left)):
        size = _size(sequence)
        if size is not None and isinstance(count, int):
            _check_items(size * max(count, 0))
    if _whole(left) and _whole(right):
        _check_bits(left.bit_length() + right.bit_length())
    return operator.mul(left, right)


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(exponent, int | float) and abs(exponent) > _MAX_EXPONENT:
        raise ValueError(f"exponent {excerpt(exponent)} is too large (at most {_MAX_EXPONENT})")
    if _whole(base) and _whole(exponent) and exponent > 0:
        _check_bits(base.bit_length() * exponent)
    return operator.pow(base, exponent)


def _modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        raise TypeError("'%' takes numbers ('%' on a string would format it)")
    return operator.mod(left, right)


def _whole(value: Any) -> bool:
    return isinstance(value, int)


def _round(number: Any, digits: Any = None) -> Any:
    if isinstance(digits, int) and abs(digits) > _MAX_ROUND:
        raise ValueError(f"round() to {excerpt(digits)} digits (at most {_MAX_ROUND})")
    return round(number) if digits is None else round(number, digits)


BINARY_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "*": _multiply,
    "**": _power,
    "%": _modulo,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _modulo,
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
_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max, "round": _round}
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
        except (ArithmeticError, TypeError, ValueError, MemoryError, RecursionError) as exc:
            shown = ", ".join(
                f"{k}={excerpt(env[k], 40, quote=True)}" for k in sorted(self.names) if k in env
            )
            message = excerpt(str(exc), 200) if not isinstance(exc, MemoryError) else "out of memory"
            point = f" for {shown}" if shown else ""
            raise ExpressionError(f"'{excerpt(self.text)}' failed{point}: {message}") from None


def compile_expression(text: str, known: Collection[str]) -> Expression:
    """Compile ``text``; every name it uses must be in ``known`` (params, metrics) or true/false."""
    if len(text) > MAX_TEXT:
        raise ExpressionError(f"'{excerpt(text)}' is longer than {MAX_TEXT} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"'{excerpt(text)}' is not a valid expression: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError):  # a NUL byte; the parser's own stack overflowed
        raise ExpressionError(f"'{excerpt(text)}' is not a valid expression (or too complex)") from None
    if _depth(tree.body) > MAX_DEPTH:
        raise ExpressionError(f"'{excerpt(text)}' is nested more than {MAX_DEPTH} levels deep")
    compiler = _Compiler(text, frozenset(known))
    run = compiler.visit(tree.body)
    return Expression(text, frozenset(compiler.used), run)


def _depth(root: ast.AST) -> int:
    """The depth of the tree, counted without recursion (the tree may be deeper than the stack)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


class _Compiler:
    def __init__(self, text: str, known: frozenset[str]) -> None:
        self.text = text
        self.known = known
        self.used: set[str] = set()

    def refuse(self, node: ast.AST, what: str) -> ExpressionError:
        snippet = ast.get_source_segment(self.text.strip(), node) or type(node).__name__
        return ExpressionError(
            f"'{excerpt(snippet)}' in '{excerpt(self.text)}': {what} is not allowed "
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
        known = excerpt(", ".join(sorted(self.known)) or "none", 300)
        raise ExpressionError(f"'{excerpt(self.text)}' uses unknown name '{excerpt(name)}' (known: {known})")

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
