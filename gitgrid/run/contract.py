"""The run contract: what a user's command is given and what it gives back, wherever it runs.

The same for ``gitgrid run``, cluster array tasks and ``gitgrid prepare`` (``docs/run.md``). The command
gets the ``GITGRID_*`` environment (:func:`environment`) and a run directory (``GITGRID_RUN_DIR``, laid
out by :mod:`gitgrid.layout`), and may write a JSON object of metrics to ``GITGRID_RESULT``
(:func:`read_result`), and JSON lines of metrics over time to ``GITGRID_SERIES``
(:mod:`gitgrid.run.series`). gitgrid records each attempt as a :class:`Run` in the directory's ``meta.json``,
written when the command starts (status "running") and when it ends (final status), replaced
atomically so a reader sees the old record or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitgrid.errors import excerpt
from gitgrid.layout import META, RESULT, SERIES
from gitgrid.run.stage import StageInput, StageOrder, stage_variables
from gitgrid.spec.names import param_env_name, param_variables
from gitgrid.spec.values import Value, canonical_json, format_value
from gitgrid.store.record import FINAL, Read, Run  # the record meta.json holds; kept below, in the store

if TYPE_CHECKING:
    from gitgrid.sweep.record import PointRecord, Sweep

__all__ = [
    "FINAL",
    "RUN_FILE_LIMIT",
    "NotJson",
    "Run",
    "RunRequest",
    "environment",
    "host",
    "metrics_problem",
    "open_run_file",
    "outcome",
    "param_env_name",
    "read_json_file",
    "read_meta",
    "read_result",
    "read_run_file",
    "read_run_tail",
    "run_requests",
    "shown",
    "tail",
    "write_meta",
]

RUN_FILE_LIMIT = 16 * 2**20  # bytes gitgrid reads of a result.json or meta.json at most


@dataclass(frozen=True)
class RunRequest:
    """A point as running it needs it: where it is (sweep, index, commit) and its values as written; for
    a stage's run (``sweep`` is then the stage's records, ``SWEEP:STAGE``), what the stage reads."""

    sweep: str
    index: int
    count: int
    commit: str
    params: Mapping[str, Value]
    texts: Mapping[str, str]  # each value as written into the files
    stage: StageInput | None = None
    tree: str = ""  # the commit's tree id, when the planning knew it (for the run's key)

    @property
    def checkout(self) -> str:
        """The commit the command runs in: the point's, or a stage's analysis code."""
        return self.stage.code if self.stage is not None else self.commit


def environment(point: RunRequest, run_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a point's command: ``base`` (default: ours) plus the ``GITGRID_*`` contract."""
    env = dict(os.environ if base is None else base)
    env.update(
        GITGRID_SWEEP=point.sweep,
        GITGRID_INDEX=str(point.index),
        GITGRID_COUNT=str(point.count),
        GITGRID_COMMIT=point.commit,
        GITGRID_PARAMS=canonical_json(point.params),
        GITGRID_RUN_DIR=str(run_dir),
        GITGRID_RESULT=str(run_dir / RESULT),
        GITGRID_SERIES=str(run_dir / SERIES),
    )
    for name, variable in param_variables(point.texts).items():
        if variable is not None:
            env[variable] = point.texts[name]
        else:  # shared by params (N and n): set for neither, and no stale value from our environment
            env.pop(param_env_name(name), None)
    if point.stage is not None:
        if point.stage.every:  # a stage over every point: no one point's variables
            for name in ("GITGRID_INDEX", "GITGRID_COMMIT", "GITGRID_PARAMS", "GITGRID_RUN_DIR"):
                env.pop(name, None)
        env.update(stage_variables(point.stage, point.sweep.partition(":")[0], run_dir))
    return env


def write_meta(run: Run) -> None:
    """Replace ``meta.json`` of the run atomically; on failure (a full disk) leave no temporary file."""
    path = Path(run.run_dir) / META
    temporary = path.with_name(f".{META}.{os.getpid()}.tmp")
    try:
        temporary.write_text(run.to_json())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def open_run_file(path: Path) -> int:
    """A descriptor of a file a run wrote, opened the way untrusted files must be: a regular file only,
    no symbolic link followed, no FIFO or device opened (which could block or never end), and checked
    again once open (``fstat``), so that a file swapped between the look and the open is refused. The
    one opener of every file a run writes, for every command and view.

    Raises ``FileNotFoundError`` when it is absent, ``ValueError`` saying what is wrong otherwise.
    """
    try:
        seen = os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(seen.st_mode):
        raise ValueError(f"is not a regular file (a {_kind(seen.st_mode)})")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror}") from None
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino) or not stat.S_ISREG(opened.st_mode):
        os.close(fd)
        raise ValueError("was replaced while it was read")
    return fd


def read_run_file(path: Path, limit: int = RUN_FILE_LIMIT, cut: bool = False) -> bytes:
    """The bytes of a file a run wrote, opened by :func:`open_run_file`, at most ``limit`` bytes (with
    ``cut``, a longer file gives its first ``limit + 1`` bytes instead of an error).

    Raises ``FileNotFoundError`` when it is absent, ``ValueError`` saying what is wrong otherwise.
    """
    fd = open_run_file(path)
    try:
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                if cut:
                    return b"".join(chunks)[: limit + 1]
                raise ValueError(f"is larger than {limit // 2**20} MiB")
        return b"".join(chunks)
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)


def read_run_tail(path: Path, window: int) -> bytes:
    """The last ``window`` bytes of a file a run wrote (a log), opened by :func:`open_run_file`: however
    large the file, never more is read. Raises as :func:`open_run_file` does."""
    fd = open_run_file(path)
    try:
        size = os.fstat(fd).st_size
        return os.pread(fd, window, max(0, size - window))
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISLNK, "symbolic link"), (stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO")]
    kinds += [(stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device")]
    return next((name for test, name in kinds if test(mode)), "special file")


class NotJson(ValueError):
    """Bytes a run wrote that do not parse as JSON (the message says why, briefly): junk, or a file
    still being written."""


def read_json_file(path: Path) -> Any:
    """The JSON of a file a run wrote, read by :func:`read_run_file`: ``FileNotFoundError`` when it is
    absent, :class:`NotJson` when its bytes are not JSON, ``ValueError`` when it is not a file to read."""
    return _load_json(read_run_file(path))


def _load_json(data: bytes) -> Any:
    """JSON from bytes a run wrote; :class:`NotJson` for anything that is not, including nesting so deep
    that the parser gives up and integers too long to convert."""
    try:
        return json.loads(data)
    except RecursionError:
        raise NotJson("nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the int digit limit
        message = str(exc)
        raise NotJson(message if len(message) <= 120 else message[:117] + "...") from None


def read_meta(run_dir: Path, /, **defaults: Any) -> Run | None:
    """The run recorded in ``run_dir``, or None when there is no (readable) ``meta.json``."""
    try:
        return Run.from_json(read_json_file(run_dir / META), **defaults)
    except (OSError, ValueError, TypeError):
        return None


def read_result(run_dir: Path, params: Sequence[str]) -> tuple[dict[str, float], str | None]:
    """Metrics from ``result.json`` and, if they cannot be used, why (the run then counts as failed).

    No file means no metrics. Non-finite numbers are kept (stored as null); booleans, strings, lists and
    objects are not metrics; a metric named like a param would make the results ambiguous.
    """
    try:
        data = read_json_file(run_dir / RESULT)
    except FileNotFoundError:
        return {}, None
    except NotJson as exc:
        return {}, f"{RESULT} is not valid JSON: {exc}"
    except ValueError as exc:
        return {}, f"{RESULT} {exc}"
    if (problem := metrics_problem(data, params)) is not None:
        return {}, f"{RESULT}: {problem}"
    return dict(data), None


def metrics_problem(data: Any, params: Sequence[str]) -> str | None:
    """Why ``data`` is not a mapping of metric names to numbers, if it is not. The one check of metrics
    from a file a run wrote, wherever it is read (``gitgrid run``, a cluster task, ``gitgrid collect``).

    NaN and infinities are metrics (stored as null); booleans, strings, lists and objects are not; an
    integer must be one a float can hold (the store keeps floats: a ``1e400`` written as 400 digits
    cannot be stored, and is refused rather than lost on the way); a metric named like a param would
    make the results ambiguous.
    """
    if not isinstance(data, dict):
        return f"metrics must be a JSON object, not {type(data).__name__}"
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"metric '{excerpt(name)}' is not a number: {shown(value)}"
        if isinstance(value, int) and not _fits_float(value):
            return f"metric '{excerpt(name)}' is too large a number: {shown(value)}"
        if name in params:
            return f"metric '{excerpt(name)}' has the name of a param"
    return None


def _fits_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def shown(value: Any) -> str:
    """A short excerpt of a value for a message (a hostile file may hold megabytes)."""
    try:
        text = json.dumps(value) if not isinstance(value, float) else repr(value)
    except ValueError:  # an integer past Python's digit limit for text
        text = f"an integer of {value.bit_length()} bits"
    return excerpt(text)


def host() -> str:
    return socket.gethostname()


def outcome(run: Run, code: int, stopped: tuple[str, str] | None, run_dir: Path) -> Run:
    """The final record of a run from its exit status, why it was stopped (status and reason), if it
    was, and its result."""
    if stopped is not None:
        status, reason = stopped
        return run.ending(status, exit_code=code, reason=reason)
    if code != 0:
        reason = f"exit status {code}" if code > 0 else f"killed by signal {-code}"
        return run.ending("failed", exit_code=code, reason=reason)
    metrics, problem = read_result(run_dir, list(run.params))
    if problem is not None:
        return run.ending("failed", exit_code=code, reason=problem)
    return run.ending("success", exit_code=code, metrics=metrics)


def tail(path: Path, lines: int = 5) -> list[str]:
    """The last ``lines`` lines of a log a run wrote (empty when missing, or when it is not a regular
    file), read by :func:`read_run_tail`: its last 8 KiB at most."""
    try:
        return read_run_tail(path, 8192).decode(errors="replace").splitlines()[-lines:]
    except (OSError, ValueError):
        return []


def run_requests(
    sweep: Sweep,
    points: Sequence[PointRecord],
    trees: Mapping[str, str] | None = None,
    stage: StageOrder | None = None,
    reads: Mapping[int, Read] | None = None,
) -> list[RunRequest]:
    """Points as runs need them: with the text each value is written as (the spec's ``format``), and
    the tree of each commit ``trees`` gives; for a ``stage``, with the simulation run each point reads
    (``reads``, from the stage's plan)."""
    from gitgrid.spec.reader import parse_spec  # the YAML reader: only where a sweep's points are run

    formats = {p.name: p.format for p in parse_spec(sweep.spec_text, source=sweep.tag).params}
    return [
        RunRequest(
            sweep.name,
            p.index,
            sweep.count,
            p.commit,
            p.params,
            {n: format_value(v, formats.get(n)) for n, v in p.params.items()},
            _stage_input(stage, (reads or {}).get(p.index)),
            (trees or {}).get(p.commit, ""),
        )
        for p in points
    ]


def _stage_input(stage: StageOrder | None, read: Read | None) -> StageInput | None:
    if stage is None:
        return None
    if read is None:
        raise ValueError(f"stage {stage.name}: a point to analyse has no simulation run to read")
    return StageInput(stage.name, stage.code, stage.analysis, read.run_dir, read.reads, read.metrics)
