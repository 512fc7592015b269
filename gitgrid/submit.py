"""Submitting a sweep to a batch scheduler as array jobs, and keeping track of them.

``submit_sweep`` writes a submission folder under the runs root (which must be on storage the nodes
share): the job script rendered from a template, one manifest per array (a JSON line per point, in task
order) and ``submission.json``; then it submits one array job per manifest, ``%M`` tasks at a time.
Arrays are split where the cluster's ``MaxArraySize`` would be exceeded; ``chunk`` packs several points
into one task. In a first, unchunked, unsplit submission, array task ids equal point indices.

``reconcile`` brings the store up to date: it collects finished run directories and, for points whose
task the scheduler says has ended without leaving a final record (time limit, memory, node failure,
cancelled), records the scheduler's verdict, so that such a point never passes for a success.
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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from gitgrid.collect import collect_into, unfinished_runs
from gitgrid.errors import SubmitError
from gitgrid.git import Repository, open_repository
from gitgrid.places import Places
from gitgrid.runner import open_store, point_runs
from gitgrid.runs import FINAL, Run, claim_attempt, point_dir, write_meta
from gitgrid.schedulers import CANCELLED, DONE, FAILED, PENDING, RUNNING, TIMEOUT, Scheduler, get_scheduler
from gitgrid.store import Job, Store
from gitgrid.sweeps import PointRecord, Sweep, find_sweep, list_points
from gitgrid.task import SUBMISSION

__all__ = ["Array", "Submission", "SubmitOptions", "cancel_sweep", "reconcile", "submit_sweep"]

TEMPLATE_OPTIONS = ("prologue", "scratch", "job-name")  # --opt keys for the job template, not the scheduler
RETRY = frozenset({"failed", "timeout", "cancelled", "interrupted"})
_VERDICT = {DONE: "failed", FAILED: "failed", TIMEOUT: "timeout", CANCELLED: "cancelled"}


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
    ``retry_failed`` those that failed, timed out or were stopped. ``dry_run`` writes nothing."""
    if not command or not command[0]:
        raise SubmitError("no command given: gitgrid submit [SWEEP] -- CMD [ARGS...]")
    if options.chunk < 1 or (options.array_limit is not None and options.array_limit < 1):
        raise SubmitError("--chunk and --array-limit must be at least 1")
    _check_options(options.options)
    scheduler = get_scheduler(options.scheduler)
    if not dry_run:
        scheduler.check_available()
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    places, store = open_store(repo, options.runs_root)
    try:
        todo = _todo(repo, store, chosen, places, options)
        plan = _plan(chosen, scheduler, places, todo, options)
        if dry_run or not plan.arrays:
            return plan
        _write(plan, repo, places, todo, command, options)
        return _submit(plan, scheduler, store, options)
    finally:
        store.close()


def _check_options(pairs: Sequence[tuple[str, str]]) -> None:
    for key, value in pairs:
        if not key or any(c in key + value for c in "\n\r\0"):
            raise SubmitError(f"--opt {key}={value!r}: a key and a value on one line")


def _todo(
    repo: Repository, store: Store, sweep: Sweep, places: Places, options: SubmitOptions
) -> list[PointRecord]:
    states = reconcile(repo, sweep, store, places)
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
    sweep: Sweep, scheduler: Scheduler, places: Places, todo: list[PointRecord], options: SubmitOptions
) -> Submission:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"
    folder = places.runs_root / sweep.name / "submissions" / stamp
    tasks = math.ceil(len(todo) / options.chunk)
    largest = scheduler.max_array_size() if tasks > 1 else None
    per_array = min(tasks, largest) if largest else tasks
    arrays: list[Array] = []
    for first in range(0, tasks, per_array or 1):
        count = min(per_array, tasks - first)
        points = todo[first * options.chunk : (first + count) * options.chunk]
        manifest = folder / f"manifest-{len(arrays)}.jsonl"
        args = scheduler.submit_args(folder / "job.sh", str(manifest), count, options.array_limit)
        arrays.append(Array(manifest, tuple(p.index for p in points), count, tuple(args)))
    script = _render(sweep, scheduler, folder, places, options, len(todo), tasks)
    skipped = sweep.count - len(todo)
    return Submission(sweep, scheduler.name, folder, script, tuple(arrays), options.chunk, skipped)


def _render(
    sweep: Sweep,
    scheduler: Scheduler,
    folder: Path,
    places: Places,
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
    env.filters["q"] = shlex.quote
    context = {
        "sweep": sweep.name, "count": count, "tasks": tasks, "chunk": options.chunk,
        "scheduler": scheduler.name,
        "job_name": re.sub(r"[^\w.-]", "_", own.get("job-name", f"gitgrid-{sweep.name}")),
        "logs": str(folder / "logs"),
        "directives": scheduler.directives(settings), "prologue": own.get("prologue", ""),
        "gitgrid": f"{shlex.quote(sys.executable)} -m gitgrid", "submission": str(folder),
        "runs_root": str(places.runs_root),
    }  # fmt: skip
    try:
        return env.from_string(source).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise SubmitError(f"{name}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise SubmitError(f"{name}: {exc.message} (known: {', '.join(sorted(context))})") from None


def _template_source(scheduler: Scheduler, template: Path | None) -> tuple[str, str]:
    path = template or templates_folder() / f"{scheduler.name}.sh.j2"
    try:
        return path.read_text(), str(path)
    except OSError as exc:
        raise SubmitError(f"{path}: cannot read the job template: {exc.strerror}") from None


def templates_folder() -> Path:
    """The shipped job templates: ``gitgrid/templates`` in a wheel, ``templates/`` in a checkout."""
    installed = Path(__file__).parent / "templates"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "templates"


def _write(
    plan: Submission,
    repo: Repository,
    places: Places,
    todo: list[PointRecord],
    command: Sequence[str],
    options: SubmitOptions,
) -> None:
    """The submission folder: job script, manifests (a JSON line per point) and submission.json."""
    (plan.folder / "logs").mkdir(parents=True)
    script = plan.folder / "job.sh"
    script.write_text(plan.script)
    script.chmod(0o755)
    runs = {run.index: run for run in point_runs(plan.sweep, todo)}
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
        "repo": str(repo.git_dir), "runs_root": str(places.runs_root), "command": list(command),
        "scratch": dict(options.options).get("scratch"), "created": time.time(),
    }  # fmt: skip
    (plan.folder / SUBMISSION).write_text(json.dumps(record, indent=2) + "\n")


def _submit(plan: Submission, scheduler: Scheduler, store: Store, options: SubmitOptions) -> Submission:
    """Submit every array and record the jobs: all of them, or (cancelling what went through) none."""
    done: list[Array] = []
    began = time.time()  # before the first task can start: runs of this submission start after it
    try:
        for array in plan.arrays:
            job_id = scheduler.submit(
                plan.folder / "job.sh", str(array.manifest), array.tasks, options.array_limit, plan.folder
            )
            done.append(replace(array, job_id=job_id))
    except BaseException:
        scheduler.cancel([a.job_id for a in done if a.job_id])
        shutil.rmtree(plan.folder, ignore_errors=True)
        raise
    for array in done:
        assert array.job_id is not None
        job = Job(
            array.job_id, scheduler.name, plan.sweep.name, str(plan.folder), array.tasks, plan.chunk, began
        )
        store.add_job(job, ((n // plan.chunk + scheduler.first_task, i) for n, i in enumerate(array.points)))
    return replace(plan, arrays=tuple(done), submitted=True)


def reconcile(repo: Repository, sweep: Sweep, store: Store, places: Places) -> dict[int, tuple[str, str]]:
    """Each point's state and reason: success, failed, timeout, cancelled, interrupted, pending, running
    or never run. Collects finished run directories first (from every runs root the sweep was submitted
    to), then asks the scheduler about the rest."""
    jobs = store.jobs(sweep.name)
    roots = {job.job_id: _runs_root(job.submission, places) for job in jobs}
    for root in {places.runs_root, *roots.values()}:
        collect_into(store, repo, sweep, root)
    latest = {row.run.index: row.run for row in store.runs(sweep.name, None, latest_only=True)}
    states = {index: (run.status, run.reason or "") for index, run in latest.items()}
    submitted = store.job_points(sweep.name)
    if not submitted:
        return states
    tasks = {}
    by_scheduler: dict[str, list[str]] = {}
    for job in jobs:
        by_scheduler.setdefault(job.scheduler, []).append(job.job_id)
    for name, job_ids in by_scheduler.items():
        tasks.update(get_scheduler(name).states(job_ids))
    commits = {index: commit for index, (commit, _) in store.points(sweep.name).items()}
    for index, (job_id, task, since) in submitted.items():
        found = tasks.get((job_id, task))
        if index not in commits or found is None:
            continue
        run = latest.get(index)
        own = run if run is not None and run.job == f"{job_id}_{task}" else None  # the task's run of it
        if own is not None and (own.status in FINAL - {"interrupted"} or found.state == DONE):
            continue  # a final record the task (or an earlier reconcile) wrote
        if own is None and run is not None and run.status in FINAL and (run.started or 0) >= since:
            continue  # run again since, elsewhere
        if found.state in (PENDING, RUNNING):
            states[index] = (found.state, found.detail)
        else:  # ended: killed (time limit, memory, node) or cancelled, perhaps mid-run
            verdict = _Verdict(job_id, task, found.state, found.detail, roots.get(job_id, places.runs_root))
            states[index] = _record_verdict(store, sweep, index, commits[index], verdict, own)
    return states


def _runs_root(submission: str, places: Places) -> Path:
    """The runs root a submission used (from its submission.json), or the repository's."""
    try:
        return Path(json.loads((Path(submission) / SUBMISSION).read_text())["runs_root"])
    except (OSError, ValueError, KeyError):
        return places.runs_root


@dataclass(frozen=True)
class _Verdict:
    job_id: str
    task: int
    state: str
    detail: str
    runs_root: Path

    @property
    def job(self) -> str:
        return f"{self.job_id}_{self.task}"


def _record_verdict(
    store: Store, sweep: Sweep, index: int, commit: str, verdict: _Verdict, own: Run | None
) -> tuple[str, str]:
    """A task ended without a final record for this point (or, stopped mid-run, with ``interrupted``):
    record what the scheduler says happened, in the run's own directory when there is one."""
    status = _VERDICT[verdict.state]
    reason = f"array task {verdict.job} ended {verdict.detail or verdict.state}"
    if verdict.state == DONE:
        reason += " without finishing this point (is the runs root reachable from the nodes?)"
    if own is not None:
        final = replace(own, status=status, reason=reason)
        write_meta(final)
        store.amend_run(final)
        return status, reason
    folder = point_dir(verdict.runs_root, sweep.name, index, commit, sweep.count)
    mine = [r for r in unfinished_runs(folder) if r.job == verdict.job]
    if mine:
        run = mine[-1]
    else:
        attempt, run_dir = claim_attempt(folder)
        run = Run(sweep.name, index, commit, attempt, status, str(run_dir), job=verdict.job)
    final = replace(run, status=status, reason=reason, ended=run.ended or time.time())
    write_meta(final)
    store.ingest(final)
    return status, reason


def cancel_sweep(repo: Repository | Path | str = ".", sweep: str | None = None) -> list[str]:
    """Cancel every job of the sweep that is still queued or running; returns their ids."""
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    chosen = find_sweep(repo, sweep)
    _, store = open_store(repo)
    try:
        cancelled = []
        for job in store.jobs(chosen.name):
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
        store.mark_cancelled(chosen.name, cancelled)
        return cancelled
    finally:
        store.close()
