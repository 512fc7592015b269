"""gitgrid status (issue 8): the lines of stderr that say what went wrong as well as its tail, the path of
the log, and points that failed the same way grouped into one entry."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.query.status import error_lines, sweep_status
from gitgrid.query.tables import results
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import SPEC, cli, make_repo

FORTRAN = """\
import os, sys
print("starting", os.environ["GITGRID_INDEX"])
if os.environ["GITGRID_PARAM_B"] == "40":
    print("At line 12 of file mc.f90 (unit = 10, file = 'input.nml')", file=sys.stderr)
    print("Fortran runtime error: End of file", file=sys.stderr)
else:
    print("ERROR STOP epsilon must be > 0", file=sys.stderr)
print("", file=sys.stderr)
print("Error termination. Backtrace:", file=sys.stderr)
for k in range(8):
    print(f"#{k}  0x7f00{k:04x} in frame_{k}", file=sys.stderr)
sys.exit(2)
"""


@pytest.fixture
def failed(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "sim", {"model.py": "a = 0.0\nb = 0\n", "mc.py": FORTRAN})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    summary = run_sweep([sys.executable, "mc.py"], repo=repo, options=RunOptions(jobs=2))
    assert summary.state.failed == 12
    return repo


def test_failures_are_grouped_with_their_error_lines(failed: Path) -> None:
    name = results(failed).sweep.name
    shown = cli("status", repo=failed).stdout.splitlines()
    assert shown[:2] == [f"{name}: 12 points", "  failed       12"]
    first = shown.index("9 points: failed: exit status 2 (points 0-2, 4-6, 8-10)")
    stderr = next((failed / ".gitgrid/runs" / name).glob("00000-*/attempt-1")) / "stderr.log"
    assert shown[first + 1 : first + 10] == [
        f"    {stderr}",
        "    | ERROR STOP epsilon must be > 0",
        "    | Error termination. Backtrace:",
        "    | ...",
        "    | #3  0x7f000003 in frame_3",
        "    | #4  0x7f000004 in frame_4",
        "    | #5  0x7f000005 in frame_5",
        "    | #6  0x7f000006 in frame_6",
        "    | #7  0x7f000007 in frame_7",
    ]
    second = shown.index("3 points: failed: exit status 2 (points 3, 7, 11)")
    assert shown[second + 2 : second + 5] == [
        "    | At line 12 of file mc.f90 (unit = 10, file = 'input.nml')",
        "    | Fortran runtime error: End of file",
        "    | Error termination. Backtrace:",
    ]
    assert len(shown) == second + 11


def test_lines_chooses_how_much_of_the_tail(failed: Path) -> None:
    shown = cli("status", "--lines", "1", repo=failed).stdout
    assert "    | ...\n    | #7  0x7f000007 in frame_7\n3 points" in shown
    status = sweep_status(failed, lines=0)
    assert [(g.count, g.tail, g.indexes()) for g in status.failures] == [
        (9, (), [0, 1, 2, 4, 5, 6, 8, 9, 10]),
        (3, (), [3, 7, 11]),
    ]
    assert cli("status", "--lines", "-1", repo=failed).exit_code == 2


def test_a_single_failure_and_a_missing_log(failed: Path) -> None:
    run_sweep(
        [sys.executable, "-c", "pass"], repo=failed, options=RunOptions(retry_failed=True, where="b != 10")
    )
    for log in (failed / ".gitgrid/runs").glob("*/00004-*/attempt-1/stderr.log"):
        log.unlink()
    shown = cli("status", repo=failed).stdout
    assert "2 points: failed: exit status 2 (points 0, 8)\n    " in shown
    assert shown.endswith("\npoint 4: failed: exit status 2\n")  # its log is gone: nothing more to show


def test_error_lines_read_a_regular_file_only(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "fifo")
    assert error_lines(tmp_path / "fifo", 5) == ((), ())
    (tmp_path / "log").write_text(
        "x\n" * 100_000 + "Traceback (most recent call last):\n  File 'a'\nValueError: bad\n"
    )
    assert error_lines(tmp_path / "log", 1) == (("Traceback (most recent call last):",), ("ValueError: bad",))


def test_a_log_cannot_drive_the_terminal(tmp_path: Path) -> None:
    (tmp_path / "log").write_text("Error: \x1b[2J\x1b]0;owned\x07gone\nlast \x1b[31mred\n")
    assert error_lines(tmp_path / "log", 1) == (
        ("Error: \\x1b[2J\\x1b]0;owned\\x07gone",),
        ("last \\x1b[31mred",),
    )
