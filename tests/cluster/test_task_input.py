"""``gitgrid task`` given what a job script should never pass it (#17): a folder without a submission
record, an empty record, a device as manifest, a negative task id. One line each, exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli

RECORD = {
    "sweep": "s",
    "count": 2,
    "chunk": 1,
    "repo": "/nowhere/.git",
    "runs_root": "/tmp",
    "command": ["x"],
}
ENTRY = {"index": 0, "commit": "0" * 40, "params": {"a": 1}, "texts": {"a": "1"}}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    ("record", "manifest", "task", "message"),
    [
        (None, "ok", "0", "submission.json: no such file: not a submission folder of gitgrid"),
        ({}, "ok", "0", "submission.json: not a submission record (sweep, command, repo, chunk)"),
        ([1], "ok", "0", "not a submission record"),
        ({**RECORD, "chunk": 0}, "ok", "0", "submission.json: chunk 0 is not a number of at least 1"),
        (RECORD, "/dev/zero", "0", "/dev/zero: not a regular file"),
        (RECORD, "ok", "-1", "gitgrid task: task '-1' is not a task number (0 or more)"),
        (RECORD, "ok", "5", "no points for task 5 in"),
        (RECORD, "junk", "0", "manifest-0.jsonl: a line is not JSON"),
        (RECORD, "bad-index", "0", "point index 7 is not one of the sweep's 2"),
        (RECORD, "bad-commit", "0", "point 0: commit '--output=x' is not a commit id"),
    ],
)
def test_bad_task_input_is_one_line(
    folder: Path, record: object, manifest: str, task: str, message: str
) -> None:
    if record is not None:
        (folder / "submission.json").write_text(json.dumps(record))
    lines = {
        "ok": json.dumps(ENTRY),
        "junk": "{not json",
        "bad-index": json.dumps({**ENTRY, "index": 7}),
        "bad-commit": json.dumps({**ENTRY, "commit": "--output=x"}),
    }
    path = folder / "manifest-0.jsonl"
    if manifest in lines:
        path.write_text(lines[manifest] + "\n")
    else:
        path = Path(manifest)
    result = cli("task", str(folder), str(path), "--task", task)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("gitgrid: error: ") and len(result.stderr.splitlines()) == 1
    assert message in result.stderr, result.stderr
