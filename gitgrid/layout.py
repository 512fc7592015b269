"""Everything gitgrid keeps on disk outside history: the one place that builds and parses those paths.

In the repository (the *home*, excluded from git)::

    .gitgrid/
        results.db                          the results store (SQLite)
        locks/<sweep>.lock                  held while a runner runs that sweep
        locks/<sweep>.optimize.lock         held while ``gitgrid optimize`` grows that sweep
        runs/                               the default runs root (``--runs-root``, ``gitgrid.runsRoot``)

In the git dir, beside git's own bookkeeping::

    .git/gitgrid/worktrees/w<k>             worker k's checkout (a git worktree)
    .git/gitgrid/worktrees/w<k>.lock        held while a runner uses it
    .git/gitgrid/worktrees/w<k>.setup.json  which --setup ran there, for which base
    .git/gitgrid/store.json                 which file is the store gitgrid created (device, inode):
                                            a store that is not that file was copied in (#17)
    .git/gitgrid/created                    the sweeps created in this clone (one JSON name a line):
                                            the default sweep is one of them when there are any
    .git/gitgrid/worktrees/w<k>.build.json  what its builds read and were built from (stale builds)
    .git/gitgrid/code.index                 the index ``gitgrid analyze`` hashes the working tree with

Under the runs root (on a cluster: storage every node reaches)::

    <sweep>/<index>-<commit12>/attempt-<n>/ a run directory (GITGRID_RUN_DIR): meta.json, result.json,
                                            series.jsonl, stdout.log, stderr.log, build.log (with
                                            --build)
    <sweep>/setup/worker-<k>.log            output of --setup in worker k
    <sweep>/setup/<host>-slot-<k>.log       output of --setup in a node's (or Dask worker's) checkout
    <sweep>/submissions/<time>-<pid>-<n>/   one submission: job.sh, manifest-<n>.jsonl, submission.json,
                                            logs/
    <sweep>/stages/<stage>/                 the runs of a stage (``gitgrid analyze``), whose records are
                                            the sweep ``<sweep>:<stage>``: its point folders and their
                                            attempts as above (a stage directory: GITGRID_STAGE_DIR),
                                            its setup/ and submissions/, and all/attempt-<n>/ for
                                            ``analyze --all`` (with manifest.jsonl)

In node-local scratch (``$TMPDIR``, else ``/tmp``, or ``--opt scratch=DIR``), in a folder of the user's::

    gitgrid-<user>/<repo hash>/slot-<k>     a node's checkout, with slot-<k>.lock (removed when its task
                                            ends, unless ``--opt keep-scratch=yes``), slot-<k>.setup.json
                                            and slot-<k>.build.json

Run directories are keyed by sweep, point index and commit, never by time, so two runs never collide.

A cloned repository may commit a symlink where one of these places goes (``.gitgrid -> ../elsewhere``,
``.gitgrid/runs/<sweep> -> /tmp/x``), to make gitgrid write outside it (#9). Every place built here is
refused when any part of its path below the repository's top (or below the runs root) is a symlink; and a
sweep name that could climb out (``..``, an absolute path) is refused as a path even though sweep names
are checked where they are read.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pwd
import re
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from gitgrid.errors import RunError, excerpt

__all__ = [
    "BUILD_LOG",
    "ENV_FILE",
    "META",
    "RESULT",
    "RUNS_ROOT_KEY",
    "SERIES",
    "STAGE_MANIFEST",
    "STDERR",
    "STDOUT",
    "SUBMISSION",
    "Layout",
    "Submission",
    "attempt_number",
    "attempts_in",
    "build_record",
    "check_no_symlink",
    "claim_attempt",
    "created_sweeps",
    "node_checkout",
    "node_checkouts",
    "node_lock",
    "node_setup_log",
    "node_setup_stamp",
    "node_slots",
    "parse_point_dir",
    "point_dir",
    "run_dir_problem",
    "scratch_root",
    "stage_all_dir",
    "sweep_runs",
]

HOME = ".gitgrid"
STORE = "results.db"
RUNS_ROOT_KEY = "gitgrid.runsRoot"
META, RESULT, STDOUT, STDERR = "meta.json", "result.json", "stdout.log", "stderr.log"
SERIES = "series.jsonl"  # metrics over time, one JSON object a line (GITGRID_SERIES)
BUILD_LOG = "build.log"  # output of ``--build`` for this point, in its run directory
SUBMISSION = "submission.json"
STAGE_MANIFEST = "manifest.jsonl"  # analyze --all: the points it was given, in its stage directory
ENV_FILE = "gitgrid.env"  # in a folder made by ``gitgrid prepare``: the contract, to ``source``

_ATTEMPT = re.compile(r"^attempt-(\d+)$")
_POINT = re.compile(r"^(\d+)-([0-9a-f]{7,40})$")


class _Repo(Protocol):
    """What the layout needs of a repository: its top, its git dir and its config."""

    @property
    def root(self) -> Path: ...
    @property
    def git_dir(self) -> Path: ...
    def config(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class Layout:
    """The places of one repository's runs."""

    home: Path
    runs_root: Path
    store: Path
    locks: Path
    worktrees: Path

    @classmethod
    def of(cls, repo: _Repo, runs_root: Path | None = None) -> Layout:
        """The layout of ``repo``; ``runs_root`` (from the command line) wins over the config key."""
        home = repo.root / HOME
        configured = repo.config(RUNS_ROOT_KEY)
        root = runs_root or (Path(configured) if configured else home / "runs")
        if not root.is_absolute():
            root = (repo.root / root) if runs_root is None else root.resolve()
        layout = cls(
            home=home,
            runs_root=root,
            store=home / STORE,
            locks=home / "locks",
            worktrees=repo.git_dir / "gitgrid" / "worktrees",
        )
        defaults = (layout.store, layout.locks, layout.runs_root) if root == home / "runs" else ()
        for place in defaults or (layout.store, layout.locks):
            check_no_symlink(repo.root, place)
        check_no_symlink(repo.git_dir, layout.worktrees)
        return layout

    @property
    def exclude_pattern(self) -> str:
        """The ``.git/info/exclude`` line that keeps the home out of commits."""
        return f"/{HOME}/"

    def ensure(self) -> None:
        """Create the home and the runs root; refuse a runs root gitgrid cannot write, and a home that is
        a file or cannot be made, in one line each."""
        for folder in (self.home, self.locks):
            try:
                folder.mkdir(exist_ok=True)
            except FileExistsError:
                raise RunError(
                    f"{folder} is a file, not a folder: gitgrid keeps its store, locks and runs there; "
                    "move the file away"
                ) from None
            except OSError as exc:
                raise RunError(f"{folder} cannot be created: {exc.strerror}") from None
        try:
            self.runs_root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"runs root {self.runs_root} cannot be created: {exc.strerror}") from None
        if not os.access(self.runs_root, os.W_OK | os.X_OK):
            raise RunError(f"runs root {self.runs_root} is not writable (set --runs-root or {RUNS_ROOT_KEY})")

    # locks and checkouts ----------------------------------------------------------------------------
    def sweep_lock(self, sweep: str) -> Path:
        _sweep_part(sweep)
        lock = self.locks / (sweep.replace("/", "%2F") + ".lock")
        check_no_symlink(self.locks, lock)
        return lock

    def optimize_lock(self, sweep: str) -> Path:
        _sweep_part(sweep)
        lock = self.locks / (sweep.replace("/", "%2F") + ".optimize.lock")
        check_no_symlink(self.locks, lock)
        return lock

    def worker_checkout(self, number: int) -> Path:
        return self.worktrees / f"w{number}"

    def worker_lock(self, number: int) -> Path:
        return self.worktrees / f"w{number}.lock"

    def setup_stamp(self, number: int) -> Path:
        return self.worktrees / f"w{number}.setup.json"

    @property
    def code_index(self) -> Path:
        """The index ``gitgrid analyze`` snapshots the working tree with (kept: its stat cache makes the
        next snapshot cheap)."""
        return self.worktrees.parent / "code.index"

    @property
    def store_record(self) -> Path:
        """Where gitgrid notes which file is the store it created (in the git dir: never cloned)."""
        return self.worktrees.parent / "store.json"

    # under the runs root ----------------------------------------------------------------------------
    def sweep_runs(self, sweep: str) -> Path:
        """The folder of every run of ``sweep``."""
        return sweep_runs(self.runs_root, sweep)

    def point_dir(self, sweep: str, index: int, commit: str, count: int) -> Path:
        return point_dir(self.runs_root, sweep, index, commit, count)

    def probes(self, sweep: str) -> list[Path]:
        """The files runs-root checks write and remove at once (``.probe-*``): left only by a crash."""
        folder = self.sweep_runs(sweep)
        return sorted(folder.glob(".*probe-*")) if folder.is_dir() else []

    def check_writable(self, sweep: str) -> None:
        """Make the sweep's runs folder and prove a file can be written there (``OSError`` if not)."""
        folder = self.sweep_runs(sweep)
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()

    def setup_log(self, sweep: str, worker: int) -> Path:
        log = self.sweep_runs(sweep) / "setup" / f"worker-{worker}.log"
        check_no_symlink(self.runs_root, log)
        return log

    def new_submission(self, sweep: str, claim: bool = True) -> Submission:
        """A submission folder no other submission has: named by the time, this process and a number,
        and (``claim``) made at once by an exclusive ``mkdir``, so that two submissions in one second
        (an optimiser's batches) never share one. Unclaimed (``--dry-run``): the name it would have."""
        folder = self._submissions(sweep)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"
        for number in itertools.count(1):
            place = folder / f"{stamp}-{number}"
            check_no_symlink(self.runs_root, place)
            if not claim:
                if not place.exists():
                    return Submission(place)
                continue
            place.parent.mkdir(parents=True, exist_ok=True)
            try:
                place.mkdir()
            except FileExistsError:
                continue
            return Submission(place)
        raise AssertionError("unreachable")  # pragma: no cover

    def submission_records(self, sweep: str) -> list[Path]:
        """The ``submission.json`` of every submission of ``sweep`` under this runs root, oldest first."""
        folder = self._submissions(sweep)
        return sorted(folder.glob(f"*/{SUBMISSION}")) if folder.is_dir() else []

    def _submissions(self, sweep: str) -> Path:
        return self.sweep_runs(sweep) / "submissions"


@dataclass(frozen=True)
class Submission:
    """The files of one submission to a batch scheduler."""

    folder: Path

    @property
    def job_script(self) -> Path:
        return self.folder / "job.sh"

    @property
    def record(self) -> Path:
        return self.folder / SUBMISSION

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    def manifest(self, number: int) -> Path:
        return self.folder / f"manifest-{number}.jsonl"

    @property
    def failures(self) -> Path:
        """A file per run of this submission that failed or timed out (for ``--halt-after``)."""
        return self.folder / "failures"

    @property
    def halted(self) -> Path:
        """Made when ``--halt-after`` stopped a task: points it did not start are not failures."""
        return self.folder / "halted"

    def task_state(self, job: str, task: int) -> Path:
        """The state file of one task of a local array (:mod:`gitgrid.launch.local_array`)."""
        return self.folder / "tasks" / f"{job}_{task}"

    def array_host(self, job: str) -> Path:
        """The lock a local array's host process holds while it lives, with its pid in it."""
        return self.folder / "tasks" / f"{job}.pid"

    def task_log(self, job: str, task: int) -> Path:
        """A local array task's output (as ``slurm-<job>_<task>.out`` is SLURM's)."""
        return self.logs / f"local-{job}_{task}.out"


def created_sweeps(git_dir: Path) -> Path:
    """The note of the sweeps created in this clone (the git dir is never cloned)."""
    note = git_dir / "gitgrid" / "created"
    check_no_symlink(git_dir, note)
    return note


def sweep_runs(runs_root: Path, sweep: str) -> Path:
    """The folder of every run of ``sweep`` under ``runs_root``; refused when a symlink is on the way."""
    folder = runs_root / _sweep_part(sweep)
    check_no_symlink(runs_root, folder)
    return folder


def point_dir(runs_root: Path, sweep: str, index: int, commit: str, count: int) -> Path:
    """The folder of one point's attempts: index zero-padded to the sweep's width, and the commit."""
    width = max(5, len(str(count - 1)))
    folder = runs_root / _sweep_part(sweep) / f"{index:0{width}d}-{commit[:12]}"
    check_no_symlink(runs_root, folder)
    return folder


def check_no_symlink(top: Path, place: Path) -> None:
    """Refuse ``place`` when a part of its path below ``top`` that exists is a symlink.

    ``top`` itself may be reached through symlinks (a runs root on ``/scratch -> /lustre/...`` is the
    user's choice); what lies below it is gitgrid's, and a symlink there was put by someone else.
    """
    try:
        parts = place.relative_to(top).parts
    except ValueError:
        return  # a place outside ``top`` (a runs root elsewhere): its own top is checked by its caller
    current = top
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise RunError(
                f"{current} is a symlink; gitgrid keeps its files only in real folders of the repository "
                "(a cloned repository may have committed it to make gitgrid write elsewhere): remove it"
            )
        if not current.exists():
            return


def stage_all_dir(runs_root: Path, records: str) -> Path:
    """The folder of the attempts of ``analyze --all`` of a stage (``records``: ``<sweep>:<stage>``)."""
    if ":" not in records:
        raise RunError(f"'{excerpt(records)}' names no stage")
    folder = runs_root / _sweep_part(records) / "all"
    check_no_symlink(runs_root, folder)
    return folder


def run_dir_problem(run_dir: str, sweep: str, index: int) -> str | None:
    """Why a run directory read back from a store may not be used as a path, or None when it may.

    A store is not proof of where a run is (it may be a file someone committed or copied, #17): a run
    directory is used only when it has the shape ``<runs root>/<sweep>/<index>-<commit>/attempt-<n>`` of
    that very point (``<runs root>/<sweep>/stages/<stage>/all/attempt-<n>`` for index -1 of a stage's
    records ``<sweep>:<stage>``, the runs of ``analyze --all``), and resolving it (symbolic links, ``..``)
    lands exactly there below its runs root, resolved too. A relative path, another point's folder or a
    link out of the runs root is refused.
    """
    if not isinstance(run_dir, str) or not isinstance(sweep, str) or "\0" in run_dir:
        return "is not a path"
    path = Path(run_dir)
    try:
        names = PurePosixPath(_sweep_part(sweep)).parts
    except RunError:
        return "names a sweep that cannot be a folder"
    parts, depth = path.parts, len(names) + 2
    point = parse_point_dir(parts[-2]) if len(parts) > depth else None
    if index == -1 and ":" in sweep and len(parts) > depth and parts[-2] == "all":
        point = (-1, "")  # a stage over every point (``analyze --all``): <stage folder>/all/attempt-<n>
    if not path.is_absolute() or point is None or attempt_number(parts[-1]) is None:
        return "is not the absolute path of a run directory (<runs root>/<sweep>/<point>/attempt-<n>)"
    if point[0] != index or parts[-depth:-2] != names:
        return f"is not a run directory of point {index} of sweep '{excerpt(sweep)}'"
    root = Path(*parts[:-depth])
    try:
        inside = path.resolve(strict=True) == root.resolve(strict=True).joinpath(*parts[-depth:])
    except (OSError, RuntimeError, ValueError):  # gone, a loop of links, a path the system refuses
        return "does not exist"
    return None if inside else "leaves its runs root through a symbolic link"


def _sweep_part(sweep: str) -> str:
    """A sweep name as a relative path that stays where it is put: no '..', no absolute path. The
    records of a stage (``<sweep>:<stage>``) go to ``<sweep>/stages/<stage>``."""
    sweep, separator, stage = sweep.partition(":")
    path = PurePosixPath(sweep)
    if not path.parts or path.is_absolute() or any(p in ("..", ".") for p in path.parts) or "\\" in sweep:
        raise RunError(f"'{excerpt(sweep)}' cannot name a folder of runs")
    if separator and (not stage or any(c in stage for c in "/\\:.") or stage.startswith("-")):
        raise RunError(f"'{excerpt(stage)}' cannot name a folder of a stage's runs")
    return f"{sweep}/stages/{stage}" if separator else sweep


def parse_point_dir(name: str) -> tuple[int, str] | None:
    """``(index, commit prefix)`` of a point folder's name, or None for any other folder."""
    match = _POINT.match(name)
    return (int(match.group(1)), match.group(2)) if match else None


def attempt_number(name: str) -> int | None:
    """The attempt number of an ``attempt-<n>`` folder's name, or None for any other name."""
    match = _ATTEMPT.match(name)
    return int(match.group(1)) if match else None


def attempts_in(point_folder: Path) -> list[Path]:
    """The attempt folders of a point, in name order (empty when the point has none)."""
    if not point_folder.is_dir():
        return []
    return [p for p in sorted(point_folder.iterdir()) if attempt_number(p.name) is not None]


def claim_attempt(folder: Path, after: int | None = None) -> tuple[int, Path]:
    """Create the next ``attempt-N`` folder; ``mkdir`` is atomic, so two claimants never share one.

    ``after`` is the highest attempt known to exist (from the store): it saves listing the folder.
    """
    if after is None or not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        taken = [n for p in folder.iterdir() if (n := attempt_number(p.name)) is not None]
        after = max(taken, default=0)
    attempt = after + 1
    while True:
        try:
            path = folder / f"attempt-{attempt}"
            path.mkdir()
            return attempt, path
        except FileExistsError:
            attempt += 1


def node_checkouts(scratch: Path, repo: str) -> Path:
    """Where a node keeps its checkouts of ``repo``: a folder of this user's (``gitgrid-<user>``, so that
    cleaning up never touches someone else's on a shared node), one folder per repository within."""
    return scratch_root(scratch) / hashlib.sha1(repo.encode()).hexdigest()[:12]


def scratch_root(scratch: Path) -> Path:
    """This user's folder of checkouts in a scratch folder (``$TMPDIR``, ``/tmp``, ``--opt scratch``)."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = str(os.getuid())
    return scratch / f"gitgrid-{user}"


def node_checkout(folder: Path, number: int) -> Path:
    return folder / f"slot-{number}"


def build_record(checkout: Path) -> Path:
    """Beside a checkout (worker or node), the record of what its builds read and were built from:
    outside it, so no build or ``git clean`` sees it."""
    return checkout.with_name(f"{checkout.name}.build.json")


def node_lock(folder: Path, number: int) -> Path:
    return folder / f"slot-{number}.lock"


def node_slots(folder: Path) -> list[int]:
    """The numbers of the node checkouts in ``folder`` (those with a lock file: made by a task)."""
    if not folder.is_dir():
        return []
    found = (re.fullmatch(r"slot-(\d+)\.lock", entry.name) for entry in folder.iterdir())
    return sorted(int(match.group(1)) for match in found if match)


def node_setup_log(runs_root: Path, sweep: str, host: str, checkout: Path) -> Path:
    """The log of ``--setup`` in a node's (or a Dask worker's) checkout, under the runs root."""
    log = sweep_runs(runs_root, sweep) / "setup" / f"{host}-{checkout.name}.log"
    check_no_symlink(runs_root, log)
    return log


def node_setup_stamp(checkout: Path) -> Path:
    """Which ``--setup`` ran in a node's checkout, for which base (beside the checkout)."""
    return checkout.with_name(checkout.name + ".setup.json")
