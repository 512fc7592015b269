"""Writing rows of values as text: one place for the hash/tsv/csv/json/table formats the CLI offers.

Rows are mappings from column name to value; missing values are written empty (tsv/csv/table) or null
(json). Numbers are written as Python writes them, so what is printed parses back to the same value.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

__all__ = ["FORMATS", "cell", "write_rows"]

FORMATS = ("tsv", "csv", "json", "table")


def cell(value: Any) -> str:
    """A value as text in a table cell: floats by repr, None empty, everything else by str."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_rows(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: str, out: TextIO) -> None:
    """Write ``rows`` restricted to ``columns`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        _write_json(rows, columns, out)
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell(row.get(c)) for c in columns] for row in rows)
    elif fmt == "tsv":
        out.write("\t".join(columns) + "\n")
        out.writelines("\t".join(_tsv(row.get(c)) for c in columns) + "\n" for row in rows)
    elif fmt == "table":
        _write_table(list(rows), columns, out)
    else:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _tsv(value: Any) -> str:
    return cell(value).replace("\t", " ").replace("\n", " ")


def _write_json(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    out.write("[")
    for n, row in enumerate(rows):
        out.write(",\n " if n else "\n ")
        out.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False))
    out.write("\n]\n")


def _write_table(rows: list[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    cells = [[_tsv(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [all(_is_number(row.get(c)) for row in rows) for c in columns]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip() + "\n"

    out.write(line(list(columns)))
    out.write(line(["-" * w for w in widths]))
    out.writelines(line(r) for r in cells)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))
