#!/bin/bash
# gitgrid array job: sweep grid_search-2026-11-18, 12 points in 6 tasks of up to 2.
# Each task runs its points from the manifest in $GITGRID_MANIFEST (docs/cluster.md); rendered by gitgrid submit.
#PBS -N gitgrid-grid_search-2026-11-18
#PBS -j oe
#PBS -o "SUBMISSION/logs/"
#PBS -q short
#PBS -l walltime=1:00:00
#PBS -l mem=4G
set -eu
module load python/3.11
export GITGRID_TASK_ID="${PBS_ARRAY_INDEX:-${PBS_ARRAYID}}"
export GITGRID_JOB_ID="${PBS_ARRAY_ID:-${PBS_JOBID}}_${GITGRID_TASK_ID}"
exec PYTHON -m gitgrid task SUBMISSION "${GITGRID_MANIFEST:?the manifest of this array}"
# qsub -J 0-5%4 -v GITGRID_MANIFEST=SUBMISSION/manifest-0.jsonl SUBMISSION/job.sh
