"""An archived or snapshot repository, on a read-only file system (#17): results, status and report read
its store as it is; the commands that must write say so in one line, exit status 2, nothing changed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from tests.helpers import cli, sim


def digest(folder: Path) -> str:
    """The content of every file under ``folder``: compare before and after to prove nothing changed."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_results_status_and_report_read_a_read_only_repository(
    ran: Path, tmp_path: Path, read_only: Callable[..., None]
) -> None:
    expected = cli("results", "--all", repo=ran).stdout
    before = digest(ran / ".gitgrid")
    read_only(ran)
    results = cli("results", "--all", repo=ran)
    assert results.exit_code == 0, results.stderr
    assert results.stdout == expected
    assert "cannot be written: results as stored" in results.stderr
    status = cli("status", repo=ran)
    assert status.exit_code == 0 and "success      9" in status.stdout, status.output
    report = cli("report", "-o", str(tmp_path / "report.html"), repo=ran)
    assert report.exit_code == 0, report.stderr
    assert (tmp_path / "report.html").stat().st_size > 100_000
    assert digest(ran / ".gitgrid") == before


def test_commands_that_must_write_say_so_in_one_line(ran: Path, read_only: Callable[..., None]) -> None:
    """``.gitgrid`` itself read-only (its locks and runs folders writable, as ``chmod a-w .gitgrid``
    leaves them): ``collect --rebuild`` cannot move the store aside; the whole of it read-only: ``run``
    cannot write its runs."""
    before = digest(ran / ".gitgrid")
    home = ran / ".gitgrid"
    read_only(home, writable=(home / "locks", home / "runs"))
    rebuilt = cli("collect", "--rebuild", repo=ran)
    assert rebuilt.exit_code == 2 and len(rebuilt.stderr.strip().splitlines()) == 1, rebuilt.output
    assert "cannot rebuild the results store" in rebuilt.stderr and "Read-only file system" in rebuilt.stderr
    assert "nothing was changed" in rebuilt.stderr
    read_only(ran)
    result = cli("run", "--", *sim(), repo=ran)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert "not writable" in result.stderr
    assert digest(ran / ".gitgrid") == before
