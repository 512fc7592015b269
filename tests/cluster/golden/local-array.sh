#!/bin/bash
# gitgrid array job: sweep grid_search-2026-11-18, 12 points in 6 tasks of up to 2.
# Each task runs its points from the manifest given as $1 (docs/cluster.md); run by gitgrid's local array,
# which sets GITGRID_TASK_ID and GITGRID_JOB_ID as a scheduler would.
set -eu
module load python/3.11
exec PYTHON -m gitgrid task SUBMISSION "${1:?the manifest of this array}"
# PYTHON -m gitgrid.launch.local_array SUBMISSION/job.sh SUBMISSION/manifest-0.jsonl 6 4 3600.0
