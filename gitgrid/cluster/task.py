"""One array task on a cluster node: run its points exactly as ``gitgrid run`` would.

The job script calls ``gitgrid task SUBMISSION MANIFEST``. The task reads its points from the manifest
(lines ``task * chunk`` to ``task * chunk + chunk - 1``) and how to run them from ``submission.json``
(the command, ``--build``, ``--setup``, ``--timeout``, ``--halt-after``, the rerun), takes a free
checkout in node-local scratch (:func:`~gitgrid.run.checkouts.node_checkout_for`), runs ``--setup``
there once per base, and runs each point through the same :func:`~gitgrid.run.execute.execute_point`
as ``gitgrid run``, writing ``meta.json`` when a run starts and when it ends. It needs git and gitgrid
on the node, and the repository and runs root on storage the node can read and write; it never writes
the results store (``gitgrid collect`` on the submitting side does), so SQLite is never shared over a
network filesystem.

SIGTERM (time limit, ``scancel``, preemption) stops the running command's process group (SIGKILL to what
is left of it after the grace period) and records the run as interrupted; the scheduler's own word
(TIMEOUT, CANCELLED) is added by ``gitgrid status``. The task raises :class:`~gitgrid.errors.RunError`
for what stops it (a bad submission, a runs root it cannot write) and returns a :class:`TaskSummary`;
the command line turns either into its line in the job's log and the exit status.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from gitgrid.errors import RunError, excerpt
from gitgrid.layout import (
    Submission,
    build_record,
    claim_attempt,
    node_lock,
    node_setup_log,
    node_setup_stamp,
    point_dir,
)
from gitgrid.run.checkouts import Checkout, node_checkout_for
from gitgrid.run.contract import Run, RunRequest, host, read_json_file, write_meta
from gitgrid.run.execute import Execution, execute_point
from gitgrid.run.locks import remove_held
from gitgrid.run.processes import ProcessTable
from gitgrid.run.setup import SetupFailed, SetupRefused, run_setup
from gitgrid.run.stage import StageInput
from gitgrid.sweep.record import check_object_id

__all__ = ["TaskSummary", "node_setup", "run_task"]

_MANIFEST_LINE = 1 << 20  # bytes of one manifest line at most: a point's params and their texts


@dataclass(frozen=True)
class TaskSummary:
    """What one array task did, for the last line of its log and its exit status."""

    job: str | None
    points: int
    failed: int
    elapsed: float
    own: float  # seconds gitgrid spent (checkout, bookkeeping), not the commands
    signal: int | None = None
    halted: bool = False
    warnings: tuple[str, ...] = ()  # said once each in the task's log (what could not be checked there)

    @property
    def exit_code(self) -> int:
        if self.signal is not None:
            return 128 + self.signal
        return 1 if self.failed else 0

    def line(self) -> str:
        halted = "; halted by --halt-after" if self.halted else ""
        return (
            f"gitgrid task {self.job}: {self.points} points, {self.failed} failed, {self.elapsed:.3f} s, "
            f"of which gitgrid (checkout, bookkeeping) {self.own:.3f} s{halted}"
        )


def run_task(submission: Path, manifest: Path, task: int | None = None) -> TaskSummary:
    """Run the points of array task ``task`` (default: ``$GITGRID_TASK_ID``)."""
    record = _record(Submission(submission).record)
    task = _task_number(task)
    chunk = _int(record, "chunk")
    requests = [_request(entry, record) for entry in _entries(manifest, task * chunk, chunk)]
    if not requests:
        raise RunError(f"gitgrid task: no points for task {task} in {manifest}")
    return _Task(Submission(submission), record, requests).run()


def node_setup(
    checkout: Checkout,
    command: str,
    base: str,
    runs_root: Path,
    sweep: str,
    table: ProcessTable,
    warn: Callable[[str], None],
) -> bool:
    """``--setup`` in a node's (or a Dask worker's) checkout, unless it ran there for this command, base
    and swept files (its stamp, beside the checkout, says so); traced as a build is, so a setup that
    reads a file the sweep rewrites is refused (:mod:`gitgrid.run.setup`). False if stopped."""
    stamp = node_setup_stamp(checkout.path)
    done = {"command": command, "base": base, "files": sorted(checkout.files)}
    try:
        if json.loads(stamp.read_text()) == done:
            return True
    except (OSError, ValueError):
        pass
    env = {**os.environ, "GITGRID_SWEEP": sweep}
    log = node_setup_log(runs_root, sweep, host(), checkout.path)
    if not run_setup(checkout, command, env, log, table, checkout.build_guard(warn)):
        return False
    stamp.write_text(json.dumps(done))
    return True


def _record(path: Path) -> dict[str, Any]:
    try:
        record = read_json_file(path)
    except FileNotFoundError:
        raise RunError(f"{path}: no such file: not a submission folder of gitgrid") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: {excerpt(str(exc), 120)}") from None
    if not isinstance(record, dict) or not all(k in record for k in ("sweep", "command", "repo", "chunk")):
        raise RunError(f"{path}: not a submission record (sweep, command, repo, chunk)")
    return record


def _task_number(task: int | None) -> int:
    text = os.environ.get("GITGRID_TASK_ID", "") if task is None else str(task)
    if not text.isdigit():
        raise RunError(f"gitgrid task: task {excerpt(text)!r} is not a task number (0 or more)")
    return int(text)


def _int(record: dict[str, Any], key: str) -> int:
    value = record.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RunError(f"submission.json: {key} {excerpt(value)} is not a number of at least 1")
    return value


def _entries(manifest: Path, first: int, count: int) -> list[dict[str, Any]]:
    """Lines ``first`` to ``first + count - 1`` of the manifest, as JSON objects; read as a regular file
    only, each line bounded."""
    try:
        fd = os.open(manifest, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        raise RunError(f"{manifest}: cannot read the manifest: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as lines:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RunError(f"{manifest}: not a regular file")
        chosen = itertools.islice(iter(lambda: lines.readline(_MANIFEST_LINE + 1), b""), first, first + count)
        try:
            entries = [json.loads(line) for line in chosen if len(line) <= _MANIFEST_LINE]
        except ValueError as exc:
            raise RunError(f"{manifest}: a line is not JSON ({excerpt(str(exc), 80)})") from None
    if not all(isinstance(e, dict) and {"index", "commit"} <= e.keys() for e in entries):
        raise RunError(f"{manifest}: a line is not a point (index, commit, params, texts)")
    return entries


def _request(entry: dict[str, Any], record: dict[str, Any]) -> RunRequest:
    """One point of the manifest, checked (#17): an index of the sweep, a full commit id (never an option
    to git), params and the texts they are written as."""
    count, index, commit = _int(record, "count"), entry["index"], entry["commit"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise RunError(f"manifest: point index {excerpt(index)} is not one of the sweep's {count}")
    try:
        commit = check_object_id(commit, "commit")
    except ValueError as exc:
        raise RunError(f"manifest: point {index}: {exc}") from None
    params, texts = entry.get("params", {}), entry.get("texts", {})
    if not isinstance(params, dict) or not isinstance(texts, dict) or params.keys() != texts.keys():
        raise RunError(f"manifest: point {index}: 'params' and 'texts' must name the same params")
    if not all(isinstance(text, str) for text in texts.values()):
        raise RunError(f"manifest: point {index}: 'texts' must be strings")
    stage, tree = _stage(entry.get("stage")), _hex(entry.get("tree"), 40) or ""
    return RunRequest(record["sweep"], index, count, commit, params, texts, stage, tree)


def _stage(entry: Any) -> StageInput | None:
    """A manifest line's stage (``gitgrid analyze``): what the point's stage reads and runs in."""
    if entry is None:
        return None
    texts = ("stage", "code", "analysis", "run_dir", "reads", "metrics")
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in texts):
        raise RunError("gitgrid task: a manifest line's stage is not what gitgrid analyze writes")
    return StageInput(*(entry[k] for k in texts))


def _hex(value: Any, digits: int) -> str | None:
    """A tree id or recipe from the submission, when it is one (for the run's key; else none)."""
    ok = isinstance(value, str) and len(value) == digits and all(c in "0123456789abcdef" for c in value)
    return value if ok else None


class _Task:
    def __init__(self, files: Submission, record: dict[str, Any], requests: list[RunRequest]) -> None:
        self.files, self.record, self.requests = files, record, requests
        self.job = os.environ.get("GITGRID_JOB_ID")
        self.table = ProcessTable(grace=float(record.get("grace") or 5.0))
        self.stopped: int | None = None
        self.warnings: list[str] = []
        self.commands = 0.0  # seconds spent in the user's command
        self.began: float | None = None
        self.scratch = Path(record.get("scratch") or os.environ.get("TMPDIR") or "/tmp")
        self.how = Execution(
            command=tuple(record["command"]), runs_root=Path(record["runs_root"]), host=host(),
            base_env=dict(os.environ), job=self.job, build=record.get("build"), timeout=record.get("timeout"),
            rerun=int(record.get("rerun") or 0), clean_build=bool(record.get("clean_build")), warn=self._warn,
            recipe=_hex(record.get("recipe"), 64),
        )  # fmt: skip

    def run(self) -> TaskSummary:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        start = time.monotonic()
        failures, done, halted = 0, 0, False
        files = tuple(self.record.get("files") or ())
        with node_checkout_for(self.record["repo"], self.scratch, files) as checkout, self.table.ticking():
            try:
                for request in self.requests:
                    halted = self._halted()
                    if self.stopped is not None or halted or not self._setup(checkout, request):
                        break
                    run = self._execute(request, checkout)
                    done, failures = done + 1, failures + (run.status != "success")
            finally:
                if not self.record.get("keep_scratch"):  # removed while still locked: no task uses it
                    shutil.rmtree(checkout.path, ignore_errors=True)
                    for record in (node_setup_stamp(checkout.path), build_record(checkout.path)):
                        record.unlink(missing_ok=True)
                    remove_held(node_lock(checkout.path.parent, checkout.number))
        elapsed = time.monotonic() - start
        own = elapsed - self.commands
        return TaskSummary(self.job, done, failures, elapsed, own, self.stopped, halted, tuple(self.warnings))

    def _execute(self, request: RunRequest, checkout: Checkout) -> Run:
        try:
            return execute_point(request, checkout, self.how, self.table, self)
        except OSError as exc:  # the runs root cannot be written: no later point could be recorded
            error = RunError(f"gitgrid task {self.job}: cannot write {exc.filename}: {exc.strerror}")
            error.exit_code = 1
            raise error from None

    def _setup(self, checkout: Checkout, request: RunRequest) -> bool:
        """``--setup`` once in this checkout for this base; False if stopped. A failing setup fails the
        task's points, each saying why, rather than leaving them to a bare FAILED."""
        setup = self.record.get("setup")
        if not setup:
            return True
        try:
            checkout.move_to(request.commit)
            runs_root, base = Path(self.record["runs_root"]), str(self.record.get("base") or "")
            return node_setup(checkout, setup, base, runs_root, request.sweep, self.table, self._warn)
        except (SetupFailed, SetupRefused) as exc:
            for failed in self.requests[self.requests.index(request) :]:
                self._record_unstarted(failed, str(exc))
            return False

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _record_unstarted(self, request: RunRequest, reason: str) -> None:
        folder = point_dir(self.how.runs_root, request.sweep, request.index, request.commit, request.count)
        attempt, run_dir = claim_attempt(folder)
        now = time.time()
        run = Run(
            request.sweep, request.index, request.commit, attempt, "failed", str(run_dir), request.params,
            self.how.rerun, self.how.host, now, now, reason=reason, command=self.how.command, job=self.job,
        )  # fmt: skip
        write_meta(run)

    def _halted(self) -> bool:
        """``--halt-after N``: N runs of this submission failed (in any task): start no more points."""
        limit = self.record.get("halt_after")
        if not isinstance(limit, int) or limit < 1:
            return False
        try:
            failed = sum(1 for _ in self.files.failures.iterdir())
        except OSError:
            return False
        if failed >= limit:
            self.files.halted.touch()
            return True
        return False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = signum
        self.table.stop_all(f"stopped by the scheduler (signal {signum})")

    # the ledger execute_point records runs in: meta.json only (the store is the submitting side's)
    def started(self, run: Run) -> None:
        write_meta(run)
        self.began = time.monotonic()

    def ended(self, run: Run) -> None:
        if self.began is not None:
            self.commands += time.monotonic() - self.began
            self.began = None
        write_meta(run)
        if run.status in ("failed", "timeout") and self.record.get("halt_after"):
            self.files.failures.mkdir(exist_ok=True)
            (self.files.failures / f"{run.index}-{run.attempt}").touch()
