"""Text output: blocks (``gitgrid list`` of a large sweep) write the bytes the row writer writes; rows are
written as they come, and tables show readable numbers (issues 8 and 10)."""

from __future__ import annotations

import io
import itertools
import json
import math
from collections.abc import Iterator

import pytest

from gitgrid.cli.output import cell, render_rows, write_blocks, write_tuples

COLUMNS = ["index", "commit", "a, b", "s"]
ROWS = [
    (0, "c0", 1.5, "plain"),
    (1, "c1", float("nan"), 'quote " and, comma'),
    (2, "c2", None, "tab\there\nnewline"),
    (3, "c3", 10**30, "ünïcode ✓"),
    (4, "c4", True, ""),
]


@pytest.mark.parametrize("fmt", ["tsv", "csv", "json"])
@pytest.mark.parametrize("cuts", [[], [0], [2], [0, 0, 5], [1, 3, 4]])
def test_blocks_write_what_rows_write(fmt: str, cuts: list[int]) -> None:
    expected = io.StringIO()
    write_tuples(ROWS, COLUMNS, fmt, expected)
    bounds = [0, *cuts, len(ROWS)]
    blocks = [render_rows(ROWS[a:b], COLUMNS, fmt) for a, b in itertools.pairwise(bounds)]
    out = io.StringIO()
    write_blocks(blocks, COLUMNS, fmt, out)
    assert out.getvalue() == expected.getvalue()


@pytest.mark.parametrize("fmt", ["tsv", "csv", "json"])
def test_no_rows_by_blocks_is_no_rows(fmt: str) -> None:
    expected, out = io.StringIO(), io.StringIO()
    write_tuples([], COLUMNS, fmt, expected)
    write_blocks([render_rows([], COLUMNS, fmt)], COLUMNS, fmt, out)
    assert out.getvalue() == expected.getvalue()


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [
        (15.0, 6, "15.0"),
        (1 / 3, 6, "0.333333"),
        (1 / 3, 3, "0.333"),
        (1e-05, 6, "1e-05"),
        (123456789.0, 6, "1.23457e+08"),
        (math.nan, 6, "nan"),
        (math.inf, 6, "inf"),
        (1 / 3, None, "0.3333333333333333"),
        (None, 6, ""),
        (7, 6, "7"),
    ],
)
def test_cells(value: object, digits: int | None, shown: str) -> None:
    assert cell(value, digits) == shown


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json"])
def test_rows_are_written_as_they_come(fmt: str) -> None:
    out = io.StringIO()

    def rows() -> Iterator[tuple[object, ...]]:
        for i in range(3000):
            if i == 2500:
                assert out.getvalue().count("\n") >= 1000, "rows were kept back until the end"
            yield (i, i / 3, "x" * (i // 1000))

    write_tuples(rows(), ["index", "value", "text"], fmt, out, 4)
    lines = out.getvalue().splitlines()
    if fmt == "json":
        assert json.loads(out.getvalue())[2999] == {"index": 2999, "value": 999.6666666666666, "text": "xx"}
    elif fmt == "table":
        assert lines[:3] == ["index   value  text", "-----  ------  ----", "    0     0.0"]
        assert lines[1001:1003] == ["  999   333.0", " 1000   333.3  x"]  # "text" is wider from here on
        assert lines[-1] == " 2999   999.7  xx"
    else:
        separator = "," if fmt == "csv" else "\t"
        assert lines[-1] == separator.join(["2999", "999.6666666666666", "xx"])
