"""The default sweep cannot be taken over by what comes with a clone (#17): a record dated in the future
(forged, or made under a wrong clock) never becomes the sweep a command without a name works on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitgrid import create_sweep, open_repository
from gitgrid.errors import SweepError
from gitgrid.sweep.catalog import find_sweep
from gitgrid.sweep.record import MESSAGE_HEAD
from tests.helpers import cli, git, make_repo

SPEC = "files: [m.py]\nparams:\n  a: [1, 2]\n"


def forge(repo: Path, name: str, created: str) -> None:
    """A valid record of sweep ``name`` (the real sweep's, renamed) dated ``created``."""
    message = git(repo, "cat-file", "tag", "refs/tags/gitgrid/theirs").partition("\n\n")[2]
    record = {**json.loads(message.partition("\n\n")[2]), "name": name, "created": created}
    body = f"{MESSAGE_HEAD}{name}\n\n{json.dumps(record)}\n"
    tagger = "tagger Eve <eve@example.org> 1795000000 +0000"
    tag = f"object {record['tip']}\ntype commit\ntag gitgrid/{name}\n{tagger}\n\n{body}"
    git(repo, "update-ref", f"refs/tags/gitgrid/{name}", git(repo, "mktag", stdin=tag).strip())


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of a repository holding a real sweep and a forged one dated 9999-12-31."""
    origin = make_repo(tmp_path / "origin", {"m.py": "a = 0\n", "spec.yaml": SPEC})
    create_sweep(origin / "spec.yaml", origin, name="theirs")
    forge(origin, "forged", "9999-12-31T00:00:00+00:00")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    return clone


def test_a_record_dated_in_the_future_is_never_the_default(clone: Path) -> None:
    repo = open_repository(clone)
    with pytest.raises(SweepError, match=r"forged \(9999-12-31T00:00:00\+00:00\) dated in the future"):
        find_sweep(repo)
    result = cli("list", repo=clone)
    assert result.exit_code == 2 and "name the sweep to use (sweeps: forged, theirs)" in result.stderr
    assert find_sweep(repo, "theirs").name == "theirs"  # named, either one can be used


def test_a_sweep_created_here_is_the_default_whatever_the_dates(clone: Path) -> None:
    create_sweep(clone / "spec.yaml", clone, name="mine")
    repo = open_repository(clone)
    assert find_sweep(repo).name == "mine"
    forge(clone, "later", "2999-01-01T00:00:00+00:00")  # fetched later: still not the default
    assert find_sweep(repo).name == "mine"
    assert cli("list", repo=clone).exit_code == 0


def test_without_a_future_date_the_newest_is_the_default(tmp_path: Path) -> None:
    origin = make_repo(tmp_path / "origin", {"m.py": "a = 0\n", "spec.yaml": SPEC})
    create_sweep(origin / "spec.yaml", origin, name="theirs")
    forge(origin, "older", "2020-01-01T00:00:00+00:00")
    forge(origin, "undated", "yesterday")  # not a date: sorts after every date, so it is refused
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    with pytest.raises(SweepError, match="undated"):
        find_sweep(open_repository(clone))
    git(clone, "tag", "-d", "gitgrid/undated")
    assert find_sweep(open_repository(clone)).name == "theirs"  # a clone's newest, as before
