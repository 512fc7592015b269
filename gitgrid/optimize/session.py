"""``gitgrid optimize``: an optimisation whose every evaluation is a commit on its own sweep.

The sweep (branch ``optimize-<date>``, or ``--name``) grows by one batch of commits per iteration, each
run like a grid's points, so ``results``, ``status``, ``list`` and ``report`` read it as they read any
sweep. Its record (the tag) holds the optimisation's settings and, once it finished, its answer.

Running the same command again continues the newest unfinished optimisation with the same spec, base
and settings (an unseeded one was given a seed when it started, which is recorded): the method is
replayed from the recorded values, and only evaluations without a result are run (see
:mod:`gitgrid.optimize.evaluations`). A lock refuses a second ``optimize`` of the same sweep while one
runs. Every check of the input comes before anything is written; a metric the command never reports is
only known once the first runs ended, so then the branch, its tag, its rows in the store and its run
folders are removed again.
"""

from __future__ import annotations

import math
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitgrid.errors import OptimizeError, SpecError, SweepError
from gitgrid.git.repository import Repository, open_repository
from gitgrid.launch.launcher import LaunchSettings
from gitgrid.launch.registry import LAUNCHERS, get_launcher
from gitgrid.layout import Layout
from gitgrid.optimize.auto import AUTO, Choice, choose, smallest_budget
from gitgrid.optimize.evaluations import CommitEvaluator, MetricMissing, Runner, Stopped, recorded
from gitgrid.optimize.history import Request, Result, drive
from gitgrid.optimize.ledger import Noise
from gitgrid.optimize.methods import CATEGORICAL_METHODS, METHODS, categorical_problem, method_steps
from gitgrid.optimize.search import Search, search_space
from gitgrid.optimize.stochastic import SpsaSettings
from gitgrid.run.locks import Held, hold
from gitgrid.run.runner import RunOptions, check_options
from gitgrid.spec.model import Spec
from gitgrid.spec.reader import load_spec
from gitgrid.spec.values import Value
from gitgrid.store import open_store
from gitgrid.sweep.append import Grower, delete_sweep, plan_growth, retag
from gitgrid.sweep.catalog import list_sweeps
from gitgrid.sweep.record import Sweep

__all__ = [
    "OptimizeOptions",
    "OptimizePlan",
    "OptimizeSummary",
    "Progress",
    "auto_pick",
    "optimize_sweep",
    "plan_optimize",
    "run_optimize",
]

MAX_BUDGET = 100_000  # run folders are numbered in five digits up to here
Progress = Callable[[int, int, Sequence[Request], Sequence[float]], None]  # done, budget, batch, values


@dataclass(frozen=True)
class OptimizeOptions:
    """How to optimise; the CLI's options, one for one."""

    metric: str
    maximize: bool = False
    method: str = AUTO
    budget: int = 100
    parallel: int = 1  # SPSA: gradient samples per iteration (2x as many evaluations); others: trials
    seed: int | None = None
    ftol: float | None = None
    param_tol: float | None = None
    name: str | None = None
    base: str | None = None
    on: str = "local"  # the launcher of every evaluation (gitgrid.launch.registry)
    run: RunOptions = field(default_factory=RunOptions)  # --build, --setup, --timeout, runs root
    launch: LaunchSettings = field(default_factory=LaunchSettings)  # --opt, --array-limit, --poll

    @property
    def runs_root(self) -> Path | None:
        return self.run.runs_root

    def check(self) -> None:
        if not self.metric:
            raise OptimizeError("--metric: name the metric to optimise")
        if self.method not in METHODS:
            raise OptimizeError(f"--method {self.method}: unknown (known: {', '.join(METHODS)})")
        if self.on not in LAUNCHERS:
            raise OptimizeError(f"--on {self.on}: unknown (known: {', '.join(LAUNCHERS)})")
        run = self.run
        if run.where or run.rerun or run.halt_after is not None or run.jobs is not None or run.retry_failed:
            raise OptimizeError(
                "optimize chooses its points and runs each once, --parallel at a time: "
                "--where, --rerun, --retry-failed, --halt-after and -j are for grids"
            )
        if self.parallel < 1:
            raise OptimizeError(f"--parallel {self.parallel}: at least 1")
        if self.budget > MAX_BUDGET:
            raise OptimizeError(
                f"--budget {self.budget}: at most {MAX_BUDGET} (run folders have five digits)"
            )
        check_options(("optimize",), run)
        get_launcher(self.on, self.launch)  # its settings checked before anything is written
        for flag, tolerance in (("--ftol", self.ftol), ("--param-tol", self.param_tol)):
            if tolerance is not None and not (tolerance > 0 and math.isfinite(tolerance)):
                raise OptimizeError(f"{flag} {tolerance}: give a positive, finite number")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise OptimizeError(f"--seed {self.seed}: give a whole number, 0 or more (below 2**63)")
        if (self.ftol is not None or self.param_tol is not None) and self.method != "spsa":
            raise OptimizeError(
                "--ftol and --param-tol stop SPSA (--method spsa); the other methods use the whole budget"
            )

    def check_budget(self, search: Search) -> None:
        """A budget too small for the method, said before anything runs, with what ``auto`` would pick."""
        least = smallest_budget(self.method, self.parallel, self.spsa())
        if self.budget >= least:
            return
        instead = ""
        if self.method != AUTO and self.budget >= smallest_budget(AUTO, self.parallel):
            instead = f"; --method auto would run {auto_pick(search, self.budget, self.parallel)}"
        raise OptimizeError(
            f"--budget {self.budget}: {self.method} needs at least {least} evaluations here "
            f"(the start's measurements, one step and its answer){instead}"
        )

    def spsa(self) -> SpsaSettings:
        return SpsaSettings(gradient_samples=self.parallel, ftol=self.ftol, param_tol=self.param_tol)

    def settings(self, seed: int) -> dict[str, Any]:
        """What makes two optimisations the same one (with the spec and the base)."""
        keys = ("metric", "maximize", "method", "budget", "parallel", "ftol", "param_tol")
        return {**{k: getattr(self, k) for k in keys}, "seed": seed}


@dataclass(frozen=True)
class OptimizeSummary:
    """What a call of :func:`optimize_sweep` did, and the answer once there is one."""

    sweep: str
    metric: str
    evaluations: int
    ran: int  # evaluations run by this call
    answer: Mapping[str, Any] | None = None  # params, value, index, commit, stopped, iterations
    finished_before: bool = False
    signal: int | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    reused: int = 0  # evaluations a stored run of the same key answered: recorded as reused, not run

    @property
    def exit_code(self) -> int:
        return 128 + self.signal if self.signal is not None else 0


@dataclass(frozen=True)
class OptimizePlan:
    """Everything decided before the first evaluation: the search, the sweep, the seed."""

    grower: Grower
    search: Search
    options: OptimizeOptions
    command: tuple[str, ...]
    seed: int
    existing: Sweep | None  # the optimisation this continues, if any

    @property
    def name(self) -> str:
        return self.grower.name

    @property
    def finished(self) -> bool:
        return self.existing is not None and bool((self.existing.optimize or {}).get("answer"))


def plan_optimize(
    spec: Spec | Path | str,
    command: Sequence[str],
    options: OptimizeOptions,
    repo: Repository | Path | str = ".",
) -> OptimizePlan:
    """Check everything (options, spec, targets, method, budget, start) and choose the sweep; writes
    nothing."""
    if not command or not command[0]:
        raise OptimizeError("no command given: gitgrid optimize SPEC --metric NAME -- CMD [ARGS...]")
    options.check()
    spec = spec if isinstance(spec, Spec) else load_spec(Path(spec))
    search = search_space(spec)
    _check_categorical(spec, search, options.method)
    options.check_budget(search)
    method_steps(options.method, search.box, search.start, options.budget, 0, parallel=options.parallel,
                 settings=options.spsa())  # checks every argument, runs nothing  # fmt: skip
    repo = repo if isinstance(repo, Repository) else open_repository(repo)
    base = repo.resolve_commit(options.base or spec.base or repo.head_ref())
    existing = _existing(repo, spec, base, options)
    name = existing.name if existing is not None else options.name or _new_name(repo)
    grower = plan_growth(repo, spec, name, options.budget, options.base)
    return OptimizePlan(grower, search, options, tuple(command), _seed(options, existing), existing)


def auto_pick(search: Search, budget: int, parallel: int) -> str:
    """What ``auto`` would run for ``search``, before the noise is known: one method, or one for each case."""
    free = choose(search.box, budget, Noise((0.0, 0.0)), parallel).method
    noisy = choose(search.box, budget, Noise((0.0, 1.0)), parallel).method
    return free if free == noisy else f"{free} (noise-free) or {noisy} (with noise)"


def _check_categorical(spec: Spec, search: Search, method: str) -> None:
    """A categorical param the method cannot search, named where the spec gives it."""
    if method in CATEGORICAL_METHODS:
        return
    categorical = {d.name for d in search.box.dims if d.categorical}
    for param in spec.params:
        if param.name in categorical:
            raise SpecError(f"{spec.source}:{param.line}: param '{param.name}' {categorical_problem(method)}")


def optimize_sweep(
    spec: Spec | Path | str,
    command: Sequence[str],
    options: OptimizeOptions,
    repo: Repository | Path | str = ".",
    on_batch: Progress | None = None,
) -> OptimizeSummary:
    """Optimise ``options.metric`` of ``command`` over the params of ``spec`` (see the module)."""
    return run_optimize(plan_optimize(spec, command, options, repo), on_batch)


def run_optimize(
    plan: OptimizePlan, on_batch: Progress | None = None, on_choice: Callable[[Choice], None] | None = None
) -> OptimizeSummary:
    """Carry out ``plan``: continue or start the optimisation, under its lock, until it has an answer."""
    if plan.existing is not None and plan.finished:
        return _summary(plan.existing, plan.existing.count, 0, finished_before=True)
    layout = Layout.of(plan.grower.repo, plan.options.runs_root)
    layout.locks.mkdir(parents=True, exist_ok=True)
    try:
        with hold(layout.optimize_lock(plan.name)):
            return _optimize(
                plan.grower, plan.search, plan.command, plan.options, plan.seed, on_batch, on_choice
            )
    except Held as held:
        raise OptimizeError(
            f"'{plan.name}' is already being optimised by gitgrid (pid {held.holder}); "
            "wait for it or stop it, then run again: finished evaluations are kept"
        ) from None


def _optimize(
    grower: Grower,
    search: Search,
    command: Sequence[str],
    options: OptimizeOptions,
    seed: int,
    on_batch: Progress | None,
    on_choice: Callable[[Choice], None] | None,
) -> OptimizeSummary:
    repo = grower.repo
    sweep = next((s for s in list_sweeps(repo) if s.name == grower.name), None)  # again, under the lock
    record: dict[str, Any] = {"settings": options.settings(seed)}
    jobs = _jobs(options.method, options.parallel)
    run = replace(options.run, jobs=jobs, retry_failed=True)  # a failed evaluation runs again on resume
    runner = Runner(tuple(command), get_launcher(options.on, options.launch), run)
    evaluator = CommitEvaluator(grower, search, options.metric, runner, sweep, record)

    def announce(choice: Choice) -> None:  # once the start is measured: recorded with the next commits
        if options.method == AUTO:
            record["choice"] = {"method": choice.method, "reason": choice.reason}
        evaluator.runner = replace(runner, options=replace(run, jobs=_jobs(choice.method, options.parallel)))
        if on_choice is not None:
            on_choice(choice)

    steps = method_steps(
        options.method, search.box, search.start, options.budget, seed, parallel=options.parallel,
        settings=options.spsa(), maximize=options.maximize, replay=[r.x for r in evaluator.held],
        announce=announce,
    )  # fmt: skip

    def evaluate(batch: Sequence[Request]) -> list[float]:
        values = evaluator(batch)
        if on_batch is not None:
            on_batch(evaluator.done, options.budget, batch, values)
        return values

    try:
        result = drive(steps, evaluate)
    except MetricMissing as exc:
        _undo(repo, evaluator.sweep, options.runs_root)
        raise MetricMissing(f"{exc}; nothing was kept") from None
    except Stopped as stop:
        assert evaluator.sweep is not None
        return _summary(
            evaluator.sweep, evaluator.done, evaluator.ran, signal=stop.signum, reused=evaluator.reused
        )
    assert evaluator.sweep is not None
    answer = _answer(repo, evaluator.sweep, search, result)
    finished = retag(repo, evaluator.sweep, {**record, "answer": answer})
    repo.maintain()
    return _summary(finished, finished.count, evaluator.ran, reused=evaluator.reused)


def _jobs(method: str, parallel: int) -> int:
    """Evaluations run at once: SPSA's batch is ``parallel`` pairs, the other methods' ``parallel`` points."""
    return parallel * (2 if method == "spsa" else 1)


def _existing(repo: Repository, spec: Spec, base: str, options: OptimizeOptions) -> Sweep | None:
    """The optimisation to continue: ``--name``'s, or the newest one with the same spec, base and
    settings (any seed, unless one is given)."""
    sweeps = list_sweeps(repo)
    if options.name is not None:
        named = next((s for s in sweeps if s.name == options.name), None)
        if named is not None and not _same(named, spec, base, options):
            raise SweepError(
                f"sweep '{options.name}' exists and is not this optimisation (other spec, base or settings); "
                "choose another --name"
            )
        return named
    return next((s for s in sweeps if _same(s, spec, base, options)), None)


def _same(sweep: Sweep, spec: Spec, base: str, options: OptimizeOptions) -> bool:
    if not sweep.optimize or sweep.spec_text != spec.text or sweep.base != base:
        return False
    recorded_settings = dict(sweep.optimize.get("settings", {}))
    seed = recorded_settings.get("seed")
    if not isinstance(seed, int):
        return False
    wanted = options.settings(seed if options.seed is None else options.seed)
    return bool(recorded_settings == wanted)


def _seed(options: OptimizeOptions, existing: Sweep | None) -> int:
    if options.seed is not None:
        return options.seed
    if existing is not None and existing.optimize:
        return int(existing.optimize["settings"]["seed"])
    return secrets.randbelow(2**31)  # recorded, so that the optimisation can be replayed to continue


def _new_name(repo: Repository) -> str:
    first = "optimize-" + repo.ident("COMMITTER").when.strftime("%Y-%m-%d")
    taken = {s.name for s in list_sweeps(repo)}
    for number in range(1, 10_000):
        name = first if number == 1 else f"{first}-{number}"
        if name not in taken and not repo.ref_exists(f"refs/heads/{name}"):
            return name
    raise SweepError(f"too many sweeps named {first}-N: choose one with --name")  # pragma: no cover


def _answer(repo: Repository, sweep: Sweep, search: Search, result: Result) -> dict[str, Any]:
    """The answer as recorded: its params, value, the first evaluation of it (its commit), the method
    that ran, the noise measured, and the best single measurement."""
    held = recorded(repo, sweep, search)
    position = next(i for i, e in enumerate(result.history) if e.x == result.x)
    params: dict[str, Value] = dict(zip(search.spec.names, search.values(result.x), strict=True))
    at = [e for e in result.history if e.x == result.x]
    checks = [e for e in at if e.role == "check"] or at
    averaged = len(checks) if result.noise and math.isclose(
        result.value, math.fsum(e.value for e in checks) / len(checks), rel_tol=1e-12, abs_tol=0.0
    ) else 1  # fmt: skip
    answer = {
        "params": params, "value": result.value, "checks": averaged, "index": held[position].index,
        "commit": held[position].commit, "stopped": result.stopped, "iterations": result.iterations,
        "method": result.method, "noise": result.noise, "settings": dict(result.settings),
    }  # fmt: skip
    if result.reason:
        answer["reason"] = result.reason
    if result.best is not None and result.noise:
        best = held[result.history.index(result.best)]
        answer["best"] = {"params": dict(zip(search.spec.names, search.values(result.best.x), strict=True)),
                          "value": result.best.value, "index": best.index, "commit": best.commit}  # fmt: skip
    return answer


def _summary(sweep: Sweep, evaluations: int, ran: int, finished_before: bool = False,
             signal: int | None = None, reused: int = 0) -> OptimizeSummary:  # fmt: skip
    optimize = dict(sweep.optimize or {})
    settings = optimize.get("settings", {})
    return OptimizeSummary(sweep.name, settings.get("metric", ""), evaluations, ran, optimize.get("answer"),
                           finished_before, signal, settings, reused)  # fmt: skip


def _undo(repo: Repository, sweep: Sweep | None, runs_root: Path | None) -> None:
    """Remove an optimisation that never produced a value: branch and tag, store rows, run folders."""
    if sweep is None:
        return
    delete_sweep(repo, sweep)
    layout, store = open_store(repo, runs_root)
    try:
        store.sweeps.forget(sweep.name)
    finally:
        store.close()
    shutil.rmtree(layout.sweep_runs(sweep.name), ignore_errors=True)
