"""Submitting a sweep to a batch scheduler as array jobs, and keeping track of them.

``submit_sweep`` chooses the points as every launcher does (:meth:`gitgrid.store.progress.Progress.plan`:
``--where``, ``--rerun``, ``--retry-failed``), after bringing the store up to date with the scheduler.
It writes a submission folder under the runs root (which must be on storage the nodes share): the job
script rendered from a template, one manifest per array (a JSON line per point, in task order) and
``submission.json`` (the command and how to run it: ``--build``, ``--setup``, ``--timeout``, ...); then
it submits one array job per manifest, ``%M`` tasks at a time. Arrays are split where the cluster's
``MaxArraySize`` would be exceeded; ``chunk`` packs several points into one task. In a first, unchunked,
unsplit submission, array task ids equal point indices.

What the scheduler later says about the submitted tasks is read back by :mod:`gitgrid.cluster.reconcile`.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import jinja2

from gitgrid.cluster.reconcile import Schedulers, reconcile
from gitgrid.cluster.scheduler import PENDING, RUNNING, Scheduler
from gitgrid.errors import SubmitError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.layout import Layout
from gitgrid.layout import Submission as SubmissionFiles
from gitgrid.rewrite.templates import render_sandboxed
from gitgrid.run.contract import RunRequest, run_requests
from gitgrid.run.runner import RunOptions, check_options
from gitgrid.run.target import checkout_files, launch_target, plan_for, preflight
from gitgrid.store import Job, Read, Store, open_store
from gitgrid.sweep.catalog import find_sweep
from gitgrid.sweep.record import PointRecord, Sweep

__all__ = [
    "TEMPLATE_OPTIONS",
    "Array",
    "Submission",
    "SubmitOptions",
    "cancel_jobs",
    "submit_sweep",
    "templates_folder",
]

# --opt keys for the job template and the task, not the scheduler
TEMPLATE_OPTIONS = ("prologue", "scratch", "job-name", "keep-scratch")


@dataclass(frozen=True)
class SubmitOptions:
    """What is particular to array jobs: the ``--opt`` pairs, ``--array-limit``, ``--chunk``,
    ``--template``."""

    array_limit: int | None = None
    chunk: int = 1
    template: Path | None = None
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Array:
    """One array job: its manifest, its points in task order, how it is submitted, and its job id."""

    manifest: Path
    points: tuple[int, ...]
    tasks: int
    command: str  # the submit command, as a shell would be given it
    job_id: str | None = None


@dataclass(frozen=True)
class Submission:
    """A submission: planned (``dry_run``) or done; ``left`` counts the points it left alone, by state."""

    sweep: Sweep
    scheduler: str
    folder: Path
    script: str
    arrays: tuple[Array, ...]
    chunk: int
    skipped: int = 0
    submitted: bool = False
    left: Mapping[str, int] = field(default_factory=dict)
    failed_before: int = 0  # of ``skipped``: failed or timed out before (``--retry-failed`` runs them)
    reused: Mapping[str, int] = field(default_factory=dict)  # points reused (run.reuse), by source sweep

    @property
    def job_ids(self) -> list[str]:
        return [a.job_id for a in self.arrays if a.job_id]

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(index for array in self.arrays for index in array.points)


@dataclass(frozen=True)
class _Todo:
    points: list[PointRecord]
    rerun: int
    left: dict[str, int]
    failed_before: int = 0
    reads: Mapping[int, Read] = field(default_factory=dict)  # a stage's: what each point reads
    recipe: str | None = None
    trees: Mapping[str, str] = field(default_factory=dict)
    reused: Mapping[str, int] = field(default_factory=dict)


def submit_sweep(
    command: Sequence[str],
    sweep: str | None,
    repo: Repository | Path | str,
    run: RunOptions,
    scheduler: Scheduler,
    options: SubmitOptions,
    schedulers: Schedulers,
    dry_run: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Submission:
    """Submit ``command`` for the points ``run`` selects. ``dry_run`` submits nothing and writes no
    submission; like ``gitgrid status`` it first brings the store up to date (runs that finished, the
    scheduler's word on tasks that ended), so what it would submit is what needs it. ``schedulers``
    finds the scheduler of every job the sweep had (a sweep may have been sent to several)."""
    check_options(command, run)
    if not dry_run:
        scheduler.check_available()
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = launch_target(repo, sweep, run.stage)
    layout, store = open_store(repo, run.runs_root)
    try:
        todo = _todo(repo, store, chosen, layout, run, schedulers, command, dry_run)
        plan = _plan(chosen, scheduler, layout, todo, options, dry_run)
        if plan.arrays:  # before any task fails for it
            builds = bool(run.build or run.setup)
            preflight(repo, chosen, command, run.stage, builds, warn or _ignore, elsewhere=True)
        if dry_run or not plan.arrays:
            return plan
        try:
            _write(plan, repo, layout, todo, command, options, run)
        except BaseException:
            shutil.rmtree(plan.folder, ignore_errors=True)
            raise
        return _submit(plan, scheduler, store, options)
    finally:
        store.close()


def _ignore(message: str) -> None:
    del message


def _todo(
    repo: Repository,
    store: Store,
    sweep: Sweep,
    layout: Layout,
    run: RunOptions,
    schedulers: Schedulers,
    command: Sequence[str],
    dry_run: bool,
) -> _Todo:
    """The points to submit: those ``run`` selects, less those reused (recorded so, unless ``dry_run``),
    and the others counted by state."""
    states = reconcile(repo, sweep, store, layout, schedulers)
    busy = sorted(i for i, (state, _) in states.items() if state in (PENDING, RUNNING))
    if busy:
        raise SubmitError(
            f"sweep '{sweep.name}' has {len(busy)} points queued or running (first: point {busy[0]}); "
            "wait for them or 'gitgrid cancel' them, then submit again"
        )
    planned = plan_for(repo, store, layout.runs_root, sweep, run, run.stage, command, record=not dry_run)
    plan = planned.plan
    chosen = {p.index for p in plan.points} | planned.indexes
    left = Counter(state for i, (state, _) in states.items() if i not in chosen)
    never = sweep.count - len(chosen) - sum(left.values())
    if never > 0:
        left["never run"] += never
    return _Todo(plan.points, plan.rerun, dict(left), plan.failed_before, plan.reads, planned.recipe,
                 planned.trees, planned.reused)  # fmt: skip


def _plan(
    sweep: Sweep, scheduler: Scheduler, layout: Layout, todo: _Todo, options: SubmitOptions, dry_run: bool
) -> Submission:
    points = todo.points
    files = layout.new_submission(sweep.name, claim=not dry_run and bool(points))
    tasks = math.ceil(len(points) / options.chunk)
    largest = scheduler.max_array_size() if tasks > 1 else None
    per_array = min(tasks, largest) if largest else tasks
    arrays: list[Array] = []
    for first in range(0, tasks, per_array or 1):
        count = min(per_array, tasks - first)
        chosen = points[first * options.chunk : (first + count) * options.chunk]
        manifest = files.manifest(len(arrays))
        shown = scheduler.shown(files.job_script, str(manifest), count, options.array_limit)
        arrays.append(Array(manifest, tuple(p.index for p in chosen), count, shown))
    script = _render(sweep, scheduler, files, layout, options, len(points), tasks) if points else ""
    skipped = sweep.count - len(points) - sum(todo.reused.values())  # reused ones are counted apart
    return Submission(
        sweep, scheduler.name, files.folder, script, tuple(arrays), options.chunk, skipped, left=todo.left,
        failed_before=todo.failed_before, reused=todo.reused,
    )  # fmt: skip


def _render(
    sweep: Sweep,
    scheduler: Scheduler,
    files: SubmissionFiles,
    layout: Layout,
    options: SubmitOptions,
    count: int,
    tasks: int,
) -> str:
    """The job script, rendered in the sandbox of spec templates (``--template`` may come from a cloned
    repository too)."""
    settings = dict(options.options)
    own = {key: settings.pop(key) for key in TEMPLATE_OPTIONS if key in settings}
    source, name = _template_source(scheduler, options.template)
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
        return render_sandboxed(
            source,
            context,
            {"q": shlex.quote},
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    except jinja2.TemplateSyntaxError as exc:
        raise SubmitError(f"{name}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise SubmitError(f"{name}: {exc.message} (known: {', '.join(sorted(context))})") from None
    except (ValueError, jinja2.exceptions.SecurityError) as exc:  # a bound passed, or an unsafe call
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
    todo: _Todo,
    command: Sequence[str],
    options: SubmitOptions,
    run: RunOptions,
) -> None:
    """The submission folder: job script, manifests (a JSON line per point) and submission.json."""
    files = SubmissionFiles(plan.folder)
    files.logs.mkdir(parents=True, exist_ok=True)
    files.job_script.write_text(plan.script)
    files.job_script.chmod(0o755)
    requests = run_requests(plan.sweep, todo.points, todo.trees, run.stage, todo.reads)
    runs = {request.index: request for request in requests}
    for array in plan.arrays:
        with array.manifest.open("w") as out:
            for index in array.points:
                out.write(json.dumps(_entry(runs[index])) + "\n")
    settings = dict(options.options)
    record = {
        "sweep": plan.sweep.name, "count": plan.sweep.count, "chunk": plan.chunk, "scheduler": plan.scheduler,
        "repo": str(repo.git_dir), "runs_root": str(layout.runs_root), "command": list(command),
        "scratch": settings.get("scratch"), "created": time.time(),
        "keep_scratch": settings.get("keep-scratch", "").lower() in ("1", "yes", "true"), "build": run.build,
        "files": list(checkout_files(plan.sweep, run.stage)), "rerun": todo.rerun, "timeout": run.timeout,
        "setup": run.setup, "base": plan.sweep.base, "halt_after": run.halt_after, "grace": run.grace,
        "clean_build": run.clean_build, "recipe": todo.recipe,
    }  # fmt: skip
    files.record.write_text(json.dumps(record, indent=2) + "\n")


def _entry(request: RunRequest) -> dict[str, object]:
    """A manifest line: the point, and for a stage's run what it reads and the code it runs in."""
    entry: dict[str, object] = {
        "index": request.index, "commit": request.commit, "params": dict(request.params),
        "texts": dict(request.texts), "tree": request.tree,
    }  # fmt: skip
    if request.stage is not None:
        entry["stage"] = asdict(request.stage)
    return entry


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
        sent = [_job(a, plan, scheduler, began) for a in done]
        scheduler.cancel(sent)
        shutil.rmtree(plan.folder, ignore_errors=True)
        if isinstance(exc, SubmitError):
            raise SubmitError(_naming_options(str(exc), options.options)) from None
        raise
    for array in done:
        job = _job(array, plan, scheduler, began)
        store.jobs.add(job, ((n // plan.chunk + scheduler.first_task, i) for n, i in enumerate(array.points)))
    return replace(plan, arrays=tuple(done), submitted=True)


def _job(array: Array, plan: Submission, scheduler: Scheduler, began: float) -> Job:
    assert array.job_id is not None
    return Job(
        array.job_id, scheduler.name, plan.sweep.name, str(plan.folder), array.tasks, plan.chunk, began
    )


def _naming_options(message: str, pairs: Sequence[tuple[str, str]]) -> str:
    """A scheduler's refusal, with the ``--opt`` it is most likely about (those its message mentions)."""
    lowered = message.lower()
    named = [f"--opt {k}={v}" for k, v in pairs if k.lower() in lowered or (v and v.lower() in lowered)]
    if named:
        return f"{message} (from {', '.join(named)})"
    return message


def cancel_jobs(repo: Repository | Path | str, sweep: str | None, scheduler: Scheduler) -> list[str]:
    """Cancel every job of the sweep submitted to ``scheduler`` that is still queued or running; returns
    their ids."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    _, store = open_store(repo)
    try:
        cancelled = []
        for job in store.jobs.submitted(chosen.name):
            if job.cancelled or job.scheduler != scheduler.name:
                continue
            states = scheduler.states([job])
            if states and not any(s.state in (PENDING, RUNNING) for s in states.values()):
                continue  # finished
            try:
                scheduler.cancel([job])
            except SubmitError:
                if states:  # a scheduler whose states gitgrid cannot read may refuse finished jobs
                    raise
                continue
            cancelled.append(job.job_id)
        store.jobs.mark_cancelled(chosen.name, cancelled)
        return cancelled
    finally:
        store.close()
