"""Builds that rebuild nothing are caught (#16): a C model whose Makefile ignores the file the sweep
rewrites fails its stale points with `--build make`, runs right with `--clean-build` and with `make -B`, is
refused with `--setup make`; a model that reads its params at run time raises no false alarm."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from gitgrid import create_sweep
from gitgrid.query.tables import results
from gitgrid.run import checkouts
from gitgrid.run.runner import RunOptions, SetupRefused, run_sweep
from gitgrid.run.stale import Trace, Tracer
from tests.helpers import cli, make_repo

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None or shutil.which("make") is None, reason="needs a C compiler and make"
)

# The molecular-dynamics code of the report: src/in.parameters is a make include that becomes -D flags,
# and the target depends on the source alone, so make says "'tiny_md' is up to date" for every point
# after a worker's first.
TINY_MD = {
    "src/in.parameters": "# the model's parameters, compiled in\nN = 10\nDT = 0.5\n",
    "src/Makefile": "include in.parameters\nCFLAGS = -DN=$(N) -DDT=$(DT)\n\n"
    "tiny_md: tiny_md.c\n\tcc $(CFLAGS) -o tiny_md tiny_md.c\n",
    "src/tiny_md.c": "#include <stdio.h>\n#include <stdlib.h>\nint main(void) {\n"
    '    FILE *out = fopen(getenv("GITGRID_RESULT"), "w");\n'
    '    fprintf(out, "{\\"n\\": %d, \\"dt\\": %g}\\n", N, DT);\n    return fclose(out);\n}\n',
    "run.sh": "#!/bin/sh\nexec src/tiny_md\n",
    ".gitignore": "src/tiny_md\n",
}
TINY_SPEC = "files: [src/in.parameters]\nparams:\n  N: [10, 20, 30]\n  DT: [0.5, 0.25, 0.125, 0.0625]\n"
BUILD = "make -C src tiny_md"
STALE = (
    "stale build: the build has read src/in.parameters, which this point changed, and wrote nothing in "
    "the checkout, so the command would run a program built for another point's values; rebuild every "
    "point (make -B), make the target depend on src/in.parameters (in the Makefile), or give "
    "--clean-build (git clean -fdx before each build)"
)


def swept_model(folder: Path, files: dict[str, str], spec: str) -> Path:
    repo = make_repo(folder, files)
    for name in files:
        if name.endswith(".sh"):
            (repo / name).chmod(0o755)
    from tests.helpers import git

    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "executable scripts")
    (repo / "spec.yaml").write_text(spec)
    create_sweep(repo / "spec.yaml", repo)
    return repo


def own_values(repo: Path, seen: tuple[str, str], names: tuple[str, str]) -> int:
    """How many points succeeded; each success must have run the program of its own values."""
    rows = results(repo).rows
    for row in rows:
        assert (row[seen[0]], row[seen[1]]) == (row[names[0]], row[names[1]]), row
    return len(rows)


@pytest.fixture
def tiny_md(tmp_path: Path) -> Path:
    return swept_model(tmp_path / "tiny_md", TINY_MD, TINY_SPEC)


def test_a_makefile_that_ignores_the_swept_include_is_caught(tiny_md: Path) -> None:
    """The test of record: 10 of 12 points ran another point's binary, all 'success'. Now each worker's
    first point builds and runs; every later one fails as stale, naming the file and the fixes."""
    ran = cli("run", "-j", "2", "--build", BUILD, "--", "./run.sh", repo=tiny_md)
    assert ran.exit_code == 1
    assert "2 succeeded, 10 failed" in ran.stderr
    assert re.search(rf"^first failure: point \d+: {re.escape(STALE)}$", ran.stderr, re.MULTILINE)
    rows = results(tiny_md, include_all=True).rows
    assert [r["status"] for r in rows].count("success") == 2
    for row in rows:
        if row["status"] == "failed":
            meta = next((tiny_md / ".gitgrid/runs").glob(f"*/{row['index']:05d}-*/attempt-1/meta.json"))
            assert json.loads(meta.read_text())["reason"] == STALE
            assert "is up to date" in (meta.parent / "build.log").read_text()
            assert not (meta.parent / "stdout.log").exists()  # the stale program never ran
    assert own_values(tiny_md, ("n", "dt"), ("N", "DT")) == 2
    report = cli("status", repo=tiny_md).stdout
    assert f"10 points: failed: {STALE} (points " in report


def test_clean_build_and_make_b_build_every_point_from_its_own_values(tiny_md: Path) -> None:
    cleaned = cli("run", "-j", "2", "--clean-build", "--build", BUILD, "--", "./run.sh", repo=tiny_md)
    assert cleaned.exit_code == 0, cleaned.output
    assert own_values(tiny_md, ("n", "dt"), ("N", "DT")) == 12
    forced = cli(
        "run", "-j", "2", "--rerun", "--build", "make -B -C src tiny_md", "--", "./run.sh", repo=tiny_md
    )
    assert forced.exit_code == 0, forced.output
    assert own_values(tiny_md, ("n", "dt"), ("N", "DT")) == 12
    assert {r["attempt"] for r in results(tiny_md).rows} == {2}
    alone = cli("run", "--clean-build", "--", "./run.sh", repo=tiny_md)
    assert alone.exit_code == 2
    assert alone.stderr.splitlines()[-1] == (
        "gitgrid: error: --clean-build cleans the checkout before each --build: give --build too"
    )


def test_setup_that_reads_the_swept_file_is_refused_before_any_point(tiny_md: Path) -> None:
    """The same trap with --setup make (7 of 8 points ran a binary built for another point): refused,
    exit 2, naming the file and pointing to --build; nothing run."""
    refused = cli("run", "-j", "2", "--setup", BUILD, "--", "./run.sh", repo=tiny_md)
    assert refused.exit_code == 2
    assert refused.stderr.splitlines()[-1] == (
        f"gitgrid: error: --setup '{BUILD}' read src/in.parameters, which the sweep rewrites for every "
        "point: --setup runs once per worker, so what it makes from that file would keep one point's "
        f"values for every later point; give it as --build '{BUILD}' (run before every point, after "
        "the point's files changed), and keep --setup for what no param changes (a venv, pip install -e .)"
    )
    assert {r["status"] for r in results(tiny_md, include_all=True).rows} == {"never run"}
    assert not list(tiny_md.glob(".git/gitgrid/worktrees/w*.setup.json"))  # refused again next time
    # what --setup is for still runs: writing into the checkout, reading files the sweep does not rewrite
    setup = "mkdir -p venv && cp src/tiny_md.c venv/ && echo made > venv/marker"
    forced = "make -B -C src tiny_md"
    ok = cli("run", "-j", "2", "--setup", setup, "--build", forced, "--", "./run.sh", repo=tiny_md)
    assert ok.exit_code == 0, ok.output
    assert own_values(tiny_md, ("n", "dt"), ("N", "DT")) == 12
    both = cli("run", "--setup", setup, "--build", BUILD, "--clean-build", "--", "./run.sh", repo=tiny_md)
    assert both.exit_code == 2 and "--clean-build removes everything untracked" in both.stderr


def test_setup_is_refused_even_where_its_program_is_up_to_date(tmp_path: Path) -> None:
    """A checkout that already holds the program built from the tip's values: make would say "up to
    date" and open nothing; the swept files are touched before a setup, as a move leaves them, so a
    Makefile that names them rebuilds, and the setup is seen reading them."""
    files = {**HEADER, "Makefile": "prog: main.c model.h\n\tcc -o prog main.c\n"}
    repo = swept_model(tmp_path / "header", files, "files: [model.h]\nparams:\n  GAIN: [1.5, 2.5, 3.5]\n")
    tip = run_sweep(["./prog"], repo=repo, options=RunOptions(jobs=1, build="make", where="GAIN == 3.5"))
    assert tip.state.succeeded == 1  # worker 0 is at the tip, its prog built from the tip's values
    with pytest.raises(SetupRefused, match=r"^--setup 'make' read model.h, which the sweep rewrites"):
        run_sweep(["./prog"], repo=repo, options=RunOptions(jobs=1, setup="make"))


# A model that reads its params at run time: the binary does not depend on them, the build never opens
# the file, and a build that does nothing for a point is right.
RUNTIME = {
    "params.ini": "[model]\nrate = 1.5\nsteps = 10\n",
    "model.c": "#include <stdio.h>\n#include <stdlib.h>\nint main(void) {\n"
    "    double rate = 0; int steps = 0; char key[32]; double value;\n"
    '    FILE *in = fopen("params.ini", "r"); char line[128];\n'
    "    while (fgets(line, sizeof line, in))\n"
    '        if (sscanf(line, "%31s = %lf", key, &value) == 2) {\n'
    "            if (key[0] == 'r') rate = value; else steps = (int)value; }\n"
    '    FILE *out = fopen(getenv("GITGRID_RESULT"), "w");\n'
    '    fprintf(out, "{\\"seen_rate\\": %g, \\"seen_steps\\": %d}\\n", rate, steps);\n'
    "    return fclose(out);\n}\n",
    "Makefile": "model: model.c\n\tcc -o model model.c\n",
    ".gitignore": "model\n",
}
RUNTIME_SPEC = "files: [params.ini]\nparams:\n  rate: [1.5, 2.5, 3.5]\n  steps: [10, 20]\n"


def test_a_model_that_reads_its_params_at_run_time_raises_no_false_alarm(tmp_path: Path) -> None:
    repo = swept_model(tmp_path / "runtime", RUNTIME, RUNTIME_SPEC)
    ran = cli("run", "-j", "2", "--build", "make", "--", "./model", repo=repo)
    assert ran.exit_code == 0, ran.output
    assert own_values(repo, ("seen_rate", "seen_steps"), ("rate", "steps")) == 6
    logs = [p.read_text() for p in (repo / ".gitgrid/runs").glob("*/*/attempt-1/build.log")]
    assert sum("is up to date" in log for log in logs) == 4  # built once per worker, right every time
    again = cli("run", "-j", "1", "--rerun", "--build", "make", "--", "./model", repo=repo)
    assert again.exit_code == 0, again.output


# A header the compiler reads but the Makefile does not name: make never opens it again once the program
# exists, yet the first build's compiler did, and the checkout's record remembers that.
HEADER = {
    "model.h": "#define GAIN 1.0\n",
    "main.c": '#include <stdio.h>\n#include <stdlib.h>\n#include "model.h"\nint main(void) {\n'
    '    FILE *out = fopen(getenv("GITGRID_RESULT"), "w");\n'
    '    fprintf(out, "{\\"seen_gain\\": %g, \\"seen_unused\\": %g}\\n", GAIN, 0.0);\n'
    "    return fclose(out);\n}\n",
    "Makefile": "prog: main.c\n\tcc -o prog main.c\n",
    ".gitignore": "prog\n",
}


def test_a_header_missing_from_the_makefile_is_caught_across_runs(tmp_path: Path) -> None:
    repo = swept_model(tmp_path / "header", HEADER, "files: [model.h]\nparams:\n  GAIN: [1.5, 2.5, 3.5]\n")
    first = run_sweep(["./prog"], repo=repo, options=RunOptions(jobs=1, build="make"))
    assert (first.state.succeeded, first.state.failed) == (1, 2)
    assert [r["status"] for r in results(repo, include_all=True).rows] == ["success", "failed", "failed"]
    # a new gitgrid run: the checkout's record still knows its builds read model.h, and that its prog
    # was built from point 0's values (so point 0 is right, and runs)
    again = run_sweep(["./prog"], repo=repo, options=RunOptions(jobs=1, build="make", rerun=True))
    assert (again.state.succeeded, again.state.failed) == (1, 2)
    assert own_values(repo, ("seen_gain", "seen_gain"), ("GAIN", "GAIN")) == 1
    fixed = run_sweep(["./prog"], repo=repo, options=RunOptions(jobs=1, build="make -B", rerun=True))
    assert fixed.state.succeeded == 3
    rows = results(repo).rows
    assert [r["seen_gain"] for r in rows] == [r["GAIN"] for r in rows] == [1.5, 2.5, 3.5]


def test_without_inotify_it_says_so_once_and_does_not_guess(
    tiny_md: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a checkout cannot be watched (another OS, fs.inotify.max_user_watches reached), one
    warning for all workers, and the points run as before: none is called stale on a guess."""

    class NoWatches:
        def __init__(self, *args: object) -> None:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkouts, "Tracer", NoWatches)
    warned: list[str] = []
    summary = run_sweep(
        ["./run.sh"], repo=tiny_md, options=RunOptions(jobs=2, build=BUILD), on_warning=warned.append
    )
    assert summary.state.succeeded == 12
    assert warned == [
        "stale builds cannot be detected here (No space left on device; inotify is Linux only and limited "
        "by fs.inotify.max_user_watches): a point whose build rebuilds nothing would run another point's "
        "program unnoticed; --clean-build (or make -B) rebuilds every point"
    ]


def test_the_trace_sees_writes_in_build_folders_made_since_and_reads_of_swept_files(tmp_path: Path) -> None:
    """The watch follows build folders as they appear (a second build that writes only deep inside
    one counts as having built), ignores what happened between builds and inside .git, and reports
    the sweep's files opened, not those removed."""
    root = tmp_path / "checkout"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src/p.h").write_text("#define P 1\n")
    (root / "other.c").write_text("int x;\n")
    tracer = Tracer(root, ["src/p.h", "missing.h"])
    try:
        tracer.begin()
        (root / "build/obj/deep").mkdir(parents=True)  # made in one go: only 'build' is seen created
        (root / "build/obj/deep/a.o").write_text("1")
        assert tracer.end() == Trace(frozenset(), True)
        (root / "written-by-the-command.txt").write_text("between builds")
        tracer.begin()
        (root / "build/obj/deep/a.o").write_text("2")
        assert tracer.end() == Trace(frozenset(), True)
        tracer.begin()
        assert (root / "src/p.h").read_text() and (root / "other.c").read_text()
        (root / ".git/index").write_text("git's own")
        assert tracer.end() == Trace(frozenset({"src/p.h"}), False)
        tracer.begin()
        (root / "src/p.h").unlink()
        assert tracer.end() == Trace(frozenset(), False)
    finally:
        tracer.close()
