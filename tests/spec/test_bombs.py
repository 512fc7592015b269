"""Hostile specs (#9): every one is one line naming the culprit, exit status 2, in bounded memory and time,
with nothing written. Run in a child process limited to 1 GiB of address space, so that a MemoryError,
a 72 MB message or an endless computation cannot pass unnoticed."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitgrid.errors import SpecError
from gitgrid.spec.expression import ExpressionError, compile_expression
from gitgrid.spec.reader import parse_spec
from tests.helpers import git, gitgrid_bounded, make_repo, refs

HEAD = "files: [m.py]\nparams:\n  a: [1, 2]\n"


def alias_bomb(levels: int = 9) -> str:
    """YAML 'billion laughs' inside zip: 10**levels strings once stringified."""
    anchors = ["&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    anchors += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return HEAD + "zip: [[a, " + ", ".join(anchors) + "]]\n"


BOMBS = {
    "where-string": (HEAD + "where: \"'x' * 10**12 == 'y'\"\n", r"spec.yaml: where: .* items \(at most"),
    "where-list": (HEAD + "where: '[1] * 10**11 == [2]'\n", r"spec.yaml: where: .* items \(at most"),
    "where-power": (HEAD + "where: '((3**10000)**10000)**10000 > 0'\n", r"where: .*bits \(at most"),
    "where-chain": (HEAD + "where: '" + "+".join(["a"] * 600) + " > 0'\n", r"spec.yaml:4: where: .*nested more"),
    "where-minus": (HEAD + "where: '" + "-" * 100_000 + "a > 0'\n", r"spec.yaml:4: where: .*longer than"),
    "digits": ("files: [m.py]\nparams:\n  a: " + "7" * 5000 + "\n", r"spec.yaml:3: YAML error: a whole number of 5000"),
    "range": ("files: [m.py]\nparams:\n  a: {range: [0, 1e20, 1]}\n", r"spec.yaml:3: param 'a': range .* at most 10\^9"),
    "linspace": ("files: [m.py]\nparams:\n  a: {linspace: [0, 1, 100000000000000000000]}\n", r"param 'a': .*64 bits"),
    "linspace-count": ("files: [m.py]\nparams:\n  a: {linspace: [0, 1, 10000000000]}\n", r"param 'a': linspace count"),
    "nested": ("files: [m.py]\nparams:\n  a: " + "[" * 20_000 + "]" * 20_000 + "\n", r"spec.yaml: YAML nested too deeply"),
    "zip-aliases": (alias_bomb(), r"spec.yaml:4: zip names unknown param '\['lol', 'lol', 'lol', 'lol', \.\.\.\]'"),
    "branch-huge": (HEAD + "branch: '{date:>1000000000000}'\n", r"spec.yaml:4: 'branch' is not a valid name template"),
    "branch-long": (HEAD + "branch: '{date:>100000000}'\n", r"spec.yaml:4: 'branch' is not a valid name template"),
    "format-width": ("files: [m.py]\nparams:\n  a: {values: [1], format: '{:>1000000000}'}\n", r"param 'a': format"),
    "format-attribute": ("files: [m.py]\nparams:\n  a: {values: [1], format: '{0.__class__.__init__}'}\n",
                         r"param 'a': format .* may only use the value itself"),
}  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "r", {"m.py": "a = 1\n"})


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_a_bomb_is_one_line_exit_2_in_bounded_memory(repo: Path, case: str) -> None:
    text, message = BOMBS[case]
    (repo / "spec.yaml").write_text(text)
    before = refs(repo)
    result = gitgrid_bounded(repo, "create", "spec.yaml")
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 1000, lines[:3]
    assert lines[0].startswith("gitgrid: error: ")
    import re

    assert re.search(message, lines[0]), lines[0]
    assert refs(repo) == before
    git(repo, "fsck", "--strict", "--no-dangling")


def test_a_spec_that_never_ends_is_not_read_for_ever(repo: Path) -> None:
    result = gitgrid_bounded(repo, "create", "/dev/zero")
    assert (
        result.returncode == 2
        and result.stderr == "gitgrid: error: /dev/zero: not a regular file (a spec is a YAML file)\n"
    )
    huge = repo / "huge.yaml"
    with huge.open("wb") as out:
        out.truncate(64 << 20)  # sparse: 64 MiB of NULs
    result = gitgrid_bounded(repo, "create", "huge.yaml")
    assert result.returncode == 2 and "huge.yaml: larger than 4 MiB" in result.stderr


def test_a_fifo_as_spec_does_not_block(repo: Path) -> None:
    import os

    os.mkfifo(repo / "fifo.yaml")
    result = gitgrid_bounded(repo, "create", "fifo.yaml", seconds=30)
    assert result.returncode == 2 and "fifo.yaml: not a regular file" in result.stderr


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ('  "a\\nb": 1', r"param name 'a\\nb' holds a line break"),
        ('  "a\\x1bb": 1', r"param name 'a\\x1bb' holds a line break or another control character"),
        ("  index: 1", r"param name 'index' is a fixed column .* 'target: index'"),
        ("  Commit: 1", r"param name 'Commit' is a fixed column"),
        ("  status: 1", r"param name 'status' is a fixed column"),
        ("  attempt: 1", r"param name 'attempt' is a fixed column"),
        ("  duration: 1", r"param name 'duration' is a fixed column"),
        ("  " + "n" * 101 + ": 1", r"longer than 100 characters"),
        ('  a: "x\\0y"', r"param 'a': value 'x\\x00y' holds the control character"),
        ('  a: ["ok", "\\x07"]', r"param 'a': value '\\x07' holds the control character"),
        ('  a: "\\ud800"', r"param 'a': value '\\ud800' is not valid Unicode"),
        ("  a: 9223372036854775808", r"param 'a': 9223372036854775808 does not fit in 64 bits"),
    ],
)
def test_names_and_values_that_would_corrupt_the_sweep(params: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(f"files: []\nparams:\n{params}\n", "spec.yaml")


def test_a_fixed_column_name_can_still_be_the_file_target() -> None:
    spec = parse_spec("files: []\nparams:\n  stim_duration: {values: [1], target: duration}\n")
    assert spec.params[0].target == "duration"


# where: random expression trees and random text never give anything but ExpressionError -------------
NAMES = ("a", "b", "s")
ENV = {"a": 3, "b": -2.5, "s": "xy"}
leaves = st.one_of(
    st.sampled_from(NAMES),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["10**12", "10**11", "3**10000", "1e308", "0", "'x'", "[1]", "[1, 2]", "''", "true"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "==", "<", ">=", "and", "or", "in", "not in"]


def trees(depth: int = 6) -> st.SearchStrategy[str]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["-", "not ", "+"]), inner).map(lambda t: f"{t[0]}{t[1]}"),
            st.tuples(
                st.sampled_from(["abs", "min", "max", "round"]), st.lists(inner, min_size=1, max_size=3)
            ).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        ),
        max_leaves=depth * 4,
    )


@settings(max_examples=300, deadline=2000)
@given(trees())
def test_random_expression_trees_never_raise_anything_else(text: str) -> None:
    try:
        compile_expression(text, NAMES)(ENV)
    except ExpressionError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 1000


@settings(max_examples=300, deadline=2000)
@given(st.text(alphabet=string.printable + "\0\u200b", max_size=200))
def test_random_text_never_raises_anything_else(text: str) -> None:
    try:
        compile_expression(text, NAMES)(ENV)
    except ExpressionError as exc:
        assert len(str(exc)) < 1000


@settings(max_examples=100, deadline=2000)
@given(st.integers(1, 30_000), st.sampled_from(["-", "not ", "+", "~", "("]))
def test_long_chains_of_one_operator(count: int, operator: str) -> None:
    text = operator * count + "a" + (")" * count if operator == "(" else "")
    try:
        result = compile_expression(text, NAMES)(ENV)
    except ExpressionError as exc:
        assert len(str(exc)) < 1000
    else:
        assert result in (3, -3, True, False)


def test_where_over_a_grid_too_large_to_test_is_refused() -> None:
    from gitgrid.spec.space import Space

    spec = parse_spec(
        "files: []\nparams:\n  a: {range: [1, 1000000]}\n  b: {range: [1, 1000000]}\nwhere: a < b\n", "s.yaml"
    )
    with pytest.raises(
        SpecError, match=r"s.yaml: where: the grid has 1e\+12 points, more than 'where' can test"
    ):
        Space(spec)


def test_a_space_too_large_for_a_sweep_is_refused(repo: Path) -> None:
    (repo / "spec.yaml").write_text(
        "files: []\nparams:\n" + "".join(f"  p{i}: {{range: [1, 1000]}}\n" for i in range(4))
    )
    result = gitgrid_bounded(repo, "create", "spec.yaml")
    assert result.returncode == 2 and "the space has 1e+12 points; a sweep has at most 1e+08" in result.stderr


@pytest.mark.parametrize(
    "where", ["'x' * 10**12 == 'y'", "((3**10000)**10000)**10000 > 0", "+".join(["a"] * 600) + " > 0"]
)
def test_list_where_bombs(repo: Path, where: str) -> None:
    (repo / "spec.yaml").write_text(HEAD)
    assert gitgrid_bounded(repo, "create", "spec.yaml").returncode == 0
    result = gitgrid_bounded(repo, "list", "--where", where)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr[-500:]
    assert result.stderr.startswith("gitgrid: error: --where: ")


def test_where_tests_no_more_points_than_a_sweep_may_hold() -> None:
    """10^9 tested points took about an hour before the limit said anything."""
    from gitgrid.spec.space import Space

    spec = parse_spec(
        "files: []\nparams:\n  a: {range: [1, 1000]}\n  b: {range: [1, 1000]}\n  c: {range: [1, 1000]}\n"
        "where: a < b\n",
        "s.yaml",
    )
    with pytest.raises(
        SpecError, match=r"the grid has 1e\+09 points, more than 'where' can test \(at most 1e\+08\)"
    ):
        Space(spec)
