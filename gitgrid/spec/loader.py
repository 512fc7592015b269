"""YAML reading that remembers line numbers and reads numbers the way researchers write them.

PyYAML follows YAML 1.1, where ``1e-4`` is a *string*; every scientist means a float, so exponent floats
are resolved as floats here. Mappings come back as :class:`LineDict`, which knows the line of every key, so
errors can point at the line the user must fix. Duplicate keys, which PyYAML silently collapses, are errors.
A plain key that YAML 1.1 would read as a bool (``on``, ``off``, ``yes``, ``no``, ``y``, ``n``) stays the
text it is: those are real param names (a stimulus ``on``/``off`` time), never a boolean key.

Hostile YAML is an error with a line, never a traceback: whole numbers longer than Python converts
(4300 digits), nesting deeper than the parser's recursion allows.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from gitgrid.errors import excerpt

__all__ = ["LineDict", "YamlError", "load_yaml"]


class YamlError(ValueError):
    """Syntax error or duplicate key; ``line`` is 1-based."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line


class LineDict(dict[Any, Any]):
    """A dict that knows the 1-based line of itself and of each of its keys."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+.0123456789"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = _key(loader, key_node)
        line = key_node.start_mark.line + 1
        if key in data:
            raise YamlError(line, f"duplicate key '{excerpt(key)}' (first on line {data.key_lines[key]})")
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = line


def _key(loader: _Loader, node: yaml.Node) -> Any:
    """A mapping key; a plain scalar that would be a bool keeps its text (``on:`` is the name "on")."""
    if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL and node.style is None:
        return node.value
    return loader.construct_object(node, deep=True)


_BOOL = "tag:yaml.org,2002:bool"
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_MAX_DIGITS = 4300  # Python's own limit for converting text to int; beyond it int() raises ValueError


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> Any:
    if len(node.value) > _MAX_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"a whole number of {len(node.value)} digits (at most {_MAX_DIGITS})", node.start_mark
        )
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(text: str) -> Any:
    """Parse one YAML document; raise :class:`YamlError` with the line of the problem."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = excerpt(exc.problem or exc.context or "invalid YAML", 200)
        kind = "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise YamlError(line, f"{kind}: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(None, f"YAML error: {excerpt(str(exc), 200)}") from None
    except YamlError:
        raise
    except RecursionError:
        raise YamlError(None, "YAML nested too deeply") from None
    except (ValueError, OverflowError) as exc:
        raise YamlError(None, f"YAML value cannot be read: {excerpt(str(exc), 200)}") from None
