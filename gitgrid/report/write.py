"""``gitgrid report``: one self-contained HTML file of a sweep's (or several sweeps') views.

Everything is inline (plotly.js, the page's script, the data), so the file opens with no network: copied
off a cluster, mailed, or kept beside a paper. The file is written whole and renamed into place, so an
interrupted report never leaves half a page.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gitgrid.errors import GitgridWarning, ReportError, SweepError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.query.views import open_readonly
from gitgrid.report.data import ViewOptions, check_options, report_data
from gitgrid.report.page import render_page
from gitgrid.store import doubt_warning, store_doubt
from gitgrid.sweep.catalog import find_sweep

__all__ = ["Report", "trusted_options", "write_report"]


@dataclass(frozen=True)
class Report:
    """A report written: where, of which sweeps, how many points, and its size in bytes."""

    path: Path
    sweeps: tuple[str, ...]
    points: int
    size: int


def trusted_options(repo: Repository, layout: Layout, options: ViewOptions) -> ViewOptions:
    """``options``, reading no run directory when the store is one gitgrid did not write here (it came
    with the repository, or was copied in: :mod:`gitgrid.store.trust`), which is warned about."""
    doubt = store_doubt(repo, layout)
    if doubt is None:
        return options
    warnings.warn(GitgridWarning(doubt_warning(layout, doubt)), stacklevel=3)
    return replace(options, run_dirs=False)


def write_report(
    output: Path,
    sweeps: Sequence[str] = (),
    repo: Repository | Path | str = ".",
    options: ViewOptions | None = None,
) -> Report:
    """Write the report of ``sweeps`` (default: the newest) to ``output``."""
    options = options or ViewOptions()
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = [find_sweep(repo, name) for name in sweeps] if sweeps else [find_sweep(repo)]
    if len({s.name for s in chosen}) != len(chosen):
        raise SweepError("a sweep is named twice: give each sweep once")
    if output.is_dir():
        raise ReportError(f"-o {output}: is a folder; give a file name such as {output / 'report.html'}")
    options = trusted_options(repo, Layout.of(repo), options)
    store = open_readonly(Layout.of(repo).store)
    try:
        check_options(options, store, chosen)
        data = report_data(repo, store, chosen, options)
    finally:
        if store is not None:
            store.close()
    data["written"] = time.strftime("%Y-%m-%d %H:%M:%S")
    page = render_page(data, title=f"gitgrid report: {', '.join(s.name for s in chosen)}")
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(page, encoding="utf-8")
        temporary.replace(output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ReportError(f"-o {output}: cannot write the report: {exc.strerror}") from None
    points = sum(s.count for s in chosen)
    return Report(output, tuple(s.name for s in chosen), points, output.stat().st_size)
