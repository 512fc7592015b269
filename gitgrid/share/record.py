"""One run as one line of the results notes: written from the store's record, and read back as untrusted
input.

A line is canonical JSON (sorted keys, no spaces, ASCII): equal runs give equal lines, so two machines'
notes merge by a union of lines (git's own ``cat_sort_uniq``). Fields whose value is null are left out::

    {"attempt":1,"commit":"<40 hex>","duration":0.031,"exit_code":0,"host":"node17","index":7,
     "metrics":{"loss":0.015625},"recipe":"<64 hex>","rerun":0,"started":1795000123.5,
     "status":"success","sweep":"grid_search-2026-11-22"}

plus ``reason`` and ``job`` when the run has them and ``reused`` (``[sweep, index]``) for a reused run.
A run of a stage (``gitgrid analyze``, issue 22) names its stage's records as its sweep (``SWEEP:STAGE``)
and adds ``reads`` (the simulation run it read: ``<commit>/<attempt>``), ``analysis`` (its analysis key)
and ``stage`` (``{"command": [...], "uses": [...]}``: what the analysis key hashes besides the code, so
that a clone that pulls it can tell whether its own analysis code would give the same key).
A metric that is NaN or infinite is null (the store keeps it so). The run key is not written: it is
computed where the line is read, from that clone's own tree of the commit and the recipe.

Reading is the trust boundary of ``gitgrid pull``: a line comes from someone else's repository. It is read
only when it is short enough, every field is checked as ``collect`` checks a ``meta.json`` (types,
ranges, metric names and values), unknown fields are ignored, and nothing in it is ever used as a path.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import replace
from typing import Any

from gitgrid.errors import excerpt
from gitgrid.run.contract import FINAL, Run, metrics_problem, shown
from gitgrid.store.record import Identity
from gitgrid.sweep.names import name_problem
from gitgrid.sweep.stages import split_records, stage_problem

__all__ = ["MAX_LINE", "RecordProblem", "StageDefinition", "encode", "parse", "parse_identity", "parse_stage"]

MAX_LINE = 1 << 16  # bytes of one record line
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_INT31 = 2**31
_INT63 = 2**63
_TEXTS = {"host": 255, "job": 255, "reason": 4096}
_READS = re.compile(r"[0-9a-f]{40}/[1-9][0-9]{0,8}")
_WORDS = 256  # a stage's command words, or its --uses paths, at most
_DECODER = json.JSONDecoder()  # json.loads's own decoder: the same objects, the same limits
StageDefinition = tuple[tuple[str, ...], tuple[str, ...]]  # a stage's command and its --uses paths


class RecordProblem(ValueError):
    """A line that is not a run record; the message says which field and why."""


def encode(run: Run, stage: StageDefinition | None = None) -> bytes:
    """The line of a run (without its newline); ``stage``: the command and ``--uses`` of the stage whose
    run it is."""
    record: dict[str, Any] = {
        "sweep": run.sweep, "index": run.index, "commit": run.commit, "attempt": run.attempt,
        "rerun": run.rerun, "status": run.status, "host": run.host, "started": _finite(run.started),
        "duration": _finite(run.duration), "exit_code": run.exit_code, "reason": run.reason,
        "job": run.job, "recipe": run.recipe, "reused": list(run.reused) if run.reused else None,
        "metrics": {name: _finite(value) for name, value in run.metrics.items()},
        "reads": run.reads, "analysis": run.analysis,
        "stage": {"command": list(stage[0]), "uses": list(stage[1])} if stage is not None else None,
    }  # fmt: skip
    kept = {key: value for key, value in record.items() if value is not None}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def parse(line: bytes) -> Run:
    """The run a line records, every field checked; :class:`RecordProblem` naming the first bad one. The
    run has no run directory, and no key: the store is given that apart (it needs the point's tree)."""
    return parse_stage(line)[0]


def parse_stage(line: bytes) -> tuple[Run, StageDefinition | None]:
    """:func:`parse`, and for a stage's run the stage's command and ``--uses`` (checked too)."""
    if len(line) > MAX_LINE:
        raise RecordProblem(f"a record of {len(line)} bytes, more than {MAX_LINE}")
    data = _object(line)
    if (plain := _plain(data)) is not None:
        return plain, None
    data, sweep, index, (commit, attempt, host, started) = _identity(data)
    status = data.get("status")
    if not isinstance(status, str) or status not in FINAL:  # a list or an object is unhashable
        raise RecordProblem(f"'status' must be one of {', '.join(sorted(FINAL))}, not {shown(status)}")
    duration = _time(data, "duration")
    run = Run(
        sweep=sweep, index=index, commit=commit, attempt=attempt, status=status, run_dir="",
        rerun=_count(data, "rerun", 0, default=0), host=host, started=started,
        ended=None if started is None or duration is None else started + duration,
        exit_code=_integer(data, "exit_code"), reason=_text(data, "reason"), job=_text(data, "job"),
        recipe=_recipe(data), reused=_reused(data), metrics=_metrics(data),
    )  # fmt: skip
    if split_records(sweep)[1] is None:
        return run, None  # a simulation's: stage fields, if any, are ignored
    stage = _stage(data)
    return replace(run, reads=_reads(data), analysis=_hex64(data, "analysis")), stage


def _plain(data: dict[str, Any]) -> Run | None:
    """The run of the common record (a simulation's run with float times and float or null metrics, not
    reusing another), every field checked inline exactly as the general path below checks it, at a third
    of its cost (a pull reads 100,000 of them); None for any other record, which the general path then
    judges and, when it is wrong, names the field."""
    get = data.get
    sweep, commit, index, attempt = get("sweep"), get("commit"), get("index"), get("attempt")
    rerun, status, host, reason, job = get("rerun", 0), get("status"), get("host"), get("reason"), get("job")
    started, duration, exit_code, recipe = get("started"), get("duration"), get("exit_code"), get("recipe")
    metrics = get("metrics", {})
    if not (
        type(sweep) is str and _sweep_problem(sweep) is None and split_records(sweep)[1] is None
        and type(commit) is str and _HEX40.fullmatch(commit) is not None
        and type(index) is int and 0 <= index < _INT31
        and type(attempt) is int and 1 <= attempt < _INT31
        and type(rerun) is int and 0 <= rerun < _INT31
        and type(status) is str and status in FINAL
        and (host is None or (type(host) is str and len(host) <= _TEXTS["host"]))
        and (reason is None or (type(reason) is str and len(reason) <= _TEXTS["reason"]))
        and (job is None or (type(job) is str and len(job) <= _TEXTS["job"]))
        and (started is None or (type(started) is float and -_INT63 < started < _INT63))
        and (duration is None or (type(duration) is float and -_INT63 < duration < _INT63))
        and (exit_code is None or (type(exit_code) is int and -_INT63 < exit_code < _INT63))
        and (recipe is None or (type(recipe) is str and _HEX64.fullmatch(recipe) is not None))
        and get("reused") is None
        and type(metrics) is dict
        and all(v is None or (type(v) is float and math.isfinite(v)) for v in metrics.values())
    ):  # fmt: skip
        return None
    return Run(
        sweep=sweep, index=index, commit=commit, attempt=attempt,
        status=status, run_dir="", rerun=rerun, host=host or "", started=started,
        ended=None if started is None or duration is None else started + duration, exit_code=exit_code,
        reason=reason, job=job, recipe=recipe,
        metrics={name: math.nan if value is None else value for name, value in metrics.items()},
    )  # fmt: skip


def parse_identity(line: bytes) -> tuple[dict[str, Any], str, int, Identity]:
    """A line's JSON object, and the run it is about (sweep, point index, and the run's identity:
    commit, attempt, host, start), checked; :class:`RecordProblem` naming the first bad field."""
    return _identity(_object(line))


def _object(line: bytes) -> dict[str, Any]:
    """The JSON object a line holds; :class:`RecordProblem` when it holds none."""
    try:
        data = _loads(line)
    except RecursionError:
        raise RecordProblem("not JSON: nested too deeply") from None
    except ValueError as exc:
        raise RecordProblem(f"not JSON: {excerpt(str(exc), 80)}") from None
    if not isinstance(data, dict):
        raise RecordProblem(f"not a JSON object but {type(data).__name__}")
    return data


def _identity(data: dict[str, Any]) -> tuple[dict[str, Any], str, int, Identity]:
    """:func:`parse_identity` of a line's object."""
    sweep = data.get("sweep")
    if not isinstance(sweep, str) or _sweep_problem(sweep) is not None:
        problem = _sweep_problem(sweep) if isinstance(sweep, str) else name_problem(sweep)
        raise RecordProblem(f"'sweep' {shown(sweep)}: {problem}")
    commit = data.get("commit")
    if not isinstance(commit, str) or not _HEX40.fullmatch(commit):
        raise RecordProblem(f"'commit' must be a commit id, not {shown(commit)}")
    index, attempt = _count(data, "index", 0), _count(data, "attempt", 1)
    return data, sweep, index, (commit, attempt, _text(data, "host") or "", _time(data, "started"))


def _loads(line: bytes) -> Any:
    """``json.loads(line)``, the common case (a UTF-8 line holding one object, nothing after it) decoded
    from text by the decoder ``json.loads`` uses: half its cost, which is mostly finding the encoding of
    bytes (measured 7 against 16 us a record). Anything else, and any error, goes through ``json.loads``
    itself, so the objects accepted and the messages given are exactly its."""
    if line[:1] == b"{" and line[1:2] != b"\0":  # so json.detect_encoding says UTF-8 (no BOM, no UTF-16)
        try:
            text = line.decode("utf-8", "surrogatepass")  # as json.loads decodes bytes
            data, end = _DECODER.raw_decode(text)
        except ValueError:
            pass
        else:
            if end == len(text):
                return data
    return json.loads(line)


@functools.lru_cache(maxsize=256)
def _sweep_problem(name: str) -> str | None:
    """:func:`name_problem` (of the sweep, and of the stage of a stage's records ``SWEEP:STAGE``),
    remembered: a note's records name a few sweeps many times."""
    sweep, stage = split_records(name)
    return name_problem(sweep) or (stage_problem(stage) if stage is not None else None)


def _count(data: dict[str, Any], name: str, least: int, default: int | None = None) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value < _INT31:
        raise RecordProblem(f"'{name}' must be a whole number of at least {least}, not {shown(value)}")
    return value


def _integer(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or abs(value) >= _INT63):
        raise RecordProblem(f"'{name}' must be an integer, not {shown(value)}")
    return value


def _time(data: dict[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or _too_large(value):
        raise RecordProblem(f"'{name}' must be a number of seconds, not {shown(value)}")
    if abs(value) >= _INT63:
        raise RecordProblem(f"'{name}' is out of range: {shown(value)}")
    return float(value)


def _too_large(value: float) -> bool:
    """A number no float holds (an integer of 400 digits), or NaN or an infinity."""
    return abs(value) >= 2**1023 if isinstance(value, int) else not math.isfinite(value)


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > _TEXTS[name]):
        raise RecordProblem(
            f"'{name}' must be a string of at most {_TEXTS[name]} characters, not {shown(value)}"
        )
    return value


def _recipe(data: dict[str, Any]) -> str | None:
    value = data.get("recipe")
    if value is not None and (not isinstance(value, str) or not _HEX64.fullmatch(value)):
        raise RecordProblem(f"'recipe' must be 64 hex digits, not {shown(value)}")
    return value


def _reused(data: dict[str, Any]) -> tuple[str, int] | None:
    value = data.get("reused")
    if value is None:
        return None
    if not (
        isinstance(value, list)
        and len(value) == 2
        and name_problem(value[0]) is None
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
        and 0 <= value[1] < _INT31
    ):
        raise RecordProblem(f"'reused' must be [sweep, point index], not {shown(value)}")  # fmt: skip
    return (value[0], value[1])


def _metrics(data: dict[str, Any]) -> dict[str, float]:
    """Metrics as ``result.json`` gives them, with null for NaN (as the store keeps it)."""
    metrics = data.get("metrics", {})
    if not isinstance(metrics, dict):
        raise RecordProblem(f"'metrics' must be a JSON object, not {shown(metrics)}")
    values = {name: math.nan if value is None else value for name, value in metrics.items()}
    if (problem := metrics_problem(values, ())) is not None:
        raise RecordProblem(f"'metrics': {problem}")
    return {name: float(value) for name, value in values.items()}


def _reads(data: dict[str, Any]) -> str:
    value = data.get("reads")
    if not isinstance(value, str) or not _READS.fullmatch(value):
        raise RecordProblem(f"'reads' must be <commit>/<attempt>, not {shown(value)}")
    return value


def _hex64(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise RecordProblem(f"'{name}' must be 64 hex digits, not {shown(value)}")
    return value


def _stage(data: dict[str, Any]) -> StageDefinition:
    """A stage's command and ``--uses`` paths: lists of at most 256 strings of at most 4096 characters."""
    stage = data.get("stage")
    if not isinstance(stage, dict):
        raise RecordProblem(f"'stage' must be a JSON object, not {shown(stage)}")
    found = []
    for name in ("command", "uses"):
        words = stage.get(name)
        if not (
            isinstance(words, list)
            and len(words) <= _WORDS
            and all(isinstance(word, str) and 0 < len(word) <= 4096 and "\0" not in word for word in words)
        ):
            raise RecordProblem(f"'stage.{name}' must be a list of strings, not {shown(words)}")
        found.append(tuple(words))
    if not found[0]:
        raise RecordProblem("'stage.command' is empty")
    return found[0], found[1]
