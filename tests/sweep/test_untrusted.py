"""A repository someone else made is untrusted (#9): forged sweep records, committed symlinks, hostile
templates and output paths, names that corrupt the sweep. Each is refused with a message, nothing is
written outside the repository, and ``git fsck --strict`` stays clean."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitgrid import create_sweep, open_repository
from gitgrid.errors import GitFailure, SweepError
from gitgrid.sweep.names import name_problem
from gitgrid.sweep.record import MESSAGE_HEAD
from tests.helpers import cli, git, make_repo, refs

SPEC = "files: [m.py]\nparams:\n  a: [1, 2]\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "outer" / "inner" / "r", {"m.py": "a = 0\n", "spec.yaml": SPEC})
    create_sweep(repo / "spec.yaml", repo, name="real")
    return repo


def fsck(repo: Path) -> None:
    git(repo, "fsck", "--strict", "--no-dangling")


def forge(repo: Path, tag: str, **changes: object) -> None:
    """A record tag made by hand: the real sweep's record with ``changes``, newer than every sweep."""
    message = git(repo, "cat-file", "tag", "refs/tags/gitgrid/real").partition("\n\n")[2]
    record = json.loads(message.partition("\n\n")[2])
    record.update({"created": "9999-01-01T00:00:00+00:00", **changes})
    body = f"{MESSAGE_HEAD}forged\n\n{json.dumps(record)}\n"
    tip = (
        record["tip"]
        if isinstance(record["tip"], str) and len(record["tip"]) == 40
        else git(repo, "rev-parse", "HEAD").strip()
    )
    tag_object = (
        f"object {tip}\ntype commit\ntag {tag}\ntagger Eve <eve@example.org> 1795000000 +0000\n\n{body}"
    )
    oid = git(repo, "mktag", stdin=tag_object).strip()
    git(repo, "update-ref", f"refs/tags/{tag}", oid)


def escaped(repo: Path) -> list[Path]:
    """Anything named like an escape above the repository."""
    top = repo.parents[2]
    return [p for p in top.rglob("*") if "escape" in p.name or "pwned" in p.name]


def test_a_record_whose_name_climbs_out_never_becomes_a_path(repo: Path) -> None:
    forge(repo, "gitgrid/evil", name="../../../../../escape")
    listed = cli("sweeps", repo=repo)
    assert listed.exit_code == 0 and "escape" not in listed.stdout
    assert "gitgrid: warning: tag 'gitgrid/evil' is not a valid sweep record, ignored: name" in listed.stderr
    run = cli("run", "--", "true", repo=repo)
    assert run.exit_code == 0 and "real: 2 succeeded" in run.output, run.output
    assert escaped(repo) == [] and not (repo / ".gitgrid/runs/escape").exists()
    fsck(repo)


@pytest.mark.parametrize(
    ("tag", "changes", "reason"),
    [
        ("gitgrid/evil", {"name": "other"}, "does not match the tag"),
        (
            "gitgrid/evil",
            {"name": "evil", "base": "--output=PWNED"},
            "base '--output=PWNED' is not a commit id",
        ),
        ("gitgrid/evil", {"name": "evil", "tip": "HEAD"}, "tip 'HEAD' is not a commit id"),
        ("gitgrid/evil", {"name": "evil", "count": "12"}, "count '12' is not a number"),
        ("gitgrid/evil", {"name": "evil", "params": ["a\nb"]}, "holds a line break"),
        ("gitgrid/evil", {"name": "evil", "params": ["index"]}, "fixed column"),
        (
            "gitgrid/evil",
            {"name": "evil", "base_ref": "\x1b[31mred"},
            "base_ref .* is not one line of printable",
        ),
        ("gitgrid/evil", {"name": "evil", "spec_text": "a: 1\n\x1b]0;title\x07"}, "spec_text holds control"),
        ("gitgrid/-x", {"name": "-x"}, "starts with '-'"),
    ],
)
def test_every_field_of_a_record_is_checked(
    repo: Path, tag: str, changes: dict[str, object], reason: str
) -> None:
    pwned = repo / "PWNED"
    forge(repo, tag, **changes)
    for args in (["list"], ["list", "-f", "tsv"], ["show"], ["sweeps"]):
        result = cli(*args, repo=repo)
        assert result.exit_code == 0, result.output
        assert re.search(
            f"tag '{re.escape(tag)}' is not a valid sweep record, ignored: .*{reason}", result.stderr
        )
    assert cli("list", "evil", repo=repo).exit_code == 2
    assert not pwned.exists() and escaped(repo) == []
    fsck(repo)


def test_revisions_given_to_git_can_never_be_options(repo: Path) -> None:
    opened = open_repository(repo)
    tip = git(repo, "rev-parse", "real").strip()
    for call in (
        lambda: opened.rev_list("--output=PWNED", tip),
        lambda: list(opened.log_trailers("--output=PWNED", tip, ["X"])),
    ):
        with pytest.raises(GitFailure):
            call()
    assert not (repo / "PWNED").exists()


def test_forged_trailers_on_a_sweep_are_an_error_not_a_traceback(repo: Path) -> None:
    base = git(repo, "rev-parse", "master").strip()
    tree = git(repo, "rev-parse", "master^{tree}").strip()
    message = 'x\n\nGitgrid-Index: 0\nGitgrid-Params: {"a": [1, 2]}\n'
    commit = git(repo, "commit-tree", tree, "-p", base, "-m", message).strip()
    forge(repo, "gitgrid/evil", name="evil", tip=commit, count=1)
    result = cli("list", "-f", "tsv", "evil", repo=repo)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"gitgrid: error: sweep 'evil': commit {commit[:12]}: a value must be a number, a string or a bool, not list"
    )


@pytest.mark.parametrize("where", [".gitgrid", ".gitgrid/runs", ".gitgrid/runs/real"])
def test_a_committed_symlink_on_gitgrids_paths_is_refused(tmp_path: Path, where: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo = make_repo(tmp_path / "r", {"m.py": "a = 0\n", "spec.yaml": SPEC})
    link = repo / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(elsewhere, link.parent))
    git(repo, "add", "-f", where)
    git(repo, "commit", "-q", "-m", "a trap")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert (clone / where).is_symlink()
    assert cli("create", "--name", "real", "spec.yaml", repo=clone).exit_code == 0
    commands = [["run", "--", "true"], ["collect"]] + (
        [["status"], ["results"]] if where != ".gitgrid/runs/real" else []
    )
    for args in commands:
        result = cli(*args, repo=clone)
        assert result.exit_code == 2, (args, result.output)
        assert f"{clone / where} is a symlink" in result.stderr and len(result.stderr.splitlines()) == 1
    assert list(elsewhere.iterdir()) == []
    fsck(clone)


def test_a_template_runs_in_the_sandbox(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    template = "{{ a }}{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}\n"
    repo = make_repo(tmp_path / "r", {"p.j2": template, "m.py": "a = 0\n"})
    (repo / "spec.yaml").write_text("files:\n  - template: p.j2\n    output: out.txt\nparams:\n  a: 1\n")
    before = refs(repo)
    for args in (["create", "--dry-run", "spec.yaml"], ["create", "spec.yaml"]):
        result = cli(*args, repo=repo)
        assert (
            result.exit_code == 2
            and "p.j2:1: template failed for point 0: access to attribute" in result.stderr
        )
    assert not marker.exists() and refs(repo) == before


@pytest.mark.parametrize(
    ("bomb", "message"),
    [
        ('{{ "ab"|center(3500000000) }}', "filter 'center': 3500000000 is more than 10000"),
        ('{{ "a\nb"|indent(2000000000) }}', "filter 'indent': 2000000000 is more than 10000"),
        ('{{ "a b"|wordwrap(2000000000) }}', "filter 'wordwrap': 2000000000 is more than 10000"),
        ('{{ "%3500000000s"|format(1) }}', "widths and precisions are at most 1000"),
        ("{{ [1]|slice(2000000000)|list }}", "filter 'slice': 2000000000 is more than 10000"),
    ],
)
def test_a_template_filter_cannot_build_a_huge_value(tmp_path: Path, bomb: str, message: str) -> None:
    """Jinja runs filters on constants while it compiles: bounded before anything is built (#9)."""
    repo = make_repo(tmp_path / "r", {"p.j2": "{{ a }}" + bomb + "\n", "m.py": "a = 0\n"})
    (repo / "spec.yaml").write_text("files:\n  - template: p.j2\n    output: out.txt\nparams:\n  a: 1\n")
    before = refs(repo)
    began = time.monotonic()
    result = cli("create", "--dry-run", "spec.yaml", repo=repo)
    assert time.monotonic() - began < 10
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert refs(repo) == before


@pytest.mark.parametrize(
    "output",
    [
        ".GIT/hooks/post-checkout",
        "a/.Git/config",
        ".git./x",
        ".git /x",
        "git~1/config",
        "GIT~1/hooks/x",
        ".git::$INDEX_ALLOCATION/x",
        ".g\u200cit/config",
        "\ufeff.git/config",
        ".gitmodules",
        "sub/.GITMODULES",
        ".gitmodules. ",
        "gitmod~1",
        "a\\b",
    ],
)
def test_paths_git_would_refuse_are_refused(tmp_path: Path, output: str) -> None:
    repo = make_repo(tmp_path / "r", {"p.j2": "{{ a }}\n"})
    spec = {"files": [{"template": "p.j2", "output": output}], "params": {"a": [1]}}
    (repo / "spec.yaml").write_text(json.dumps(spec))  # JSON is YAML, and keeps every character
    before = refs(repo)
    result = cli("create", "spec.yaml", repo=repo)
    assert result.exit_code == 2, result.output
    assert "gitgrid does not write" in result.stderr or "backslash" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and refs(repo) == before
    fsck(repo)


@pytest.mark.parametrize(
    "name",
    [
        "-x",
        "--force",
        "HEAD",
        "FETCH_HEAD",
        "@",
        "refs/heads/x",
        "heads/x",
        "tags/v1",
        "gitgrid/x",
        "a..b",
        "a b",
        "x.lock",
        "0" * 40,
    ],
)
def test_names_that_would_corrupt_refs_are_refused(repo: Path, name: str) -> None:
    before = refs(repo)
    result = cli("create", "--name", name, "spec.yaml", repo=repo)
    assert result.exit_code == 2 and "is not a valid sweep name" in result.stderr, result.output
    assert refs(repo) == before
    fsck(repo)


def test_a_name_that_abbreviates_an_object_of_the_repository_is_refused(repo: Path) -> None:
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    before = refs(repo)
    result = cli("create", "--name", head[:7], "spec.yaml", repo=repo)
    assert result.exit_code == 2 and f"it abbreviates the object {head}" in result.stderr, result.output
    assert refs(repo) == before


def test_a_checked_out_branch_is_never_replaced(repo: Path, tmp_path: Path) -> None:
    (repo / "m.py").write_text("a = 5  # local edit\n")
    head, status = git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain")
    before = refs(repo)
    result = cli("create", "--name", "master", "--force", "spec.yaml", repo=repo)
    assert result.exit_code == 2 and f"branch 'master' is checked out in {repo}" in result.stderr
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))
    before = refs(repo)
    result = cli("create", "--name", "side", "--force", "spec.yaml", repo=repo)
    assert result.exit_code == 2 and "branch 'side' is checked out in" in result.stderr
    assert refs(repo) == before and git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == status
    fsck(repo)


def test_force_still_replaces_a_branch_nobody_has_checked_out(repo: Path) -> None:
    assert cli("create", "--name", "real", "--force", "spec.yaml", repo=repo).exit_code == 0


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("refs") / "r", {"a": "a\n"})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=20))
def test_a_valid_sweep_name_is_a_valid_branch_name(scratch: Path, name: str) -> None:
    """Held to git's own check: every name gitgrid accepts, git accepts as a branch name."""
    import subprocess

    git_ok = (
        subprocess.run(
            ["git", "check-ref-format", "--branch", name], cwd=scratch, capture_output=True, check=False
        ).returncode
        == 0
    )
    if name_problem(name) is None:
        assert git_ok, name
    elif git_ok:  # gitgrid is stricter only where it says why
        assert not name.isprintable() or re.match(
            r"(refs|heads|tags|remotes|gitgrid)/|[A-Z_]*HEAD$|@$|[0-9a-fA-F]{40}$", name
        ), name


def test_check_name_says_why() -> None:
    from gitgrid.sweep.names import check_name

    with pytest.raises(SweepError, match=r"'a\.\.b' is not a valid sweep name: git refuses '\.\.'"):
        check_name("a..b")
    assert check_name("grid_search-2026-11-18") == "grid_search-2026-11-18"
