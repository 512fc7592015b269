#!/bin/bash
# gitgrid array job: sweep grid_search-2026-11-18, 12 points in 6 tasks of up to 2.
# Each task runs its points from the manifest in $GITGRID_MANIFEST (docs/cluster.md); rendered by gitgrid submit.
#BSUB -o "SUBMISSION/logs/lsf-%J_%I.out"
#BSUB -q short
#BSUB -W 1:00:00
#BSUB -M 4G
set -eu
module load python/3.11
export GITGRID_TASK_ID="$((LSB_JOBINDEX - 1))" GITGRID_JOB_ID="${LSB_JOBID}_${LSB_JOBINDEX}"
exec PYTHON -m gitgrid task SUBMISSION "${GITGRID_MANIFEST:?the manifest of this array}"
# bsub -J 'gitgrid[1-6]%4' -env all,GITGRID_MANIFEST=SUBMISSION/manifest-0.jsonl < SUBMISSION/job.sh
