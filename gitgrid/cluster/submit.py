"""Submitting a sweep to a batch scheduler as array jobs, and keeping track of them.

``submit_sweep`` writes a submission folder under the runs root (which must be on storage the nodes
share): the job script rendered from a template, one manifest per array (a JSON line per point, in task
order) and ``submission.json``; then it submits one array job per manifest, ``%M`` tasks at a time.
Arrays are split where the cluster's ``MaxArraySize`` would be exceeded; ``chunk`` packs several points
into one task. In a first, unchunked, unsplit submission, array task ids equal point indices.

What the scheduler later says about the submitted tasks is read back by :mod:`gitgrid.cluster.reconcile`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from gitgrid.cluster.reconcile import reconcile
from gitgrid.cluster.scheduler import PENDING, RUNNING, Scheduler
from gitgrid.cluster.schedulers import get_scheduler
from gitgrid.errors import GitgridWarning, SubmitError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.layout import Submission as SubmissionFiles
from gitgrid.rewrite.templates import bound_filters
from gitgrid.run.checkouts import sweep_files
from gitgrid.run.contract import run_requests
from gitgrid.run.preflight import command_file_warnings
from gitgrid.store import Job, Store, open_store
from gitgrid.sweep.catalog import find_sweep, list_points
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = ["Array", "Submission", "SubmitOptions", "cancel_sweep", "submit_sweep", "templates_folder"]

TEMPLATE_OPTIONS = ("prologue", "scratch", "job-name")  # --opt keys for the job template, not the scheduler
RETRY = frozenset({"failed", "timeout", "cancelled", "interrupted"})


@dataclass(frozen=True)
class SubmitOptions:
    """How to submit; the CLI's options."""

    scheduler: str = "slurm"
    array_limit: int | None = None
    chunk: int = 1
    template: Path | None = None
    options: tuple[tuple[str, str], ...] = ()
    retry_failed: bool = False
    runs_root: Path | None = None
    build: str | None = None  # shell command each task runs in its checkout before every point


@dataclass(frozen=True)
class Array:
    """One array job: its manifest, its points in task order, how it is submitted, and its job id."""

    manifest: Path
    points: tuple[int, ...]
    tasks: int
    command: tuple[str, ...]
    job_id: str | None = None


@dataclass(frozen=True)
class Submission:
    """A submission: planned (``dry_run``) or done."""

    sweep: Sweep
    scheduler: str
    folder: Path
    script: str
    arrays: tuple[Array, ...]
    chunk: int
    skipped: int = 0
    submitted: bool = False

    @property
    def job_ids(self) -> list[str]:
        return [a.job_id for a in self.arrays if a.job_id]


def submit_sweep(
    command: Sequence[str],
    sweep: str | None = None,
    repo: Repository | Path | str = ".",
    options: SubmitOptions = SubmitOptions(),
    dry_run: bool = False,
) -> Submission:
    """Submit ``command`` for the points that need it: those without a successful run, or with
    ``retry_failed`` those that failed, timed out or were stopped. ``dry_run`` submits nothing and
    writes no submission; like ``gitgrid status`` it first brings the store up to date (runs that
    finished, the scheduler's word on tasks that ended), so what it would submit is what needs it."""
    if not command or not command[0]:
        raise SubmitError("no command given: gitgrid submit [SWEEP] -- CMD [ARGS...]")
    if options.chunk < 1 or (options.array_limit is not None and options.array_limit < 1):
        raise SubmitError("--chunk and --array-limit must be at least 1")
    if options.build is not None and not options.build.strip():
        raise SubmitError("--build: empty command")
    _check_options(options.options)
    scheduler = get_scheduler(options.scheduler)
    if not dry_run:
        scheduler.check_available()
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    layout, store = open_store(repo, options.runs_root)
    try:
        todo = _todo(repo, store, chosen, layout, options)
        plan = _plan(chosen, scheduler, layout, todo, options)
        if plan.arrays:
            for warning in command_file_warnings(repo, chosen, command, builds=options.build is not None):
                warnings.warn(warning, GitgridWarning, stacklevel=2)
        if dry_run or not plan.arrays:
            return plan
        _write(plan, repo, layout, todo, command, options)
        return _submit(plan, scheduler, store, options)
    finally:
        store.close()


def _check_options(pairs: Sequence[tuple[str, str]]) -> None:
    for key, value in pairs:
        if not key or any(c in key + value for c in "\n\r\0"):
            raise SubmitError(f"--opt {key}={value!r}: a key and a value on one line")


def _todo(
    repo: Repository, store: Store, sweep: Sweep, layout: Layout, options: SubmitOptions
) -> list[PointRecord]:
    states = reconcile(repo, sweep, store, layout)
    busy = sorted(i for i, (state, _) in states.items() if state in (PENDING, RUNNING))
    if busy:
        raise SubmitError(
            f"sweep '{sweep.name}' has {len(busy)} points queued or running (first: point {busy[0]}); "
            "wait for them or 'gitgrid cancel' them, then submit again"
        )
    wanted = RETRY if options.retry_failed else None
    points = list_points(repo, sweep)
    if wanted is not None:
        return [p for p in points if states.get(p.index, ("never run", ""))[0] in wanted]
    return [p for p in points if states.get(p.index, ("never run", ""))[0] != "success"]


def _plan(
    sweep: Sweep, scheduler: Scheduler, layout: Layout, todo: list[PointRecord], options: SubmitOptions
) -> Submission:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"
    files = layout.new_submission(sweep.name, stamp)
    tasks = math.ceil(len(todo) / options.chunk)
    largest = scheduler.max_array_size() if tasks > 1 else None
    per_array = min(tasks, largest) if largest else tasks
    arrays: list[Array] = []
    for first in range(0, tasks, per_array or 1):
        count = min(per_array, tasks - first)
        points = todo[first * options.chunk : (first + count) * options.chunk]
        manifest = files.manifest(len(arrays))
        args = scheduler.submit_args(files.job_script, str(manifest), count, options.array_limit)
        arrays.append(Array(manifest, tuple(p.index for p in points), count, tuple(args)))
    script = _render(sweep, scheduler, files, layout, options, len(todo), tasks)
    skipped = sweep.count - len(todo)
    return Submission(sweep, scheduler.name, files.folder, script, tuple(arrays), options.chunk, skipped)


def _render(
    sweep: Sweep,
    scheduler: Scheduler,
    files: SubmissionFiles,
    layout: Layout,
    options: SubmitOptions,
    count: int,
    tasks: int,
) -> str:
    settings = dict(options.options)
    own = {key: settings.pop(key) for key in TEMPLATE_OPTIONS if key in settings}
    source, name = _template_source(scheduler, options.template)
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    bound_filters(env.filters)  # a job template may be a file of a cloned repository too
    env.filters["q"] = shlex.quote
    context = {
        "sweep": sweep.name, "count": count, "tasks": tasks, "chunk": options.chunk,
        "scheduler": scheduler.name,
        "job_name": re.sub(r"[^\w.-]", "_", own.get("job-name", f"gitgrid-{sweep.name}")),
        "logs": str(files.logs),
        "directives": scheduler.directives(settings), "prologue": own.get("prologue", ""),
        "gitgrid": f"{shlex.quote(sys.executable)} -m gitgrid", "submission": str(files.folder),
        "runs_root": str(layout.runs_root),
    }  # fmt: skip
    try:
        return env.from_string(source).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise SubmitError(f"{name}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise SubmitError(f"{name}: {exc.message} (known: {', '.join(sorted(context))})") from None
    except ValueError as exc:  # a bounded filter refused its number
        raise SubmitError(f"{name}: {exc}") from None


def _template_source(scheduler: Scheduler, template: Path | None) -> tuple[str, str]:
    path = template or templates_folder() / f"{scheduler.name}.sh.j2"
    try:
        return path.read_text(), str(path)
    except OSError as exc:
        raise SubmitError(f"{path}: cannot read the job template: {exc.strerror}") from None


def templates_folder() -> Path:
    """The shipped job templates: ``gitgrid/templates`` in a wheel, ``templates/`` in a checkout."""
    package = Path(__file__).parent.parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


def _write(
    plan: Submission,
    repo: Repository,
    layout: Layout,
    todo: list[PointRecord],
    command: Sequence[str],
    options: SubmitOptions,
) -> None:
    """The submission folder: job script, manifests (a JSON line per point) and submission.json."""
    files = SubmissionFiles(plan.folder)
    files.logs.mkdir(parents=True)
    files.job_script.write_text(plan.script)
    files.job_script.chmod(0o755)
    runs = {run.index: run for run in run_requests(plan.sweep, todo)}
    for array in plan.arrays:
        with array.manifest.open("w") as out:
            for index in array.points:
                run = runs[index]
                entry = {
                    "index": index,
                    "commit": run.commit,
                    "params": dict(run.params),
                    "texts": dict(run.texts),
                }
                out.write(json.dumps(entry) + "\n")
    record = {
        "sweep": plan.sweep.name, "count": plan.sweep.count, "chunk": plan.chunk, "scheduler": plan.scheduler,
        "repo": str(repo.git_dir), "runs_root": str(layout.runs_root), "command": list(command),
        "scratch": dict(options.options).get("scratch"), "created": time.time(), "build": options.build,
        "files": list(sweep_files(plan.sweep)),
    }  # fmt: skip
    files.record.write_text(json.dumps(record, indent=2) + "\n")


def _submit(plan: Submission, scheduler: Scheduler, store: Store, options: SubmitOptions) -> Submission:
    """Submit every array and record the jobs: all of them, or (cancelling what went through) none."""
    done: list[Array] = []
    began = time.time()  # before the first task can start: runs of this submission start after it
    try:
        for array in plan.arrays:
            job_id = scheduler.submit(
                SubmissionFiles(plan.folder).job_script,
                str(array.manifest),
                array.tasks,
                options.array_limit,
                plan.folder,
            )
            done.append(replace(array, job_id=job_id))
    except BaseException as exc:
        scheduler.cancel([a.job_id for a in done if a.job_id])
        shutil.rmtree(plan.folder, ignore_errors=True)
        if isinstance(exc, SubmitError):
            raise SubmitError(_naming_options(str(exc), options.options)) from None
        raise
    for array in done:
        assert array.job_id is not None
        job = Job(
            array.job_id, scheduler.name, plan.sweep.name, str(plan.folder), array.tasks, plan.chunk, began
        )
        store.jobs.add(job, ((n // plan.chunk + scheduler.first_task, i) for n, i in enumerate(array.points)))
    return replace(plan, arrays=tuple(done), submitted=True)


def _naming_options(message: str, pairs: Sequence[tuple[str, str]]) -> str:
    """A scheduler's refusal, with the ``--opt`` it is most likely about (those its message mentions)."""
    lowered = message.lower()
    named = [f"--opt {k}={v}" for k, v in pairs if k.lower() in lowered or (v and v.lower() in lowered)]
    if named:
        return f"{message} (from {', '.join(named)})"
    return message


def cancel_sweep(repo: Repository | Path | str = ".", sweep: str | None = None) -> list[str]:
    """Cancel every job of the sweep that is still queued or running; returns their ids."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    _, store = open_store(repo)
    try:
        cancelled = []
        for job in store.jobs.submitted(chosen.name):
            if job.cancelled:
                continue
            scheduler = get_scheduler(job.scheduler)
            states = scheduler.states([job.job_id])
            if states and not any(s.state in (PENDING, RUNNING) for s in states.values()):
                continue  # finished
            try:
                scheduler.cancel([job.job_id])
            except SubmitError:
                if states:  # a scheduler whose states gitgrid cannot read may refuse finished jobs
                    raise
                continue
            cancelled.append(job.job_id)
        store.jobs.mark_cancelled(chosen.name, cancelled)
        return cancelled
    finally:
        store.close()
