"""Files a run writes are not trusted: results that are bombs, links, FIFOs or devices fail their point
with a reason and never hang or crash gitgrid; a full runs root stops the run with one clear line."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.query.tables import results
from gitgrid.run.contract import read_meta, read_result, read_run_file, tail
from gitgrid.run.runner import RunOptions, run_sweep
from tests.helpers import SIM, SPEC, cli, make_repo

HOSTILE = {
    "deep": "open(result, 'w').write('[' * 100_000 + ']' * 100_000)",
    "dev-zero": "os.symlink('/dev/zero', result)",
    "fifo": "os.mkfifo(result)",
    "folder": "os.mkdir(result)",
    "huge": "f = open(result, 'w'); f.truncate(17 * 2**20); f.close()",
    "huge-int": "open(result, 'w').write('{\"loss\": ' + '9' * 5000 + '}')",
    "int-past-float": "open(result, 'w').write('{\"loss\": 1' + '0' * 400 + '}')",
}
REASONS = {
    "deep": "result.json is not valid JSON: nested too deeply",
    "dev-zero": "result.json is not a regular file (a symbolic link)",
    "fifo": "result.json is not a regular file (a FIFO)",
    "folder": "result.json is not a regular file (a directory)",
    "huge": "result.json is larger than 16 MiB",
    "huge-int": "result.json is not valid JSON: Exceeds the limit",
    "int-past-float": "result.json: metric 'loss' is too large a number: 1000000",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_result_fails_its_point_and_nothing_else(swept: Path, kind: str) -> None:
    (swept / "bad.py").write_text(
        "import json, os\nresult = os.environ['GITGRID_RESULT']\n"
        f"if os.environ['GITGRID_INDEX'] == '4':\n    {HOSTILE[kind]}\n"
        "else:\n    json.dump({'loss': 1.0}, open(result, 'w'))\n"
    )
    began = time.monotonic()
    summary = run_sweep([sys.executable, str(swept / "bad.py")], repo=swept, options=RunOptions(jobs=2))
    assert time.monotonic() - began < 30
    assert (summary.state.succeeded, summary.state.failed) == (11, 1)
    failed = [r for r in results(swept, include_all=True).rows if r["status"] != "success"]
    assert [(r["index"], r["status"]) for r in failed] == [(4, "failed")]
    assert REASONS[kind] in cli("status", repo=swept).stdout


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("fifo", "series.jsonl is not a regular file (a FIFO)"),
        ("dev-zero", "series.jsonl is not a regular file (a symbolic link)"),
        ("deep", "series.jsonl:1: not a JSON object: nested too deeply"),
        ("int-past-float", "series.jsonl:1: 'v' is too large a number: 1000000"),
        ("step-past-sqlite", "series.jsonl:1: 'step' must be below 2**63, not 9223372036854775808"),
    ],
)
def test_a_hostile_series_is_named_and_never_blocks(swept: Path, kind: str, problem: str) -> None:
    make = {
        "fifo": "os.mkfifo(series)",
        "dev-zero": "os.symlink('/dev/zero', series)",
        "deep": "open(series, 'w').write('[' * 100_000 + ']' * 100_000 + '\\n')",
        "int-past-float": "open(series, 'w').write('{\"step\": 1, \"v\": 1' + '0' * 400 + '}\\n')",
        "step-past-sqlite": "open(series, 'w').write('{\"step\": 9223372036854775808, \"v\": 1}\\n')",
    }[kind]
    (swept / "bad.py").write_text(
        "import json, os\nseries = os.environ['GITGRID_SERIES']\n"
        f"if os.environ['GITGRID_INDEX'] == '4':\n    {make}\n"
        "json.dump({'loss': 1.0}, open(os.environ['GITGRID_RESULT'], 'w'))\n"
    )
    began = time.monotonic()
    summary = run_sweep([sys.executable, str(swept / "bad.py")], repo=swept, options=RunOptions(jobs=2))
    assert time.monotonic() - began < 30 and summary.state.succeeded == 12
    assert problem in cli("status", repo=swept).stdout


def test_meta_and_logs_that_are_not_regular_files_are_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "meta.json")
    os.mkfifo(tmp_path / "stderr.log")
    assert read_meta(tmp_path) is None and tail(tmp_path / "stderr.log") == []
    (tmp_path / "meta.json").unlink()
    (tmp_path / "meta.json").symlink_to("/dev/zero")
    assert read_meta(tmp_path) is None
    (tmp_path / "result.json").write_text("{}")
    assert read_result(tmp_path, []) == ({}, None)
    with pytest.raises(FileNotFoundError):
        read_run_file(tmp_path / "absent.json")


def test_a_full_runs_root_stops_the_run_with_one_line(swept: Path, small_disk: Path) -> None:
    fill = (
        "import json, os, sys\n"
        "if os.environ['GITGRID_INDEX'] == '3':\n"
        "    try:\n"
        "        open(os.path.join(os.environ['GITGRID_RUN_DIR'], 'big'), 'wb').write(bytes(2**21))\n"
        "    except OSError as exc:\n"
        "        sys.exit(f'cannot write: {exc}')\n"
        "json.dump({'loss': 1.0}, open(os.environ['GITGRID_RESULT'], 'w'))\n"
    )
    (swept / "fill.py").write_text(fill)
    runs = small_disk / "runs"
    result = cli(
        "run", "-j", "1", "--runs-root", str(runs), "--", sys.executable, str(swept / "fill.py"), repo=swept
    )
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("gitgrid: error: cannot write ") and "No space left on device" in line
    assert "free space in" in line and "run again" in line
    assert "Traceback" not in result.stderr
    rows = results(swept, include_all=True).rows
    assert not [r for r in rows if r["status"] == "running"]
    assert not list(runs.rglob(".*.tmp")), "a temporary file was left in the runs root"
    # space freed: the next run finishes the sweep (no point left running, none lost)
    for big in runs.rglob("big"):
        big.unlink()
    again = cli(
        "run", "-j", "1", "--runs-root", str(runs), "--", sys.executable, str(swept / "fill.py"), repo=swept
    )
    assert "Traceback" not in again.stderr


def test_a_full_disk_under_the_repository_and_its_store_stops_the_run_with_one_line(
    small_disk: Path, tmp_path: Path
) -> None:
    repo = make_repo(small_disk / "sim", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM})
    (repo / "spec.yaml").write_text(SPEC)
    create_sweep(repo / "spec.yaml", repo)
    fill = tmp_path / "fill.py"
    fill.write_text(
        "import json, os\n"
        f"if os.environ['GITGRID_INDEX'] == '2' and not os.path.exists({str(tmp_path / 'filled')!r}):\n"
        f"    open({str(tmp_path / 'filled')!r}, 'w').close()\n"
        "    with open(os.path.join(os.environ['GITGRID_RUN_DIR'], 'big'), 'wb') as out:\n"
        "        try:\n"
        "            while True:\n"
        "                out.write(bytes(2**16))\n"
        "                out.flush()\n"
        "        except OSError:\n"
        "            pass\n"
        "json.dump({'loss': 1.0}, open(os.environ['GITGRID_RESULT'], 'w'))\n"
    )
    result = cli("run", "-j", "1", "--", sys.executable, str(fill), repo=repo)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("gitgrid: error: cannot write ") and "Traceback" not in result.stderr
    assert "free space" in result.stderr and "run again" in result.stderr
    assert "No space left on device" in result.stderr or "disk is full" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list((repo / ".gitgrid/runs").rglob(".*.tmp"))
    for big in (repo / ".gitgrid/runs").rglob("big"):
        big.unlink()
    again = cli("run", "-j", "1", "--", sys.executable, str(fill), repo=repo)
    assert again.exit_code == 0, again.output
    rows = results(repo, include_all=True).rows
    assert not [r for r in rows if r["status"] == "running"]


def test_an_integer_metric_past_sqlite_integers_is_kept_as_a_float(swept: Path) -> None:
    """2**63 does not fit SQLite's integers: stored as the float JSON readers would make of it, never a
    crash that leaves the point running and the result unstored."""
    (swept / "big.py").write_text(
        "import os\nopen(os.environ['GITGRID_RESULT'], 'w').write('{\"loss\": 9223372036854775808}')\n"
    )
    summary = run_sweep([sys.executable, str(swept / "big.py")], repo=swept, options=RunOptions(jobs=2))
    assert summary.state.succeeded == 12
    assert {r["loss"] for r in results(swept).rows} == {9.223372036854776e18}
