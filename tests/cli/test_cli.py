"""The command line: output formats, -C, and bad input reported as one line with exit status 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer.main

from gitgrid import create_sweep
from gitgrid.cli import app
from tests.helpers import CANONICAL_SPEC, cli, git, make_repo, refs


@pytest.fixture
def swept(sim_repo: Path) -> Path:
    create_sweep(sim_repo / "spec.yaml", sim_repo)
    return sim_repo


def test_list_formats(swept: Path) -> None:
    hashes = cli("list", repo=swept).stdout.split()
    assert cli("list", "--short", repo=swept).stdout.split() == [h[:12] for h in hashes]
    tsv = cli("list", "--format", "tsv", repo=swept).stdout.splitlines()
    assert tsv[0] == "index\tcommit\tparam1\tparam2\tparam3"
    assert tsv[1] == f"0\t{hashes[0]}\t3.0\t0.5\t-5.0" and tsv[36] == f"35\t{hashes[35]}\t3.0\t3.0\t-30.0"
    rows = list(csv.DictReader(io.StringIO(cli("list", "-f", "csv", repo=swept).stdout)))
    assert [r["commit"] for r in rows] == hashes and rows[7]["param2"] == "1.0"
    data = json.loads(cli("list", "-f", "json", repo=swept).stdout)
    assert data[0] == {"index": 0, "commit": hashes[0], "param1": 3.0, "param2": 0.5, "param3": -5.0}


def test_list_where(swept: Path) -> None:
    result = cli("list", "-f", "tsv", "--where", "param2 * -param3 <= 10", repo=swept)
    rows = [line.split("\t") for line in result.stdout.splitlines()[1:]]
    assert [(r[3], r[4]) for r in rows] == [("0.5", "-5.0"), ("0.5", "-10.0"), ("0.5", "-15.0"), ("0.5", "-20.0"), ("1.0", "-5.0"), ("1.0", "-10.0"), ("1.5", "-5.0"), ("2.0", "-5.0")]  # fmt: skip
    hashes = cli("list", "--where", "param3 == -30", repo=swept).stdout.split()
    assert len(hashes) == 6
    bad = cli("list", "--where", "nope > 1", repo=swept)
    assert bad.exit_code == 2 and "uses unknown name 'nope'" in bad.stderr


def test_show_and_sweeps(swept: Path) -> None:
    create_sweep(swept / "spec.yaml", swept, name="second")
    shown = cli("show", "grid_search-2026-11-18", repo=swept).stdout
    assert "base     master (" in shown and "points   36" in shown
    assert "param3  range of 6: -5.0, -10.0, -15.0, -20.0, -25.0, -30.0" in shown
    assert "spec     spec.yaml\n  | files:\n" in shown
    record = json.loads(cli("show", "--format", "json", repo=swept).stdout)
    assert record["name"] == "second" and record["params"][1]["values"] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    table = cli("sweeps", repo=swept).stdout.splitlines()
    assert table[0].split() == ["sweep", "points", "base", "created", "params"]
    assert [line.split()[0] for line in table[2:]] == ["second", "grid_search-2026-11-18"]


def test_dash_c_resolves_the_spec_like_git(
    sim_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("-C", "sim", "create", "spec.yaml").exit_code == 0
    assert len(cli("-C", "sim", "list").stdout.split()) == 36


BAD_SPECS = {
    "yaml": ("files: [src/model.py]\nparams:\n  param1: [1, 2\n", r"spec.yaml:4: YAML syntax error"),
    "range kind": ("files: []\nparams:\n  a: {arange: [0, 1]}\n", r"spec.yaml:3: param 'a': unknown range kind"),
    "step 0": ("files: []\nparams:\n  a: {range: [0, 1, 0]}\n", r"spec.yaml:3: param 'a': step is 0"),
    "wrong sign": ("files: []\nparams:\n  a: {range: [0, 1, -1]}\n", r"param 'a': step -1 goes the wrong way"),
    "linspace": ("files: []\nparams:\n  a: {linspace: [0, 1, 0]}\n", r"param 'a': count must be at least 1"),
    "zip": ("files: []\nparams:\n  a: [1]\n  b: [1, 2]\nzip: [[a, b]]\n", r"zip group \[a, b\] has unequal"),
    "where name": ("files: []\nparams:\n  a: 1\nwhere: c > 1\n", r"spec.yaml:4: where: .*unknown name 'c'"),
    "where syntax": ("files: []\nparams:\n  a: 1\nwhere: a.real\n", r"spec.yaml:4: where: .*not allowed"),
    "not found": ("files: [src/model.py]\nparams:\n  nope: 1\n", r"param 'nope': target 'nope' not found in src/model.py"),
    "twice": ("files: [src/model.py]\nparams:\n  p: {target: self.param1, values: [1], all: false}\n  q: {target: param2, values: [1]}\n", r"target 'param2' of param 'q' is assigned|target 'param2' not found"),
    "template var": ("files:\n  - template: t.j2\n    output: o.txt\nparams:\n  a: 1\n", r"t.j2:1: template uses undefined variable 'b'"),
    "outside": ("files:\n  - template: t.j2\n    output: ../o.txt\nparams:\n  b: 1\n", r"\.\./o.txt: leads outside the repository"),
    "empty": (CANONICAL_SPEC + "where: param1 < 0\n", r"the space is empty"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(sim_repo: Path, case: str) -> None:
    text, message = BAD_SPECS[case]
    (sim_repo / "t.j2").write_text("{{ b }}\n")
    git(sim_repo, "add", "t.j2")
    git(sim_repo, "commit", "-q", "-m", "template")
    (sim_repo / "spec.yaml").write_text(text)
    before = refs(sim_repo)
    result = cli("create", "spec.yaml", repo=sim_repo)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitgrid: error: ")
    import re

    assert re.search(message, lines[0]), lines[0]
    assert refs(sim_repo) == before


def test_target_found_twice_names_lines(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": "x = 1\ny = 2\nx = 3\n"})
    (repo / "spec.yaml").write_text("files: [m.py]\nparams:\n  x: 5\n")
    result = cli("create", "spec.yaml", repo=repo)
    assert result.exit_code == 2
    assert "m.py: target 'x' of param 'x' is assigned 2 times (lines 1, 3)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--branch", "nope", "spec.yaml"], "unknown base ref 'nope'"),
        (["create", "missing.yaml"], "missing.yaml: spec file not found"),
        (["create", "--name", "bad..name", "spec.yaml"], "'bad..name' is not a valid sweep name"),
        (["list", "nope"], "no sweep named 'nope' (sweeps: grid_search-2026-11-18)"),
    ],
)
def test_bad_arguments(swept: Path, args: list[str], message: str) -> None:
    result = cli(*args, repo=swept)
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["results", "--digits", "-1"],
            "gitgrid results: Invalid value for '--digits': -1 is not in the range",
        ),
        (["status", "--lines", "-1"], "gitgrid status: Invalid value for '--lines'"),
        (
            ["list", "--format", "xml"],
            "gitgrid list: Invalid value for '--format' / '-f': 'xml' is not one of",
        ),
        (["run", "--zzz"], "gitgrid run: No such option: --zzz (see 'gitgrid run --help')"),
        (["optimize", "--method", "nope", "s.yaml", "--", "true"], "gitgrid optimize: Invalid value"),
        (["create"], "give a SPEC file or --like SWEEP"),
        (["nosuchcommand"], "gitgrid: No such command 'nosuchcommand'."),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(swept: Path, args: list[str], message: str) -> None:
    """What the option parser refuses is bad input like any other: one line, no boxed usage text."""
    result = cli(*args, repo=swept)
    assert result.exit_code == 2 and result.stderr.startswith(f"gitgrid: error: {message}"), result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_no_sweep_yet(sim_repo: Path) -> None:
    result = cli("show", repo=sim_repo)
    assert (
        result.exit_code == 2 and "no sweep in " in result.stderr and "gitgrid create SPEC" in result.stderr
    )


def test_not_a_git_repository(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(CANONICAL_SPEC)
    result = cli("create", "spec.yaml", repo=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"gitgrid: error: {tmp_path}: not a git repository (or any of its parents)\n"


def test_every_command_has_help_and_a_docs_entry() -> None:
    docs = (Path(__file__).parents[2] / "docs/cli.md").read_text()
    group = typer.main.get_group(app)
    for name, command in group.commands.items():
        assert command.help, f"{name} has no help"
        assert f"## gitgrid {name}" in docs, f"docs/cli.md does not document {name}"
        assert cli(name, "--help").exit_code == 0


def test_show_marks_zipped_params_and_the_where_filter(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": "dt = 1\nrate = 1\nn = 1\n"})
    spec = "files: [m.py]\nparams:\n  dt: [0.1, 0.05]\n  n: [1, 2, 3]\n  rate: [10, 20]\nzip: [[dt, rate]]\nwhere: n < 3\n"
    (repo / "spec.yaml").write_text(spec)
    assert cli("create", "spec.yaml", repo=repo).exit_code == 0
    shown = cli("show", repo=repo).stdout.splitlines()
    assert "  dt    values of 2: 0.1, 0.05  (zipped with rate)" in shown
    assert "  n     values of 3: 1, 2, 3" in shown
    assert "  rate  values of 2: 10, 20  (zipped with dt)" in shown
    assert "where    n < 3  (points kept: 4)" in shown
    record = json.loads(cli("show", "-f", "json", repo=repo).stdout)
    assert record["where"] == "n < 3" and [p["zipped"] for p in record["params"]] == [["rate"], [], ["dt"]]


def test_version() -> None:
    from gitgrid import __version__

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout == f"gitgrid {__version__}\n"


def test_the_optimize_choices_are_the_librarys() -> None:
    """The CLI spells them out so that its start-up does not import the optimiser: they must not drift."""
    from gitgrid.cli.optimize import Method
    from gitgrid.optimize.methods import METHODS

    assert [m.value for m in Method] == list(METHODS)
