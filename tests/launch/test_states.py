"""PBS and LSF task states read back from their own commands' output, recorded in the format each
documents (no PBS or LSF cluster could be installed here: SLURM's reader is tested on a real one, in
tests/cluster). The commands are run for real, as scripts on PATH that print the recorded output and
keep the arguments they were given."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from gitgrid.cluster.scheduler import CANCELLED, DONE, FAILED, PENDING, RUNNING, TIMEOUT
from gitgrid.launch.lsf import LsfScheduler, bjobs_states
from gitgrid.launch.pbs import PbsScheduler, qstat_states
from gitgrid.launch.slurm import SlurmScheduler

GOLDEN = Path(__file__).parent.parent / "cluster" / "golden"


class _Job(NamedTuple):
    job_id: str
    submission: str
    tasks: int
    submitted: float = 1_700_000_000.0


def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program: str, output: Path) -> Path:
    """``program`` on PATH: prints ``output``, writes its arguments to the file it returns."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    args = tmp_path / f"{program}.args"
    script = folder / program
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {args}\ncat {output}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return args


def test_qstat_subjobs_give_each_task_its_state() -> None:
    found = qstat_states((GOLDEN / "qstat-array.txt").read_text(), "4242[].pbs01")
    assert {task: state.state for (_, task), state in found.items()} == {
        0: DONE, 1: FAILED, 2: TIMEOUT, 3: CANCELLED, 4: CANCELLED, 5: RUNNING, 6: PENDING,
    }  # fmt: skip
    assert found[("4242[].pbs01", 2)].detail == "X (Exit_status -29: walltime exceeded)"
    assert found[("4242[].pbs01", 3)].detail == "X (Exit_status 271: killed by signal 15)"
    assert found[("4242[].pbs01", 4)].detail == "X (deleted before it ran)"
    assert found[("4242[].pbs01", 1)].detail == "X (Exit_status 3)"
    assert not qstat_states("qstat: Unknown Job Id 4242[].pbs01\n", "4242[].pbs01")


def test_pbs_asks_qstat_for_subjobs_and_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = recorder(tmp_path, monkeypatch, "qstat", GOLDEN / "qstat-array.txt")
    found = PbsScheduler().states([_Job("4242[].pbs01", str(tmp_path), 7)])
    assert args.read_text().split() == ["-t", "-f", "-x", "4242[].pbs01"]
    assert len(found) == 7 and found[("4242[].pbs01", 0)].state == DONE


def test_bjobs_elements_give_each_task_its_state() -> None:
    found = bjobs_states((GOLDEN / "bjobs-array.txt").read_text())
    assert {task: state.state for (_, task), state in found.items()} == {
        1: DONE, 2: FAILED, 3: TIMEOUT, 4: CANCELLED, 5: RUNNING, 6: PENDING, 7: FAILED,
    }  # fmt: skip
    assert found[("5151", 2)].detail == "EXIT (exit code 3)"
    assert found[("5151", 7)].detail.endswith(
        "TERM_MEMLIMIT: job killed after reaching LSF memory usage limit"
    )


def test_lsf_asks_bjobs_for_every_element(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = recorder(tmp_path, monkeypatch, "bjobs", GOLDEN / "bjobs-array.txt")
    found = LsfScheduler().states([_Job("5151", str(tmp_path), 7)])
    assert args.read_text().splitlines() == [
        "-a", "-noheader", "-o", "jobid jobindex stat exit_code exit_reason delimiter='|'", "5151",
    ]  # fmt: skip
    assert len(found) == 7


def test_lsf_gets_its_script_on_stdin_not_through_a_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bsub < job.sh`` without a shell: the script is the standard input of an argument list."""
    folder = tmp_path / "bin"
    folder.mkdir()
    seen = tmp_path / "seen"
    (folder / "bsub").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}.args\ncat > {seen}\necho "Job <77> is submitted"\n'
    )
    (folder / "bsub").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n#BSUB -q short\n")
    assert LsfScheduler().submit(script, "manifest-0.jsonl", 3, 2, tmp_path) == "77"
    assert seen.read_text() == script.read_text()
    assert Path(f"{seen}.args").read_text().split() == [
        "-J", "gitgrid[1-3]%2", "-env", "all,GITGRID_MANIFEST=manifest-0.jsonl",
    ]  # fmt: skip


def test_sacct_reads_only_jobs_alive_since_the_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job ids come round again while the accounting keeps every job: an earlier job 809's COMPLETED
    tasks must not stand for the tasks of a job 809 cancelled now (seen on a restarted controller)."""
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    for program in ("squeue", "scontrol"):
        recorder(tmp_path, monkeypatch, program, empty)
    args = recorder(tmp_path, monkeypatch, "sacct", empty)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        SlurmScheduler().states([_Job("809", str(tmp_path), 12, submitted=1_765_118_394.0)])
    finally:
        monkeypatch.undo()
        time.tzset()
    given = args.read_text().split()
    assert given[given.index("-S") + 1] == "2025-12-07T14:29:54"  # the submission, less ten minutes
    assert given[given.index("-j") + 1] == "809"
