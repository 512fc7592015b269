"""A run as one line of the results notes: canonical, exact, and read back as untrusted input."""

from __future__ import annotations

import json
import math

import pytest

from gitgrid.run.contract import Run
from gitgrid.share.record import MAX_LINE, RecordProblem, encode, parse

COMMIT = "a" * 40
RECIPE = "b" * 64


def a_run(**changes: object) -> Run:
    fields: dict[str, object] = {
        "sweep": "grid_search-2026-11-22", "index": 7, "commit": COMMIT, "attempt": 2, "status": "success",
        "run_dir": "/home/ada/sim/.gitgrid/runs/x/attempt-2", "rerun": 1, "host": "node17",
        "started": 1795000123.4567893, "ended": 1795000123.4567893 + 0.033112525939941406, "exit_code": 0,
        "metrics": {"loss": 0.1 + 0.2, "rate": 3.0}, "recipe": RECIPE, "key": "c" * 64, "pid": 4242,
    }  # fmt: skip
    fields.update(changes)
    return Run(**fields)  # type: ignore[arg-type]


def test_a_line_is_canonical_json_without_paths_pids_or_keys() -> None:
    line = encode(a_run())
    assert line == (
        b'{"attempt":2,"commit":"' + COMMIT.encode() + b'","duration":0.033112525939941406,"exit_code":0,'
        b'"host":"node17","index":7,"metrics":{"loss":0.30000000000000004,"rate":3.0},"recipe":"'
        + RECIPE.encode()
        + b'","rerun":1,"started":1795000123.4567893,"status":"success",'
        b'"sweep":"grid_search-2026-11-22"}'
    )
    assert b"\n" not in encode(a_run(reason="line one\nline two", host="n\u00e9ud"))
    assert encode(a_run(host="n\u00e9ud")).isascii()


def test_a_line_reads_back_as_the_same_run_exactly() -> None:
    run = a_run(reason="exit status 3", status="failed", job="5_3", reused=("other", 3))
    back = parse(encode(run))
    for field in ("sweep", "index", "commit", "attempt", "status", "rerun", "host", "started", "ended",
                  "exit_code", "reason", "job", "recipe", "reused", "metrics"):  # fmt: skip
        assert getattr(back, field) == getattr(run, field), field
    assert back.duration == run.duration  # the store's duration is ended - started: the same bits
    assert (back.run_dir, back.pid, back.key) == ("", None, None)


def test_nan_and_infinite_metrics_are_null_and_read_back_as_nan() -> None:
    line = encode(a_run(metrics={"loss": math.nan, "rate": math.inf}))
    assert json.loads(line)["metrics"] == {"loss": None, "rate": None}
    assert all(math.isnan(v) for v in parse(line).metrics.values())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sweep": 3}, "'sweep' 3"),
        ({"sweep": "-x"}, "starts with '-'"),
        ({"index": True}, "'index' must be a whole number"),
        ({"index": 2**31}, "'index' must be a whole number"),
        ({"attempt": 0}, "'attempt' must be a whole number of at least 1"),
        ({"commit": "A" * 40}, "'commit' must be a commit id"),
        ({"status": "running"}, "'status' must be one of"),
        ({"status": ["success"]}, "'status' must be one of"),  # unhashable: was a TypeError, not a skip
        ({"status": {"a": 1}}, "'status' must be one of"),
        ({"rerun": -1}, "'rerun' must be a whole number"),
        ({"reason": "x" * 4097}, "'reason' must be a string"),
        ({"job": 5}, "'job' must be a string"),
        ({"started": float("inf")}, "'started' must be a number of seconds"),
        ({"duration": 2.0**63}, "'duration' is out of range"),
        ({"exit_code": 1.5}, "'exit_code' must be an integer"),
        ({"started": "yesterday"}, "'started' must be a number of seconds"),
        ({"duration": 10**400}, "'duration' must be a number of seconds"),
        ({"exit_code": 2**63}, "'exit_code' must be an integer"),
        ({"host": ["x"]}, "'host' must be a string"),
        ({"recipe": "../x"}, "'recipe' must be 64 hex digits"),
        ({"reused": ["x", -1]}, "'reused' must be [sweep, point index]"),
        ({"metrics": [1]}, "'metrics' must be a JSON object"),
        ({"metrics": {"loss": True}}, "metric 'loss' is not a number"),
    ],
)
def test_every_field_is_checked(changes: dict[str, object], message: str) -> None:
    record = json.loads(encode(a_run()))
    record.update(changes)
    with pytest.raises(RecordProblem, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse(json.dumps(record).encode())


def test_unknown_fields_are_ignored_and_a_long_line_is_refused_unread() -> None:
    record = json.loads(encode(a_run()))
    assert parse(json.dumps({**record, "run_dir": "/etc", "future": 1}).encode()).run_dir == ""
    with pytest.raises(RecordProblem, match="more than 65536"):
        parse(b"{" + b" " * MAX_LINE + b"}")
    with pytest.raises(RecordProblem, match="nested too deeply"):
        parse(b"[" * 60_000)


def test_the_common_records_fast_path_reads_what_the_general_path_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Most records take a fast path (a simulation's run, float times, float or null metrics): every
    record, common or not, must read back as the general path reads it, or be refused as it is."""
    import random

    import gitgrid.share.record as record_module

    rng = random.Random(19)
    choices: dict[str, list[object]] = {
        "rerun": [0, 3, -1, True, 2**31, None, 1.0], "status": ["success", "failed", "running", None, [1]],
        "host": ["n1", "", None, 3, "x" * 256], "reason": [None, "why", "x" * 4097, []],
        "job": [None, "5_3", 7], "started": [1.5, 2, None, float("nan"), 2.0**63, -(2.0**63) + 1e10, True],
        "duration": [0.25, 0, None, -1.5, float("inf"), "1"], "exit_code": [0, -9, None, 2**63, 1.0, False],
        "recipe": [RECIPE, None, "B" * 64, 5], "reused": [None, ["s", 1], ["s", -1]],
        "metrics": [{}, {"a": 1.5}, {"a": None}, {"a": 1}, {"a": True}, {"a": float("nan")}, [], None],
        "sweep": ["s", "s:stage", "-x", 5], "commit": [COMMIT, "A" * 40, 5, None], "index": [7, -1, True, 2**31],
        "attempt": [2, 0, 1.0, None],
    }  # fmt: skip
    lines = []
    for _ in range(3000):
        data = json.loads(encode(a_run()))
        for name, values in choices.items():
            if rng.random() < 0.3:
                value = rng.choice(values)
                if value is None and rng.random() < 0.5:
                    data.pop(name, None)
                else:
                    data[name] = value
        lines.append(json.dumps(data).encode())

    def read(line: bytes) -> object:
        try:
            return record_module.parse_stage(line)
        except RecordProblem as exc:
            return str(exc)

    fast = [read(line) for line in lines]
    monkeypatch.setattr(record_module, "_plain", lambda data: None)
    general = [read(line) for line in lines]
    assert repr(fast) == repr(general)  # repr: NaN == NaN
    assert sum(isinstance(one, tuple) for one in fast) > 100  # both accepted and refused records tried
    assert sum(isinstance(one, str) for one in fast) > 300
