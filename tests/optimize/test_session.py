"""gitgrid optimize end to end on a real repository: convergence, every evaluation a commit read by the
other commands, resume after kill -9, the lock, and bad input that leaves nothing behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitgrid import find_sweep, open_repository
from gitgrid.query.tables import results
from tests.helpers import cli, git, gitgrid_command, make_repo, refs

# The optimum is at x = 1.2, y = -0.7; the noise (sd 0.01) is seeded by the point index, so that a run
# is the same whether or not it was interrupted.
OPT_SIM = """\
import json, os, random, time
ns = {}
exec(open("model.py").read(), ns)
index = int(os.environ["GITGRID_INDEX"])
time.sleep(float(os.environ.get("SIM_SLEEP", "0")))
if index == int(os.environ.get("SIM_FAIL_AT", "-1")) and not os.path.exists(os.environ["SIM_FIXED"]):
    raise SystemExit(3)
noise = float(os.environ.get("SIM_NOISE", "0.01"))
loss = (ns["x"] - 1.2) ** 2 + (ns["y"] + 0.7) ** 2 + (random.Random(index).gauss(0.0, noise) if noise else 0.0)
loss += 1.0 if ns.get("kind") == "b" else 0.0
json.dump({"loss": loss, "x_seen": ns["x"]}, open(os.environ["GITGRID_RESULT"], "w"))
"""
SPEC = """\
files: [model.py]
params:
  x: {range: [-3.0, 3.0], start: -2.0}
  y: {linspace: [-3.0, 3.0, 7], start: 1.5}
  z: 4
"""
TOLERANCE = 0.15  # of the known optimum, per param, after BUDGET evaluations
BUDGET = 120


def sim() -> list[str]:
    return [sys.executable, "sim.py"]


@pytest.fixture
def opt_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "opt", {"model.py": "x = 0.0\ny = 0.0\nz = 0\n", "sim.py": OPT_SIM})
    (repo / "spec.yaml").write_text(SPEC)
    return repo


def optimize(repo: Path, *args: str) -> tuple[int, str, str]:
    result = cli("optimize", "spec.yaml", "--metric", "loss", *args, "--", *sim(), repo=repo)
    return result.exit_code, result.stdout, result.stderr


def store_runs(repo: Path) -> list[tuple[int, int, str]]:
    """(point index, attempt, status) of every stored run."""
    with sqlite3.connect(repo / ".gitgrid/results.db") as db:
        return db.execute("SELECT idx, attempt, status FROM runs ORDER BY idx, attempt").fetchall()


def test_spsa_converges_to_the_known_optimum_and_every_evaluation_is_a_commit(opt_repo: Path) -> None:
    code, out, err = optimize(opt_repo, "--method", "spsa", "--budget", str(BUDGET), "--seed", "3")
    assert code == 0, err
    sweep = find_sweep(open_repository(opt_repo))
    assert sweep.name == "optimize-2026-11-18" and sweep.count == BUDGET
    answer = sweep.optimize["answer"] if sweep.optimize else {}
    params = answer["params"]
    assert abs(params["x"] - 1.2) < TOLERANCE and abs(params["y"] + 0.7) < TOLERANCE and params["z"] == 4
    checks = [r["loss"] for r in results(opt_repo).rows if r["index"] >= answer["index"]]
    assert answer["checks"] == len(checks) and answer["value"] == pytest.approx(sum(checks) / len(checks))
    mean = f" (mean of {len(checks)} measurements of it)" if len(checks) > 1 else ""
    assert f"loss {answer['value']!r}{mean} at x={params['x']!r}" in out
    assert answer["method"] == "spsa" and "reason" not in answer and 0.001 < answer["noise"] < 0.05
    assert "optimize-2026-11-18: method spsa (noise sd " in err
    # every evaluation: a commit of the base with the model rewritten, trailers as a grid point's plus two
    log = git(opt_repo, "log", "--format=%B%x00", f"master..{sweep.name}").split("\0")
    message = next(m for m in log if "Gitgrid-Role: theta+" in m)
    keys = [line.split(":")[0] for line in message.strip().splitlines()[2:]]
    assert keys == ["Gitgrid-Sweep", "Gitgrid-Index", "Gitgrid-Count", "Gitgrid-Base", "Gitgrid-Iteration",
                    "Gitgrid-Role", "Gitgrid-Params"]  # fmt: skip
    point = answer["commit"]
    assert git(opt_repo, "diff", "--stat", "master", point).strip().startswith("model.py | 6")
    assert git(opt_repo, "show", f"{point}:model.py") == f"x = {params['x']!r}\ny = {params['y']!r}\nz = 4\n"
    roles = [line for m in log for line in m.splitlines() if line.startswith("Gitgrid-Role")]
    assert roles.count("Gitgrid-Role: start") == 4 and "Gitgrid-Role: check" in roles
    # the other commands read it as any sweep
    table = results(opt_repo)
    assert len(table.rows) == BUDGET and all(row["x_seen"] == row["x"] for row in table.rows)
    assert "success      120" in cli("status", repo=opt_repo).stdout
    assert len(cli("list", repo=opt_repo).stdout.split()) == BUDGET


def test_auto_chooses_by_the_noise_measured_at_the_start_and_records_why(opt_repo: Path) -> None:
    code, out, err = optimize(opt_repo, "--budget", "40", "--seed", "1")
    assert code == 0, err
    record = find_sweep(open_repository(opt_repo)).optimize or {}
    choice, answer = record["choice"], record["answer"]
    assert choice["method"] == answer["method"] and choice["reason"] == answer["reason"]
    assert choice["reason"].startswith("noise (sd ") and "2 params, a budget of 40" in choice["reason"]
    assert f"optimize-2026-11-18: auto chose {choice['method']}: {choice['reason']}\n" in err
    rows = results(opt_repo).rows
    assert [r["index"] for r in rows[:4]] == [0, 1, 2, 3] and {r["x"] for r in rows[:4]} == {-2.0}
    best = min(rows, key=lambda r: r["loss"])
    assert answer["best"]["value"] == best["loss"] and answer["best"]["index"] == best["index"]
    assert answer["value"] > best["loss"]  # a mean of fresh measurements, not the lucky reading
    assert f"  best single measurement: loss {best['loss']!r} at point {best['index']} " in out


def test_cma_spsa_runs_from_the_command_line_and_every_evaluation_is_a_commit(opt_repo: Path) -> None:
    code, _, err = optimize(opt_repo, "--method", "cma-spsa", "--budget", "40", "--seed", "1")
    assert code == 0, err
    answer = (find_sweep(open_repository(opt_repo)).optimize or {})["answer"]
    rows = results(opt_repo).rows
    assert answer["method"] == "cma-spsa" and len(rows) == 40
    log = git(opt_repo, "log", "--format=%(trailers:key=Gitgrid-Role,valueonly)", "optimize-2026-11-18")
    assert set(log.split()) == {"start", "trial", "theta+", "theta-", "check"}  # CMA-ES, then SPSA


def test_without_noise_no_evaluation_is_repeated(opt_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_NOISE", "0")
    code, out, err = optimize(opt_repo, "--budget", "30", "--seed", "1")
    assert code == 0, err
    answer = (find_sweep(open_repository(opt_repo)).optimize or {})["answer"]
    rows = results(opt_repo).rows
    points = [(r["x"], r["y"]) for r in rows]
    assert points[0] == points[1] == (-2.0, 1.5) and len(set(points)) == len(points) - 1
    assert answer["noise"] == 0.0 and answer["value"] == min(r["loss"] for r in rows) < 1e-6
    assert "best single measurement" not in out and "method" in err and "noise-free" in err


def test_the_same_command_again_reports_the_answer_and_runs_nothing(opt_repo: Path) -> None:
    assert optimize(opt_repo, "--budget", "30", "--seed", "1")[0] == 0
    before = refs(opt_repo)
    code, _, err = optimize(opt_repo, "--budget", "30", "--seed", "1")
    assert code == 0 and "30 evaluations, 0 run now" in err and "(finished before)" in err
    assert refs(opt_repo) == before
    # another seed: a new optimisation (its noise is seeded by the point index, which the files do not
    # fix: with reuse it would be handed the first one's start values)
    code, _, err = optimize(opt_repo, "--budget", "30", "--seed", "2", "--no-reuse")
    assert code == 0 and "optimize-2026-11-18-2: 30 evaluations, 30 run now" in err


@pytest.mark.parametrize("method", ["auto", "cma", "cmaes"])  # auto runs the trust region here
def test_kill_9_then_run_again_finishes_without_repeating_an_evaluation(
    opt_repo: Path, tmp_path: Path, method: str
) -> None:
    settings = ("--method", method, "--budget", "40", "--seed", "5")
    command = [*gitgrid_command(), "optimize", "spec.yaml", "--metric", "loss", *settings, "--", *sim()]
    env = {**os.environ, "SIM_SLEEP": "0.3"}
    first = subprocess.Popen(
        command, cwd=opt_repo, env=env, stderr=subprocess.DEVNULL, start_new_session=False
    )
    deadline = time.monotonic() + 60
    while (
        not (opt_repo / ".gitgrid/results.db").exists()
        or sum(s == "success" for *_, s in store_runs(opt_repo)) < 12
    ):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = {i for i, _, s in store_runs(opt_repo) if s == "success"}
    code, _, err = optimize(opt_repo, *settings)
    assert code == 0, err
    runs = store_runs(opt_repo)
    successes = [i for i, _, s in runs if s == "success"]
    assert sorted(successes) == list(range(40))  # every evaluation once
    assert all(attempt == 1 for i, attempt, _ in runs if i in done_before)  # none run again
    # the same optimisation as one that was never interrupted: the same commits
    clean = make_repo(tmp_path / "clean", {"model.py": "x = 0.0\ny = 0.0\nz = 0\n", "sim.py": OPT_SIM})
    (clean / "spec.yaml").write_text(SPEC)
    assert optimize(clean, *settings)[0] == 0
    name = "optimize-2026-11-18"
    assert git(clean, "rev-parse", name) == git(opt_repo, "rev-parse", name)


def test_a_second_optimize_of_the_same_sweep_is_refused_while_one_runs(opt_repo: Path) -> None:
    command = [*gitgrid_command(), "optimize", "spec.yaml", "--metric", "loss", "--budget", "30", "--seed", "5",
               "--", *sim()]  # fmt: skip
    first = subprocess.Popen(command, cwd=opt_repo, env={**os.environ, "SIM_SLEEP": "0.3"},
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "optimize-2026-11-18" not in refs(opt_repo):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.1)
        code, _, err = optimize(opt_repo, "--budget", "30", "--seed", "5")
        assert code == 2
        assert f"'optimize-2026-11-18' is already being optimised by gitgrid (pid {first.pid})" in err
    finally:
        first.kill()
        first.wait()


def test_random_search_chooses_among_values_and_commits_each_trial(opt_repo: Path) -> None:
    (opt_repo / "model.py").write_text('x = 0.0\ny = 0.0\nz = 0\nkind = "a"\n')
    git(opt_repo, "commit", "-qam", "kind")
    (opt_repo / "spec.yaml").write_text(SPEC + "  kind: {values: [b, a], format: '\"{}\"'}\n")
    code, _, err = optimize(
        opt_repo, "--method", "random", "--budget", "25", "--parallel", "4", "--seed", "0"
    )
    assert code == 0, err
    rows = results(opt_repo).rows
    assert len(rows) == 25 and {r["kind"] for r in rows} == {"a", "b"}
    assert rows[0]["kind"] == "b" and rows[0]["x"] == -2.0  # the start comes first
    answer = find_sweep(open_repository(opt_repo)).optimize["answer"]  # type: ignore[index]
    best = min(rows, key=lambda r: r["loss"])
    assert answer["best"]["value"] == best["loss"] and answer["params"]["kind"] == "a"
    checks = [r["loss"] for r in rows[-answer["checks"] :]]  # the best-read point, measured again
    assert answer["checks"] > 1 and answer["value"] == pytest.approx(sum(checks) / len(checks))


@pytest.mark.parametrize(
    ("spec", "args", "message"),
    [
        (
            SPEC.replace("start: -2.0", "start: 9"),
            (),
            "spec.yaml:3: param 'x': start 9 lies outside its bounds",
        ),
        (
            SPEC.replace("linspace: [-3.0, 3.0, 7]", "linspace: [1.0, 1.0, 3]"),
            (),
            "spec.yaml:4: param 'y': its bounds [1.0, 1.0] must have min < max",
        ),
        (SPEC, ("--method", "spsa", "--budget", "6"), "--budget 6: spsa needs at least 7 evaluations here"),
        (SPEC, ("--method", "spsa", "--budget", "6"), "; --method auto would run trust-region"),
        (SPEC, ("--budget", "4"), "--budget 4: auto needs at least 5 evaluations here"),
        (
            SPEC + "  kind: [a, b]\n",
            ("--method", "spsa"),
            "param 'kind' is categorical (a 'values:' list): spsa searches numbers only; "
            "use --method auto or random or optuna-tpe or optuna-cmaes",
        ),
        (SPEC + "  kind: [a, b]\n", ("--method", "cma"), "spec.yaml:6: param 'kind' is categorical"),
        (SPEC, ("--seed", "-1"), "--seed -1: give a whole number, 0 or more"),
        (SPEC, ("--param-tol", "inf"), "--param-tol inf: give a positive, finite number"),
        (SPEC, ("--ftol", "nan"), "--ftol nan: give a positive, finite number"),
        (SPEC + "where: x > 0\n", (), "'where' shapes a grid"),
        (SPEC, ("--on", "nowhere"), "--on nowhere: unknown (known: local, slurm, "),
        (SPEC, ("--method", "random", "--ftol", "0.1"), "--ftol and --param-tol stop SPSA"),
        (SPEC, ("--timeout", "nan"), "--timeout nan: give a positive, finite number of seconds"),
        (SPEC, ("--timeout", "-5"), "--timeout -5.0: give a positive, finite number of seconds"),
        (SPEC, ("--name", "gitgrid/x"), "'gitgrid/x' is not a valid sweep name"),
        (SPEC, ("--name", "HEAD"), "'HEAD' is not a valid sweep name"),
        (SPEC, ("--name", "tags/x"), "'tags/x' is not a valid sweep name"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_is_created(
    opt_repo: Path, spec: str, args: tuple[str, ...], message: str
) -> None:
    (opt_repo / "spec.yaml").write_text(spec)
    before = refs(opt_repo)
    code, out, err = optimize(opt_repo, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert refs(opt_repo) == before and not (opt_repo / ".gitgrid").exists()


def test_a_metric_the_command_never_reports_is_undone(opt_repo: Path) -> None:
    before = refs(opt_repo)
    result = cli("optimize", "spec.yaml", "--metric", "accuracy", "--", *sim(), repo=opt_repo)
    assert result.exit_code == 2
    assert result.stderr == (
        "gitgrid: error: --metric accuracy: the command reported no 'accuracy' "
        "(it reported: loss, x_seen); nothing was kept\n"
    )
    assert refs(opt_repo) == before
    assert store_runs(opt_repo) == [] and not list((opt_repo / ".gitgrid/runs").iterdir())


def test_dry_run_shows_the_search_and_writes_nothing(opt_repo: Path) -> None:
    code, out, _ = optimize(opt_repo, "--dry-run", "--seed", "4")
    assert code == 0
    assert out.splitlines() == [
        "would start optimize-2026-11-18 on master (" + git(opt_repo, "rev-parse", "master")[:10]
        + "): auto, budget 100, loss minimised, seed 4",
        "  auto: trust-region, once the start is measured",
        "  x: [-3.0, 3.0], from -2.0",
        "  y: [-3.0, 3.0], from 1.5",
        "  z = 4 (fixed)",
    ]  # fmt: skip
    _, out, _ = optimize(opt_repo, "--dry-run", "--budget", "200")  # auto's choice then hangs on the noise
    assert "  auto: trust-region (noise-free) or cmaes (with noise), once the start is measured\n" in out
    assert not (opt_repo / ".gitgrid").exists()


def test_a_failing_evaluation_stops_and_the_rerun_retries_it(
    opt_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_FAIL_AT", "5")
    monkeypatch.setenv("SIM_FIXED", str(tmp_path / "fixed"))
    code, _, err = optimize(opt_repo, "--budget", "20", "--seed", "2")
    assert code == 1
    assert "evaluation 5 of 'optimize-2026-11-18' failed (exit status 3)" in err, err
    assert "run the same command again to retry it" in err
    (tmp_path / "fixed").write_text("")
    code, _, err = optimize(opt_repo, "--budget", "20", "--seed", "2")
    assert code == 0, err
    runs = store_runs(opt_repo)
    assert [(a, s) for i, a, s in runs if i == 5] == [(1, "failed"), (2, "success")]
    assert [i for i, a, s in runs if i != 5] == [i for i in range(20) if i != 5]


@pytest.mark.parametrize("stored", ["as failed", "as success (an older gitgrid)"])
def test_a_nan_evaluation_stops_and_the_rerun_retries_it(
    opt_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored: str
) -> None:
    """A metric that is NaN is no value to optimise (#17): one line, exit 1; the same command, once the
    cause is fixed, runs that evaluation again, also from a store an older gitgrid left holding the NaN
    as a success (which every resume would otherwise replay)."""
    nan_sim = tmp_path / "nan_sim.py"
    nan_sim.write_text(
        "import json, os, runpy\n"
        "if os.environ['GITGRID_INDEX'] == '5' and not os.path.exists(os.environ['SIM_FIXED']):\n"
        "    json.dump({'loss': float('nan')}, open(os.environ['GITGRID_RESULT'], 'w'))\n"
        "else:\n"
        "    runpy.run_path('sim.py')\n"
    )
    monkeypatch.setenv("SIM_FIXED", str(tmp_path / "fixed"))
    command = ["optimize", "spec.yaml", "--metric", "loss", "--budget", "20", "--seed", "2", "--"]
    result = cli(*command, sys.executable, str(nan_sim), repo=opt_repo)
    errors = [line for line in result.stderr.splitlines() if line.startswith("gitgrid: error: ")]
    assert result.exit_code == 1 and len(errors) == 1, result.output
    assert (
        "evaluation 5 of 'optimize-2026-11-18' reported loss = nan: not a number to optimise" in result.stderr
    )
    assert "run the same command again to retry it" in result.stderr and "Traceback" not in result.stderr
    if stored != "as failed":
        with sqlite3.connect(opt_repo / ".gitgrid/results.db") as db:
            db.execute("UPDATE runs SET status = 'success', reason = NULL WHERE idx = 5")
            db.execute("UPDATE points SET state = 'success', success_run = latest_run WHERE idx = 5")
    (tmp_path / "fixed").write_text("")
    result = cli(*command, sys.executable, str(nan_sim), repo=opt_repo)
    assert result.exit_code == 0, result.output
    runs = store_runs(opt_repo)
    assert [(a, s) for i, a, s in runs if i == 5] == [(1, "failed"), (2, "success")]
