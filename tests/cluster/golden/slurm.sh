#!/bin/bash
# gitgrid array job: sweep grid_search-2026-11-18, 12 points in 6 tasks of up to 2.
# Each task runs its points from the manifest given as $1 (docs/cluster.md); rendered by gitgrid submit.
#SBATCH --job-name=gitgrid-grid_search-2026-11-18
#SBATCH --output="SUBMISSION/logs/slurm-%A_%a.out"
#SBATCH --partition=short
#SBATCH --time=1:00:00
#SBATCH --mem=4G
set -eu
module load python/3.11
export GITGRID_TASK_ID="$SLURM_ARRAY_TASK_ID" GITGRID_JOB_ID="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
exec PYTHON -m gitgrid task SUBMISSION "${1:?the manifest of this array}"
# sbatch --parsable --array=0-5%4 SUBMISSION/job.sh SUBMISSION/manifest-0.jsonl
