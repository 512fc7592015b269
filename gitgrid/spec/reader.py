"""Reading a spec: the YAML file that says which params take which values, and which files to rewrite.

The whole format is documented in ``docs/spec.md``. This module only checks and converts; every mistake it
finds becomes a :class:`~gitgrid.errors.SpecError` that names the spec file, the line and the param.
"""

from __future__ import annotations

import re
import stat
import string
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitgrid.errors import GitgridWarning, SpecError, excerpt
from gitgrid.spec.axes import RANGE_KINDS, Axis, ValuesAxis
from gitgrid.spec.expression import Expression, ExpressionError, compile_expression
from gitgrid.spec.loader import LineDict, YamlError, load_yaml
from gitgrid.spec.model import FileSpec, ParamSpec, SampleSpec, Spec
from gitgrid.spec.names import name_problem, shared_variables
from gitgrid.spec.space import MAX_SAMPLE
from gitgrid.spec.values import check_format, check_value

__all__ = ["MAX_SPEC_BYTES", "load_spec", "parse_spec"]

MAX_SPEC_BYTES = 4 << 20  # a spec is typed by a person; more is a mistake (or /dev/zero), not a spec
_MAX_PATH = 4096  # PATH_MAX: a longer path names no file
_TOP_KEYS = ("base", "branch", "files", "params", "zip", "where", "sample")
_AXIS_KINDS = ("values", *RANGE_KINDS)
_PARAM_KEYS = (*_AXIS_KINDS, "target", "format", "all", "after", "line", "replace", "start")
_REPLACE = ("literal", "expression")
_FILE_KEYS = {"path": ("path", "pattern", "comment"), "template": ("template", "output")}


def load_spec(path: Path) -> Spec:
    """Read and check the spec file at ``path``: a regular file of at most :data:`MAX_SPEC_BYTES`."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise SpecError(f"{path}: not a regular file (a spec is a YAML file)")
        with path.open("rb") as spec_file:
            data = spec_file.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES >> 20} MiB; a spec is a short YAML file")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: cannot read spec: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read spec: {exc.strerror or exc}") from None
    spec = parse_spec(text, source=str(path))
    for message in shared_variables(spec.names):  # said once, when the spec is written into a sweep
        warnings.warn(GitgridWarning(f"{path}: {message}"), stacklevel=2)
    return spec


def parse_spec(text: str, source: str = "<spec>") -> Spec:
    """Check and convert the YAML ``text`` of a spec; ``source`` names it in error messages."""
    try:
        raw = load_yaml(text)
    except YamlError as exc:
        raise SpecError(_place(source, exc.line, str(exc))) from None
    return _SpecReader(source).read(raw, text)


def _place(source: str, line: int | None, message: str) -> str:
    return f"{source}:{line}: {message}" if line else f"{source}: {message}"


class _SpecReader:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, line: int | None, message: str) -> SpecError:
        return SpecError(_place(self.source, line, message))

    def read(self, raw: Any, text: str) -> Spec:
        if not isinstance(raw, LineDict):
            raise self.error(1, "a spec is a mapping with at least 'files' and 'params'")
        self.check_keys(raw, _TOP_KEYS, "top-level key")
        params = self.read_params(raw)
        names = [p.name for p in params]
        return Spec(
            params=params,
            files=self.read_files(raw),
            zip=self.read_zip(raw, names),
            where=self.read_where(raw, names),
            sample=self.read_sample(raw),
            base=self.optional_str(raw, "base"),
            branch=self.read_branch(raw),
            source=self.source,
            text=text,
        )

    def check_keys(self, mapping: LineDict, allowed: Sequence[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                expected = ", ".join(allowed)
                raise self.error(
                    mapping.line_of(key), f"unknown {what} '{excerpt(key)}' (expected: {expected})"
                )

    def optional_str(self, raw: LineDict, key: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(raw.line_of(key), f"'{key}' must be a non-empty string")
        return value

    # params -------------------------------------------------------------------------------------------
    def read_params(self, raw: LineDict) -> tuple[ParamSpec, ...]:
        params = raw.get("params")
        if not isinstance(params, LineDict) or not params:
            raise self.error(raw.line_of("params"), "'params' must map each param name to its values")
        result = []
        for name, value in params.items():
            line = params.line_of(name)
            problem = name_problem(name)
            if problem is not None:
                raise self.error(line, problem)
            try:
                result.append(self.read_param(name, value, line))
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise self.error(line, f"param '{name}': {excerpt(str(exc), 300)}") from None
        return tuple(result)

    def read_param(self, name: str, value: Any, line: int) -> ParamSpec:
        if not isinstance(value, LineDict):
            return ParamSpec(name, self.read_values(value), target=name, line=line)
        self.check_param_keys(value)
        kinds = [k for k in _AXIS_KINDS if k in value]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of {', '.join(_AXIS_KINDS)} (got {len(kinds)})")
        axis = self.read_axis(kinds[0], value[kinds[0]])
        target = value.get("target", name)
        if not isinstance(target, str) or not target.strip() or not target.isprintable() or len(target) > 200:
            raise ValueError("'target' must be a non-empty single-line string of at most 200 characters")
        fmt = value.get("format")
        if fmt is not None:
            _check_format(fmt, axis)
        every = value.get("all", False)
        if not isinstance(every, bool):
            raise ValueError("'all' must be true or false")
        after, at_line, replace = _read_choice(value, every)
        start = check_value(value["start"]) if "start" in value else None
        return ParamSpec(
            name, axis, target, fmt, every, "target" in value, line, after, at_line, replace, start
        )

    def check_param_keys(self, value: LineDict) -> None:
        for key in value:
            if key not in _PARAM_KEYS:
                raise ValueError(
                    f"unknown range kind or key '{excerpt(key)}' (expected one of {', '.join(_AXIS_KINDS)}, "
                    "and optionally target, format, all, after, line, replace, start)"
                )

    def read_axis(self, kind: str, args: Any) -> Axis:
        if kind == "values":
            return self.read_values(args, allow_scalar=False)
        range_kind = RANGE_KINDS[kind]
        if not isinstance(args, list) or not all(_is_number(a) for a in args):
            raise ValueError(f"'{kind}' takes a list of numbers, e.g. {range_kind.example}")
        for number in args:
            check_value(number)
        if len(args) not in range_kind.arity:
            counts = " or ".join(map(str, range_kind.arity))
            raise ValueError(f"'{kind}' takes {counts} numbers, e.g. {range_kind.example}")
        return range_kind.build(*args)

    def read_values(self, value: Any, allow_scalar: bool = True) -> ValuesAxis:
        items = value if isinstance(value, list) else [value]
        if not isinstance(value, list) and not allow_scalar:
            raise ValueError("'values' takes a list")
        if not items:
            raise ValueError("no values given")
        return ValuesAxis(tuple(check_value(item) for item in items))

    # files --------------------------------------------------------------------------------------------
    def read_files(self, raw: LineDict) -> tuple[FileSpec, ...]:
        if "files" not in raw:
            raise self.error(
                raw.line,
                "no 'files': list the files to rewrite, or write 'files: []' to only record params",
            )
        files = raw["files"] if raw["files"] is not None else []
        if not isinstance(files, list):
            raise self.error(raw.line_of("files"), "'files' must be a list")
        return tuple(self.read_file(entry, raw.line_of("files")) for entry in files)

    def read_file(self, entry: Any, list_line: int) -> FileSpec:
        if isinstance(entry, str):
            return FileSpec(path=entry, line=list_line)
        if not isinstance(entry, LineDict) or ("path" in entry) == ("template" in entry):
            raise self.error(list_line, "each file is {path: FILE} or {template: FILE.j2, output: FILE}")
        kind = "path" if "path" in entry else "template"
        self.check_keys(entry, _FILE_KEYS[kind], f"key for a '{kind}' file")
        for key in entry:
            if key != "comment" and (not isinstance(entry[key], str) or not entry[key]):
                raise self.error(entry.line_of(key), f"'{key}' must be a non-empty string")
            if key != "comment" and len(entry[key]) > _MAX_PATH:
                raise self.error(entry.line_of(key), f"'{key}' is longer than {_MAX_PATH} characters")
        if kind == "template":
            if "output" not in entry:
                raise self.error(
                    entry.line, f"template '{excerpt(entry['template'])}' needs an 'output' path"
                )
            return FileSpec(path=entry["output"], template=entry["template"], line=entry.line)
        pattern = entry.get("pattern")
        if pattern is not None:
            self.check_pattern(pattern, entry.line_of("pattern"))
        return FileSpec(entry["path"], pattern=pattern, comment=self.read_comment(entry), line=entry.line)

    def check_pattern(self, pattern: str, line: int) -> None:
        if "{target}" not in pattern:
            raise self.error(line, "a 'pattern' must contain the placeholder {target}")
        try:
            compiled = re.compile(pattern.replace("{target}", "x"))
        except (re.error, OverflowError, RecursionError, ValueError) as exc:
            message = excerpt(str(exc), 200)
            raise self.error(line, f"'pattern' is not a valid regular expression: {message}") from None
        if "value" not in compiled.groupindex:
            raise self.error(line, "a 'pattern' must have a named group (?P<value>...)")

    def read_comment(self, entry: LineDict) -> tuple[str, ...] | None:
        comment = entry.get("comment")
        if comment is None:
            return None
        markers = [comment] if isinstance(comment, str) else comment
        if not isinstance(markers, list) or not all(isinstance(m, str) and m for m in markers):
            raise self.error(entry.line_of("comment"), "'comment' is a marker such as '#' or a list of them")
        return tuple(markers)

    # zip, where, sample, branch -----------------------------------------------------------------------
    def read_zip(self, raw: LineDict, names: list[str]) -> tuple[tuple[str, ...], ...]:
        groups = raw.get("zip") or []
        line = raw.line_of("zip")
        if isinstance(groups, list) and groups and all(isinstance(g, str) for g in groups):
            groups = [groups]
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise self.error(line, "'zip' is a list of groups of param names, e.g. [[dt, rate]]")
        seen: set[str] = set()
        for group in groups:
            for name in group:
                if not isinstance(name, str) or name not in names:
                    raise self.error(line, f"zip names unknown param '{excerpt(name)}'")
                if name in seen:
                    raise self.error(line, f"param '{name}' is in more than one zip group")
                seen.add(name)
        return tuple(tuple(group) for group in groups if group)

    def read_where(self, raw: LineDict, names: list[str]) -> Expression | None:
        text = raw.get("where")
        if text is None:
            return None
        if not isinstance(text, str):
            raise self.error(raw.line_of("where"), "'where' must be an expression string")
        try:
            return compile_expression(text, names)
        except ExpressionError as exc:
            raise self.error(raw.line_of("where"), f"where: {exc}") from None

    def read_sample(self, raw: LineDict) -> SampleSpec | None:
        sample = raw.get("sample")
        if sample is None:
            return None
        line = raw.line_of("sample")
        if not isinstance(sample, LineDict) or "random" not in sample:
            raise self.error(line, "'sample' is {random: N, seed: S}")
        self.check_keys(sample, ("random", "seed"), "key in 'sample'")
        size, seed = sample["random"], sample.get("seed", 0)
        if not _is_whole(size) or size < 1:
            raise self.error(line, f"sample 'random' must be a whole number >= 1, got {excerpt(size)}")
        if size > MAX_SAMPLE:
            raise self.error(
                line,
                f"sample 'random' is {size:.3g}; a sweep has at most {MAX_SAMPLE:.0e} points "
                "(one commit each)",
            )
        if not _is_whole(seed):
            raise self.error(line, f"sample 'seed' must be a whole number, got {excerpt(seed)}")
        return SampleSpec(size, seed)

    def read_branch(self, raw: LineDict) -> str | None:
        """The name template: text and ``{date}``, nothing else (a width such as ``{date:>10**12}`` is a
        bomb, not a name)."""
        branch = self.optional_str(raw, "branch")
        if branch is not None:
            line = raw.line_of("branch")
            try:
                fields = [(f, c, s) for _, f, s, c in string.Formatter().parse(branch) if f is not None]
            except ValueError as exc:
                raise self.error(line, f"'branch' is not a valid name template: {exc}") from None
            bad = sorted({f for f, _, _ in fields} - {"date"})
            if bad:
                shown = excerpt(", ".join(bad))
                raise self.error(line, f"'branch' may only use {{date}}, not {{{shown}}}")
            if any(c or s for _, c, s in fields):
                raise self.error(line, "'branch' is not a valid name template: write {date} without a format")
        return branch


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_FORMAT_CHECKED = 10_000  # values of an axis tried with its format (longer axes: the first and last)


def _check_format(fmt: Any, axis: Axis) -> None:
    """Try ``fmt`` on the axis' values, so a format that cannot write one fails here, not mid-sweep."""
    try:
        check_format(fmt)
    except ValueError as exc:
        raise ValueError(
            f"format '{excerpt(fmt)}' cannot write {excerpt(axis[0], quote=True)}: {exc}"
        ) from None
    examples = axis if len(axis) <= _FORMAT_CHECKED else [axis[0], axis[-1]]
    for example in examples:
        try:
            fmt.format(example)
        except Exception as exc:
            raise ValueError(
                f"format '{excerpt(fmt)}' cannot write {excerpt(example, quote=True)}: {excerpt(str(exc))}"
            ) from None


def _read_choice(value: LineDict, every: bool) -> tuple[str | None, int | None, str]:
    """``after``, ``line`` and ``replace`` of a param's long form, checked."""
    after, at_line = value.get("after"), value.get("line")
    if after is not None and (not isinstance(after, str) or not after.strip() or not after.isprintable()):
        raise ValueError("'after' is a piece of text on one line, e.g. 'def run_network('")
    if at_line is not None and (not _is_whole(at_line) or at_line < 1):
        raise ValueError("'line' is a line number (1 or more) in the base file")
    if every and (after is not None or at_line is not None):
        raise ValueError(
            "'all: true' rewrites every assignment; it cannot be combined with 'after' or 'line'"
        )
    replace = value.get("replace", "literal")
    if replace not in _REPLACE:
        raise ValueError(f"'replace' is 'literal' (the default) or 'expression', not '{excerpt(replace)}'")
    return after, at_line, replace
