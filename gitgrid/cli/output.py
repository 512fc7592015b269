"""Writing rows of values as text: one place for the tsv/csv/json/table formats the CLI offers.

Rows are tuples in the order of ``columns`` (:func:`write_tuples`) or mappings (:func:`write_rows`), and
are written as they come: a million rows take no more memory than a page of them. csv, tsv and json keep
full precision (numbers as Python writes them, so what is printed parses back to the same value); tables
show ``digits`` significant digits. Null is written empty (tsv, csv, table) or ``null`` (json); NaN is
``nan`` (``null`` in json, which has no NaN), so a NaN metric and a missing one stay apart.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

__all__ = ["DIGITS", "FORMATS", "cell", "render_rows", "write_blocks", "write_rows", "write_tuples"]

FORMATS = ("tsv", "csv", "json", "table")
DIGITS = 6  # significant digits of a number in a table
_PAGE = 1000  # rows a table reads before it sizes its columns


def cell(value: Any, digits: int | None = None) -> str:
    """A value as text in a table cell: floats by repr (or ``digits`` significant digits), None empty,
    NaN ``nan``, everything else by str."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if digits is None:
            return repr(value)
        text = f"{value:.{digits}g}"
        return text if any(c in text for c in ".ein") else text + ".0"  # 15.0 stays a float: "15.0"
    return str(value)


def write_rows(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: str, out: TextIO) -> None:
    """Write mappings, restricted to ``columns``, in format ``fmt`` (one of :data:`FORMATS`)."""
    write_tuples((tuple(row.get(c) for c in columns) for row in rows), columns, fmt, out)


def write_tuples(
    rows: Iterable[Sequence[Any]], columns: Sequence[str], fmt: str, out: TextIO, digits: int | None = None
) -> None:
    """Write tuples (one value per column) in format ``fmt``; ``digits`` applies to tables only."""
    if fmt == "json":
        _write_json(rows, columns, out)
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)  # csv writes floats by repr and None as empty: as cell() does
    elif fmt == "tsv":
        out.write("\t".join(columns) + "\n")
        out.writelines("\t".join(_tsv(value) for value in row) + "\n" for row in rows)
    elif fmt == "table":
        _write_table(rows, columns, out, digits)
    else:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _tsv(value: Any, digits: int | None = None) -> str:
    return cell(value, digits).replace("\t", " ").replace("\n", " ")


def _write_json(rows: Iterable[Sequence[Any]], columns: Sequence[str], out: TextIO) -> None:
    out.write("[")
    for n, row in enumerate(rows):
        out.write(",\n " if n else "\n ")
        out.write(_json_record(columns, row))
    out.write("\n]\n")


def _json_record(columns: Sequence[str], row: Sequence[Any]) -> str:
    record = {
        c: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for c, v in zip(columns, row, strict=True)
    }
    return json.dumps(record, ensure_ascii=False)


def render_rows(rows: Iterable[Sequence[Any]], columns: Sequence[str], fmt: str) -> str:
    """Rows as one block of text for :func:`write_blocks`: a format's rows without its header or brackets.

    For output made by blocks as they come (``gitgrid list`` of a large sweep); ``write_blocks`` of these
    blocks writes exactly what :func:`write_tuples` writes (tested).
    """
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        return buffer.getvalue()
    if fmt == "tsv":
        return "".join(["\t".join([_tsv(value) for value in row]) + "\n" for row in rows])
    if fmt == "json":
        return "".join([_JSON_NEXT + _json_record(columns, row) for row in rows])
    raise ValueError(f"unknown format {fmt!r} for blocks (expected tsv, csv or json)")


_JSON_NEXT = ",\n "  # before each JSON row; the first row of all goes without the comma


def write_blocks(blocks: Iterable[str], columns: Sequence[str], fmt: str, out: TextIO) -> None:
    """Blocks from :func:`render_rows` in format ``fmt``, with its header (tsv, csv) or brackets (json)."""
    if fmt == "json":
        out.write("[")
        first = True
        for block in blocks:
            if block:
                out.write(block[1:] if first else block)
                first = False
        out.write("\n]\n")
        return
    if fmt == "csv":
        csv.writer(out, lineterminator="\n").writerow(columns)
    else:
        out.write("\t".join(columns) + "\n")
    out.writelines(blocks)


def _write_table(
    rows: Iterable[Sequence[Any]], columns: Sequence[str], out: TextIO, digits: int | None
) -> None:
    """Columns sized by the first page of rows (a later, wider cell widens its column from there on);
    numbers right-aligned."""
    rows = iter(rows)
    page = list(itertools.islice(rows, _PAGE))
    widths = [max([len(c), *(len(_tsv(r[i], digits)) for r in page)]) for i, c in enumerate(columns)]
    numeric = [all(_is_number(row[i]) for row in page) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        padded = []
        for i, value in enumerate(values):
            widths[i] = max(widths[i], len(value))
            padded.append(value.rjust(widths[i]) if numeric[i] else value.ljust(widths[i]))
        return "  ".join(padded).rstrip() + "\n"

    out.write(line(list(columns)))
    out.write(line(["-" * w for w in widths]))
    for row in itertools.chain(page, rows):
        out.write(line([_tsv(value, digits) for value in row]))


def _is_number(value: Any) -> bool:
    if value == "nan":  # a NaN metric, as the store hands it out
        return True
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))
