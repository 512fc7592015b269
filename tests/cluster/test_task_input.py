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
        (None, "ok", "0", "submission.json: no such file: give the folder 'gitgrid submit' made"),
        ({}, "ok", "0", "submission.json: 'sweep' is missing or not a str"),
        ([1], "ok", "0", "not a submission record"),
        ({**RECORD, "chunk": 0}, "ok", "0", "'chunk' must be 1 or more"),
        (RECORD, "/dev/zero", "0", "manifest /dev/zero is not a regular file (a device)"),
        (RECORD, "ok", "-1", "--task -1: a task id is 0 or more"),
        (RECORD, "ok", "5", "no points for task 5 in"),
        (RECORD, "junk", "0", "manifest-0.jsonl:1: not a JSON line"),
        (RECORD, "bad-index", "0", "point index 7 is not one of the sweep's"),
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
