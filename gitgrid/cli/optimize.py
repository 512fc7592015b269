"""The ``optimize`` command: parses, calls the library, prints.

Progress goes to stderr, one line per batch; the answer to stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitgrid.cli.app import RUNS_ROOT_HELP, CommandAfterDashes, app, context_of, reported
from gitgrid.cli.runs import ARRAY_LIMIT_HELP, ON_HELP, OPT_HELP, parse_options
from gitgrid.launch.registry import LAUNCHERS

if TYPE_CHECKING:
    from gitgrid.optimize.session import OptimizePlan, OptimizeSummary

__all__ = ["Method", "optimize"]


class Method(StrEnum):  # gitgrid.optimize.methods.METHODS, in its order (a test keeps them equal)
    auto = "auto"
    cma = "cma"
    cmaes = "cmaes"
    cma_spsa = "cma-spsa"
    trust_region = "trust-region"
    spsa = "spsa"
    random = "random"
    optuna_tpe = "optuna-tpe"
    optuna_cmaes = "optuna-cmaes"


@app.command(cls=CommandAfterDashes)
@reported
def optimize(
    ctx: typer.Context,
    spec: Annotated[Path, typer.Argument(help="The spec: its params give the bounds and start.")],
    metric: Annotated[str, typer.Option(help="The metric to minimise (or --maximize).", show_default=False)],
    maximize: Annotated[bool, typer.Option("--maximize", help="Higher is better.")] = False,
    method: Annotated[
        Method, typer.Option(help="How points are chosen (auto: from the params, budget and noise).")
    ] = Method.auto,
    budget: Annotated[int, typer.Option(help="Evaluations (commits) at most, calibration included.")] = 100,
    parallel: Annotated[
        int, typer.Option(help="Runs at once: points per batch (SPSA: gradient samples, x2 runs).")
    ] = 1,
    on: Annotated[
        str, typer.Option("--on", "--scheduler", help=ON_HELP.format(", ".join(LAUNCHERS)))
    ] = "local",
    seed: Annotated[int | None, typer.Option(help="Seed of the method (default: chosen, recorded).")] = None,
    ftol: Annotated[float | None, typer.Option(help="SPSA: stop when the value settles within this.")] = None,
    param_tol: Annotated[
        float | None,
        typer.Option(help="SPSA: stop when no param moves more than this fraction of its range."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Branch (default: optimize-DATE).")] = None,
    branch: Annotated[str | None, typer.Option("--branch", "-b", help="Base ref (default: HEAD).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds before an evaluation is stopped.")] = None,
    build: Annotated[
        str | None, typer.Option(help="Shell command run in the checkout before every evaluation (make).")
    ] = None,
    setup: Annotated[
        str | None, typer.Option(help="Shell command run once in each checkout (a venv, pip install -e .).")
    ] = None,
    opt: Annotated[list[str] | None, typer.Option("--opt", help=OPT_HELP)] = None,
    array_limit: Annotated[int | None, typer.Option(help=ARRAY_LIMIT_HELP)] = None,
    poll: Annotated[float, typer.Option(help="Seconds between looks at a scheduler.")] = 5.0,
    runs_root: Annotated[Path | None, typer.Option(help=RUNS_ROOT_HELP)] = None,
    no_reuse: Annotated[
        bool,
        typer.Option(
            "--no-reuse",
            help="Run evaluations even when a stored success has the same run key: for a noisy command "
            "whose noise the files do not fix (a seed from the clock or GITGRID_INDEX).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the search and the sweep it would grow; run nothing.")
    ] = False,
) -> None:
    """Choose points by an optimiser (auto, CMA-ES, trust region, SPSA...): optimize SPEC --metric M -- CMD.

    Every evaluation is a commit on an optimize-DATE sweep, run like a grid's points; running the same
    command again continues an interrupted optimisation.
    """
    from gitgrid.launch.launcher import LaunchSettings
    from gitgrid.optimize.session import OptimizeOptions, plan_optimize, run_optimize
    from gitgrid.run.runner import RunOptions

    context = context_of(ctx)
    run = RunOptions(
        runs_root=context.path(runs_root) if runs_root else None,
        timeout=timeout,
        build=build,
        setup=setup,
        reuse=not no_reuse,
    )
    options = OptimizeOptions(
        metric=metric, maximize=maximize, method=method.value, budget=budget, parallel=parallel, seed=seed,
        ftol=ftol, param_tol=param_tol, name=name, base=branch, on=on, run=run,
        launch=LaunchSettings(parse_options(opt or []), array_limit, poll=poll),
    )  # fmt: skip
    plan = plan_optimize(context.path(spec), ctx.meta.get("gitgrid.command", []), options, context.repo())
    if dry_run:
        _print_plan(plan)
        return
    summary = run_optimize(plan, _progress(plan.name, metric), _chosen(plan.name, options.method))
    _print_summary(summary)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


def _progress(name: str, metric: str) -> Any:
    def show(done: int, budget: int, batch: Sequence[Any], values: Sequence[float]) -> None:
        first = batch[0]
        mean = sum(values) / len(values)
        print(
            f"{name}: {done}/{budget} evaluations · iteration {first.iteration} {first.role} · "
            f"mean {metric} {mean:.6g}",
            file=sys.stderr,
        )

    return show


def _chosen(name: str, method: str) -> Any:
    def show(choice: Any) -> None:
        if method == "auto":
            print(f"{name}: auto chose {choice.method}: {choice.reason}", file=sys.stderr)

    return show


def _print_plan(plan: OptimizePlan) -> None:
    what = "continue" if plan.existing is not None else "start"
    options = plan.options
    goal = "maximised" if options.maximize else "minimised"
    seed = plan.seed if options.seed is not None or plan.existing is not None else "new, recorded"
    print(f"would {what} {plan.name} on {plan.grower.base_ref} ({plan.grower.base[:10]}): {options.method}, "
          f"budget {options.budget}, {options.metric} {goal}, seed {seed}")  # fmt: skip
    if plan.existing is not None:
        print(f"  {plan.existing.count} evaluations recorded")
    if options.method == "auto":
        from gitgrid.optimize.session import auto_pick

        print(
            f"  auto: {auto_pick(plan.search, options.budget, options.parallel)}, once the start is measured"
        )
    for dim, start in zip(plan.search.box.dims, plan.search.start, strict=True):
        if dim.categorical:
            print(f"  {dim.name}: one of {list(dim.choices)}, from {start!r}")
        else:
            scale = " (log scale)" if dim.log else " (integers)" if dim.integer else ""
            print(f"  {dim.name}: [{dim.low}, {dim.high}]{scale}, from {start!r}")
    for param, value in plan.search.fixed.items():
        print(f"  {param} = {value!r} (fixed)")


def _print_summary(summary: OptimizeSummary) -> None:
    reused = f", {summary.reused} reused (stored runs of the same key)" if summary.reused else ""
    if summary.signal is not None:
        print(f"{summary.sweep}: stopped after {summary.evaluations} evaluations ({summary.ran} run now"
              f"{reused}); "
              "run the same command again to continue", file=sys.stderr)  # fmt: skip
        return
    before = " (finished before)" if summary.finished_before else ""
    answer = summary.answer or {}
    print(f"{summary.sweep}: {summary.evaluations} evaluations, {summary.ran} run now{reused}, "
          f"stopped by {answer.get('stopped')}{before}", file=sys.stderr)  # fmt: skip
    noise = answer.get("noise")
    measured = (
        "noise-free" if noise == 0 else f"noise sd {noise:.3g} at the start" if noise else "noise unknown"
    )
    why = f"chosen by auto: {answer['reason']}" if answer.get("reason") else measured
    print(f"{summary.sweep}: method {answer.get('method')} ({why})", file=sys.stderr)
    params = " ".join(f"{k}={v!r}" for k, v in answer.get("params", {}).items())
    checks = answer.get("checks", 1)  # several: the value is their mean, each a row of 'gitgrid results'
    mean = f" (mean of {checks} measurements of it)" if checks > 1 else ""
    print(f"{summary.metric} {answer.get('value')!r}{mean} at {params} (point {answer.get('index')}, "
          f"commit {str(answer.get('commit'))[:12]})")  # fmt: skip
    best = answer.get("best")
    if isinstance(best, dict) and best.get("index") != answer.get("index"):
        print(f"  best single measurement: {summary.metric} {best.get('value')!r} at point "
              f"{best.get('index')} (commit {str(best.get('commit'))[:12]}): one noisy reading, "
              "expect it to repeat worse")  # fmt: skip
