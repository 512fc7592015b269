"""Creating sweeps in real repositories: the canonical example, naming, bases, files, atomicity."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gitgrid import create_sweep, find_sweep, list_points, open_repository
from gitgrid.errors import SweepError
from tests.helpers import CANONICAL_SPEC, cli, git, gitgrid_command, make_repo, refs

PARAM2 = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
PARAM3 = [-5.0, -10.0, -15.0, -20.0, -25.0, -30.0]


def test_canonical_example(sim_repo: Path) -> None:
    (sim_repo / "src/model.py").write_text((sim_repo / "src/model.py").read_text() + "# local edit\n")
    head, status = git(sim_repo, "rev-parse", "HEAD"), git(sim_repo, "status", "--porcelain")
    index = git(sim_repo, "ls-files", "-s")

    result = cli("create", "--branch", "master", "spec.yaml", repo=sim_repo)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("grid_search-2026-11-18: 36 points on master")

    hashes = cli("list", repo=sim_repo).stdout.split()
    assert len(hashes) == 36 and all(len(h) == 40 for h in hashes)
    assert (
        hashes == git(sim_repo, "log", "--reverse", "--format=%H", "master..grid_search-2026-11-18").split()
    )
    base = git(sim_repo, "rev-parse", "master").strip()
    expected = [(3.0, p2, p3) for p2 in PARAM2 for p3 in PARAM3]
    for i, (commit, (p1, p2, p3)) in enumerate(zip(hashes, expected, strict=True)):
        parent = git(sim_repo, "rev-parse", f"{commit}^").strip()
        assert parent == (base if i == 0 else hashes[i - 1])
        model = git(sim_repo, "show", f"{commit}:src/model.py")
        assert f"        self.param1 = {p1!r}  # weight E->E\n" in model
        assert f"        self.param2 = {p2!r}\n        self.param3 = {p3!r}\n" in model
        diff = git(sim_repo, "diff", "--name-only", base, commit).split()
        assert diff == ["src/model.py"]
    changed = [
        line
        for line in git(sim_repo, "diff", "-U0", base, hashes[0]).splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        "-        self.param1 = 1.0  # weight E->E",
        "-        self.param2 = 1.0",
        "-        self.param3 = -1.0",
        "+        self.param1 = 3.0  # weight E->E",
        "+        self.param2 = 0.5",
        "+        self.param3 = -5.0",
    ]
    assert git(sim_repo, "rev-parse", "HEAD") == head
    assert git(sim_repo, "status", "--porcelain") == status
    assert git(sim_repo, "ls-files", "-s") == index
    assert (sim_repo / "src/model.py").read_text().endswith("# local edit\n")


def test_commit_message_carries_machine_readable_params(sim_repo: Path) -> None:
    sweep = create_sweep(sim_repo / "spec.yaml", sim_repo, base="master")
    message = git(sim_repo, "log", "-1", "--format=%B", sweep.tip)
    assert message.splitlines()[0] == "param1=3.0 param2=3.0 param3=-30.0"
    trailers = dict(
        line.split(": ", 1)
        for line in git(sim_repo, "log", "-1", "--format=%(trailers:only)", sweep.tip).splitlines()
        if line
    )
    assert trailers["Gitgrid-Sweep"] == sweep.name
    assert (trailers["Gitgrid-Index"], trailers["Gitgrid-Count"]) == ("35", "36")
    assert trailers["Gitgrid-Base"] == sweep.base
    assert json.loads(trailers["Gitgrid-Params"]) == {"param1": 3.0, "param2": 3.0, "param3": -30.0}
    author = git(sim_repo, "log", "-1", "--format=%an <%ae> %at|%cn <%ce> %ct", sweep.tip)
    assert (
        author.strip()
        == "Ada Researcher <ada@example.org> 1795000000|Ada Researcher <ada@example.org> 1795000000"
    )


def test_commit_ids_are_reproducible(tmp_path: Path) -> None:
    lists = []
    for name in ("one", "two"):
        repo = make_repo(tmp_path / name, {"src/model.py": "param1 = 1\nparam2 = 1\nparam3 = 1\n"})
        (repo / "spec.yaml").write_text(CANONICAL_SPEC)
        create_sweep(repo / "spec.yaml", repo)
        lists.append(cli("list", repo=repo).stdout)
    assert lists[0] == lists[1] and len(lists[0].split()) == 36


def test_default_names_count_up_and_explicit_names_must_be_free(sim_repo: Path) -> None:
    names = [create_sweep(sim_repo / "spec.yaml", sim_repo).name for _ in range(3)]
    assert names == ["grid_search-2026-11-18", "grid_search-2026-11-18-2", "grid_search-2026-11-18-3"]
    before = refs(sim_repo)
    result = cli("create", "--name", "grid_search-2026-11-18", "spec.yaml", repo=sim_repo)
    assert result.exit_code == 2
    assert "branch or sweep 'grid_search-2026-11-18' already exists" in result.stderr
    assert refs(sim_repo) == before
    forced = create_sweep(sim_repo / "spec.yaml", sim_repo, name="grid_search-2026-11-18", force=True)
    assert git(sim_repo, "rev-parse", "grid_search-2026-11-18").strip() == forced.tip


def test_spec_branch_template_and_base(sim_repo: Path) -> None:
    git(sim_repo, "tag", "v1")
    (sim_repo / "spec.yaml").write_text("base: v1\nbranch: study-{date}\n" + CANONICAL_SPEC)
    sweep = create_sweep(sim_repo / "spec.yaml", sim_repo)
    assert (sweep.name, sweep.base_ref) == ("study-2026-11-18", "v1")
    assert create_sweep(sim_repo / "spec.yaml", sim_repo).name == "study-2026-11-18-2"


@pytest.mark.parametrize("base", ["HEAD~1", "first", "COMMIT"])
def test_base_may_be_any_ref_or_commit(sim_repo: Path, base: str) -> None:
    first = git(sim_repo, "rev-parse", "HEAD").strip()
    git(sim_repo, "tag", "first")
    (sim_repo / "later.txt").write_text("later\n")
    git(sim_repo, "add", "later.txt")
    git(sim_repo, "commit", "-q", "-m", "later")
    sweep = create_sweep(sim_repo / "spec.yaml", sim_repo, base=first if base == "COMMIT" else base)
    assert sweep.base == first
    assert "later.txt" not in git(sim_repo, "ls-tree", "--name-only", sweep.tip)


def test_mode_crlf_and_template_output(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "r",
        {
            "run.sh": "#!/bin/sh\nN=10\n",
            "src/sim.c": b"double dt = 0.1; // step\r\nint main(void) { return 0; }\r\n",
            "templates/params.h.j2": "#define N {{ N }}\n#define DT {{ dt }}\n/* point {{ point.index }} */\n",
        },
    )
    git(repo, "update-index", "--chmod=+x", "run.sh")
    git(repo, "commit", "-q", "-m", "executable")
    spec = """\
files:
  - path: run.sh
  - path: src/sim.c
  - template: templates/params.h.j2
    output: src/params.h
params:
  N: [10, 20]
  dt: [0.05]
"""
    (repo / "spec.yaml").write_text(spec)
    sweep = create_sweep(repo / "spec.yaml", repo)
    points = list(list_points(open_repository(repo), sweep))
    last = points[-1].commit
    assert git(repo, "ls-tree", last, "run.sh").split()[0] == "100755"
    assert git(repo, "show", f"{last}:run.sh") == "#!/bin/sh\nN=20\n"
    raw = subprocess.run(
        ["git", "show", f"{last}:src/sim.c"], cwd=repo, capture_output=True, check=True
    ).stdout
    assert raw == b"double dt = 0.05; // step\r\nint main(void) { return 0; }\r\n"
    assert git(repo, "show", f"{last}:src/params.h") == "#define N 20\n#define DT 0.05\n/* point 1 */\n"
    assert not (repo / "src/params.h").exists()


def test_files_empty_records_params_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "a\n"})
    (repo / "spec.yaml").write_text("files: []\nparams:\n  seed: {range: [1, 3]}\n")
    sweep = create_sweep(repo / "spec.yaml", repo)
    points = list(list_points(open_repository(repo), sweep))
    assert [p.params for p in points] == [{"seed": 1}, {"seed": 2}, {"seed": 3}]
    assert git(repo, "diff", "--stat", sweep.base, sweep.tip) == ""


def test_dry_run_writes_nothing(sim_repo: Path) -> None:
    before = refs(sim_repo), git(sim_repo, "count-objects", "-v")
    result = cli("create", "--dry-run", "spec.yaml", repo=sim_repo)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("would create grid_search-2026-11-18: 36 points on master")
    assert (
        "  0: param1=3.0 param2=0.5 param3=-5.0\n  1: param1=3.0 param2=0.5 param3=-10.0\n" in result.stdout
    )
    assert "  ... 31 more\n" in result.stdout
    assert "-        self.param3 = -1.0\n" in result.stdout
    assert "+        self.param3 = -5.0\n" in result.stdout
    assert (refs(sim_repo), git(sim_repo, "count-objects", "-v")) == before


def test_a_fresh_clone_lists_and_shows_the_sweep(sim_repo: Path, tmp_path: Path) -> None:
    sweep = create_sweep(sim_repo / "spec.yaml", sim_repo)
    expected = cli("list", repo=sim_repo).stdout
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(sim_repo), str(clone))
    assert cli("list", repo=clone).stdout == expected
    shown = cli("show", repo=clone)
    assert shown.exit_code == 0 and f"sweep    {sweep.name}" in shown.stdout
    assert "param2  range of 6: 0.5, 1.0, 1.5, 2.0, 2.5, 3.0" in shown.stdout


def test_no_points_left_is_an_error(sim_repo: Path) -> None:
    (sim_repo / "spec.yaml").write_text(CANONICAL_SPEC + "where: param2 > 10\n")
    with pytest.raises(SweepError, match=r"the space is empty: 'where' removed every point"):
        create_sweep(sim_repo / "spec.yaml", sim_repo)


def _big_spec(repo: Path, points_a: int) -> None:
    (repo / "spec.yaml").write_text(
        f"files: [src/model.py]\nparams:\n  param1: {{range: [1, {points_a}]}}\n"
        "  param2: {range: [0, 99]}\n  param3: 1.5\n"
    )


def _wait_for_stream(repo: Path, proc: subprocess.Popen[bytes]) -> None:
    """Wait until fast-import is writing a pack: the create is mid-stream."""
    deadline = time.monotonic() + 60
    pack_dir = repo / ".git/objects/pack"
    while not list(pack_dir.glob("tmp_pack_*")):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "fast-import never started"
        time.sleep(0.02)
    time.sleep(0.3)


@pytest.mark.parametrize(
    ("how", "writer"), [("kill", "pack"), ("interrupt", "pack"), ("kill", "fast-import")]
)
def test_interrupted_create_leaves_no_branch_and_can_be_rerun(sim_repo: Path, how: str, writer: str) -> None:
    _big_spec(sim_repo, 600)
    before = refs(sim_repo)
    proc = subprocess.Popen(
        [*gitgrid_command(), "-C", str(sim_repo), "create", "--writer", writer, "spec.yaml"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_for_stream(sim_repo, proc)
    proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGINT)
    code = proc.wait(timeout=30)
    assert code == (-signal.SIGKILL if how == "kill" else 130)
    if writer == "pack":
        _wait_for_cleanup(sim_repo)
    time.sleep(0.5)  # an orphaned fast-import sees the end of its input and exits without a ref
    assert refs(sim_repo) == before
    _big_spec(sim_repo, 20)
    sweep = create_sweep(sim_repo / "spec.yaml", sim_repo)
    assert sweep.name == "grid_search-2026-11-18" and sweep.count == 2000


def _wait_for_cleanup(repo: Path) -> None:
    """The pack writer's second process sees its input end and deletes its temporary files."""
    deadline = time.monotonic() + 30
    while list((repo / ".git/objects/pack").glob("tmp_*")):
        assert time.monotonic() < deadline, "temporary pack files left behind"
        time.sleep(0.05)


def test_sha256_repositories_are_refused(tmp_path: Path) -> None:
    repo = tmp_path / "r256"
    repo.mkdir()
    git(repo, "init", "-q", "--object-format=sha256", "-b", "master")
    (repo / "m.py").write_text("x = 1\n")
    git(repo, "add", "m.py")
    git(repo, "commit", "-q", "-m", "x")
    (repo / "spec.yaml").write_text("files: [m.py]\nparams:\n  x: [2]\n")
    result = cli("create", "spec.yaml", repo=repo)
    assert result.exit_code == 2 and "a SHA-256 repository" in result.stderr


def test_find_sweep_defaults_to_the_newest(sim_repo: Path) -> None:
    create_sweep(sim_repo / "spec.yaml", sim_repo)
    second = create_sweep(sim_repo / "spec.yaml", sim_repo)
    repo = open_repository(sim_repo)
    assert find_sweep(repo).name == second.name
    assert find_sweep(repo, "gitgrid/grid_search-2026-11-18").name == "grid_search-2026-11-18"
    with pytest.raises(SweepError, match=r"no sweep named 'nope' \(sweeps: grid_search-2026-11-18-2, "):
        find_sweep(repo, "nope")
