"""Acceptance (issue 19) on the real test SLURM cluster: a sweep submitted from one clone as an array
job, its results pushed from there and pulled into another clone, which then shows them exactly."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cluster.test_cluster import slurm, wait_for_jobs  # noqa: F401 (the fixture: the cluster is up)
from tests.helpers import cli, sim, stored_rows
from tests.share.test_round_trip import shown, three


def test_a_sweep_run_on_slurm_is_pulled_into_another_clone(slurm: int, tmp_path: Path) -> None:  # noqa: F811
    _, cluster, laptop = three(tmp_path)
    assert cli("create", "spec.yaml", repo=cluster).exit_code == 0
    submitted = cli("run", "--on", "slurm", "--opt", "time=0:10:00", "--", *sim(), repo=cluster)
    assert submitted.exit_code == 0, submitted.output
    job = re.search(r"as slurm job\(s\) (\d+)$", submitted.stdout.strip()).group(1)  # type: ignore[union-attr]
    wait_for_jobs([job])
    pushed = cli("push", repo=cluster)  # collects the finished run directories first
    assert pushed.exit_code == 0 and "12 new run records" in pushed.stdout, pushed.output
    pulled = cli("pull", repo=laptop)
    assert pulled.exit_code == 0 and "12 runs stored" in pulled.stdout, pulled.output
    assert shown(laptop) == shown(cluster)
    jobs = "SELECT idx, job, host, run_dir IS NULL FROM runs ORDER BY idx"
    assert [row[:3] for row in stored_rows(laptop / ".gitgrid/results.db", jobs)] == [
        row[:3] for row in stored_rows(cluster / ".gitgrid/results.db", jobs)
    ]
    assert [(i, j) for i, j, *_ in stored_rows(laptop / ".gitgrid/results.db", jobs)] == [
        (i, f"{job}_{i}") for i in range(12)
    ]
    assert {row[3] for row in stored_rows(laptop / ".gitgrid/results.db", jobs)} == {1}  # no path pulled
