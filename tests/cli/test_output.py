"""Text output by blocks (``gitgrid list`` of a large sweep) writes the bytes the row writer writes."""

from __future__ import annotations

import io
import itertools

import pytest

from gitgrid.cli.output import render_rows, write_blocks, write_tuples

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
