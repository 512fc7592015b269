"""Acceptance (issue 19): results travel with git. A bare remote and two clones standing for a cluster and
a laptop, real git and real runs, nothing mocked: what one clone ran, the other shows exactly; both run
and push in turn, the second push is refused until it pulls, and the union ends up in both."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from gitgrid import open_repository
from gitgrid.report.data import ViewOptions, home, points, sweep_info
from gitgrid.run.runner import RunOptions, run_sweep
from gitgrid.store import open_store
from gitgrid.sweep.catalog import find_sweep
from tests.helpers import SERIES_SIM, SIM, SPEC, cli, git, make_repo, refs, sim, stored_rows


def three(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare remote holding a simulation repository, and two clones of it: the cluster and the laptop."""
    origin = make_repo(
        tmp_path / "origin", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SIM, "spec.yaml": SPEC}
    )
    git(tmp_path, "clone", "-q", "--bare", str(origin), "remote.git")
    for name in ("cluster", "laptop"):
        git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), name)
    return tmp_path / "remote.git", tmp_path / "cluster", tmp_path / "laptop"


def run(repo: Path, where: str) -> None:
    summary = run_sweep(sim(), repo=repo, options=RunOptions(jobs=2, where=where))
    assert summary.exit_code == 0


def shown(repo: Path) -> dict[str, Any]:
    """What a user sees of the newest sweep: results (every attempt, CSV), status, and the report's data
    (home, summary, points) without the store's own run ids."""
    out = {
        "results": cli("results", "-f", "csv", repo=repo).stdout,
        "attempts": cli("results", "-f", "csv", "--all-attempts", repo=repo).stdout,
        "status": cli("status", repo=repo).stdout,
    }
    repository = open_repository(repo)
    sweep = find_sweep(repository)
    _, store = open_store(repository)
    try:
        info = sweep_info(repository, store, sweep, ViewOptions())
        table = points(repository, store, sweep, info["metrics"])
        del table["columns"]["run"]
        out["report"] = json.dumps(
            [home(repository, store, [sweep], ViewOptions()), info, table], sort_keys=True
        )
    finally:
        store.close()
    return out


def test_what_the_cluster_ran_the_laptop_shows_exactly(tmp_path: Path) -> None:
    _, cluster, laptop = three(tmp_path)
    assert cli("create", "spec.yaml", repo=cluster).exit_code == 0
    run(cluster, "b < 40")
    pushed = cli("push", repo=cluster)
    assert pushed.exit_code == 0, pushed.stderr
    assert "9 new run records" in pushed.stdout
    pulled = cli("pull", repo=laptop)
    assert pulled.exit_code == 0, pulled.stderr
    assert "9 runs stored, 0 already here, 0 skipped" in pulled.stdout
    assert shown(laptop) == shown(cluster)
    assert "success      9" in shown(laptop)["status"] and "never run    3" in shown(laptop)["status"]
    again = cli("pull", repo=laptop)  # nothing new: nothing stored twice
    assert "0 runs stored" in again.stdout
    same = cli("push", repo=cluster)  # nothing new: said as git says it, not "pushed 1 sweep"
    assert same.exit_code == 0 and same.stdout == "origin: up to date (1 sweep and results, there already)\n"
    assert shown(laptop) == shown(cluster)


def test_both_run_and_push_in_turn_and_the_union_is_in_both(tmp_path: Path) -> None:
    remote, cluster, laptop = three(tmp_path)
    cli("create", "spec.yaml", repo=cluster)
    run(cluster, "b <= 20")
    assert cli("push", repo=cluster).exit_code == 0
    assert cli("pull", repo=laptop).exit_code == 0
    run(laptop, "b >= 30")  # six points
    run(cluster, "b == 40")  # three of them, run in both places
    assert cli("push", repo=laptop).exit_code == 0
    before = refs(remote)
    refused = cli("push", repo=cluster)
    assert refused.exit_code == 1
    assert "pull first ('gitgrid pull origin')" in refused.stderr
    assert refs(remote) == before  # nothing moved: the push was atomic
    assert "6 runs stored" in cli("pull", repo=cluster).stdout  # laptop's six, its own three known
    assert cli("push", repo=cluster).exit_code == 0
    assert "3 runs stored" in cli("pull", repo=laptop).stdout
    assert shown(laptop) == shown(cluster)
    for repo in (cluster, laptop):
        attempts = stored_rows(
            repo / ".gitgrid/results.db",
            "SELECT idx, COUNT(*), SUM(status = 'success') FROM runs GROUP BY idx ORDER BY idx",
        )
        assert attempts == [(i, 2 if i % 4 == 3 else 1, 2 if i % 4 == 3 else 1) for i in range(12)]
    assert "success      12" in shown(cluster)["status"]
    notes = git(cluster, "notes", "--ref=gitgrid", "list").split()
    assert len(notes) == 2  # one note (of the 12 points, under 64): its blob and the commit of point 0
    text = git(cluster, "notes", "--ref=gitgrid", "show", notes[1])
    assert len(text.splitlines()) == 15 and text.splitlines() == sorted(text.splitlines())


def test_the_same_round_trip_over_ssh(tmp_path: Path, monkeypatch: Any) -> None:
    """An ``ssh://`` remote: git's ssh transport, with a stand-in for ssh that runs the command here."""
    remote, cluster, laptop = three(tmp_path)
    fake = tmp_path / "fake-ssh"
    fake.write_text(
        '#!/bin/sh\n# fake-ssh [options] HOST COMMAND: run COMMAND here\nfor last; do :; done\nexec sh -c "$last"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(fake))
    url = f"ssh://cluster.example{remote}"
    cli("create", "spec.yaml", repo=cluster)
    run(cluster, "a == 2.5")
    pushed = cli("push", url, repo=cluster)
    assert pushed.exit_code == 0, pushed.stderr
    pulled = cli("pull", url, repo=laptop)
    assert pulled.exit_code == 0, pulled.stderr
    assert "4 runs stored" in pulled.stdout
    assert shown(laptop) == shown(cluster)


def test_push_and_pull_say_what_they_would_do_with_dry_run(tmp_path: Path) -> None:
    remote, cluster, laptop = three(tmp_path)
    cli("create", "spec.yaml", repo=cluster)
    run(cluster, "a == 1.5")
    before = refs(remote), refs(cluster)
    shown_push = cli("push", "--dry-run", repo=cluster)
    assert shown_push.stdout.startswith("would push 1 sweep (grid_search-")
    assert "and 4 new run records to origin" in shown_push.stdout
    assert (refs(remote), refs(cluster)) == before
    cli("push", repo=cluster)
    local = refs(laptop)
    assert "origin has 1 sweep and results" in cli("pull", "--dry-run", repo=laptop).stdout
    assert refs(laptop) == local


def test_a_remote_that_is_no_remote_is_one_line(tmp_path: Path) -> None:
    _, cluster, _ = three(tmp_path)
    cli("create", "spec.yaml", repo=cluster)
    for args, message in (
        (["push", "--", "--upload-pack=touch x"], "not a remote name, URL or path"),
        (["push", "nowhere"], "no remote named 'nowhere'"),
        (["pull", "../missing.git"], "cannot reach remote '../missing.git'"),
    ):
        result = cli(*args, repo=cluster)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("gitgrid: error: ") and message in result.stderr
        assert result.stderr.count("\n") == 1
    assert not (cluster / "x").exists()
    done = subprocess.run(
        ["git", "notes", "--ref=gitgrid", "list"], cwd=cluster, capture_output=True, check=False
    )
    assert done.stdout == b""


def test_series_travel_behind_their_flag(tmp_path: Path) -> None:
    origin = make_repo(
        tmp_path / "origin", {"model.py": "a = 0.0\nb = 0\n", "sim.py": SERIES_SIM, "spec.yaml": SPEC}
    )
    git(tmp_path, "clone", "-q", "--bare", str(origin), "remote.git")
    for name in ("cluster", "laptop"):
        git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), name)
    cluster, laptop = tmp_path / "cluster", tmp_path / "laptop"
    cli("create", "spec.yaml", repo=cluster)
    run(cluster, "a == 1.5")
    assert cli("push", repo=cluster).exit_code == 0  # without --series: none
    assert "origin has 1 sweep" in cli("pull", "--dry-run", repo=laptop).stdout
    assert cli("pull", repo=laptop).exit_code == 0
    series = (
        "SELECT r.idx, s.name, s.step, s.value FROM series s JOIN runs r ON r.id = s.run_id ORDER BY 1, 2, 3"
    )
    assert stored_rows(laptop / ".gitgrid/results.db", series) == []
    pushed = cli("push", "--series", repo=cluster)
    assert pushed.exit_code == 0, pushed.stderr
    pulled = cli("pull", "--series", repo=laptop)
    assert pulled.exit_code == 0 and "series of 4 runs" in pulled.stdout, pulled.output
    expected = stored_rows(cluster / ".gitgrid/results.db", series)
    assert len(expected) == 4 * 5 * 2 and stored_rows(laptop / ".gitgrid/results.db", series) == expected
    assert "series of 0 runs" in cli("pull", "--series", repo=laptop).stdout  # known: not stored twice
    assert git(laptop, "notes", "--ref=gitgrid-series", "list").count("\n") == 1


def test_a_sweep_of_one_name_made_in_both_clones_is_refused_both_ways_and_nothing_else_is(
    tmp_path: Path,
) -> None:
    """Two clones that each made a sweep named ``same`` (an optimisation or a grid of one day, named by
    the date): a pull fetches everything else, says which sweep is not this clone's and skips its
    results; the local one is untouched; a push of it is refused. (git's fetch refuses the tag; its
    ``--quiet`` hid the line saying so, and the pull failed: "cannot fetch: no message from git".)"""
    _, cluster, laptop = three(tmp_path)
    (laptop / "other.yaml").write_text("files: [model.py]\nparams:\n  a: [7.5]\n  b: [1, 2]\n")
    for repo, spec in ((cluster, "spec.yaml"), (laptop, "other.yaml")):
        assert cli("create", spec, "--name", "same", repo=repo).exit_code == 0
        assert cli("run", "same", "-j", "2", "--", *sim(), repo=repo).exit_code == 0
    assert cli("create", "spec.yaml", "--name", "more", repo=cluster).exit_code == 0
    assert cli("run", "more", "-j", "2", "--", *sim(), repo=cluster).exit_code == 0
    assert cli("push", repo=cluster).exit_code == 0
    before = cli("results", "same", "-f", "csv", "--all-attempts", repo=laptop).stdout
    pulled = cli("pull", repo=laptop)
    assert pulled.exit_code == 0, pulled.stderr
    assert "sweep 'same' on 'origin' is not this clone's" in pulled.stderr
    assert cli("results", "same", "-f", "csv", "--all-attempts", repo=laptop).stdout == before
    assert (
        cli("results", "more", "-f", "csv", repo=laptop).stdout
        == cli("results", "more", "-f", "csv", repo=cluster).stdout
    )
    refused = cli("push", "origin", "same", repo=laptop)
    assert refused.exit_code == 1 and "sweep 'same' on 'origin' is not this clone's" in refused.stderr
