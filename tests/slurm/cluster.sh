#!/usr/bin/env bash
# A real single-node SLURM for gitgrid's tests: `cluster.sh start` installs Debian's munge, slurmctld,
# slurmd, slurm-client (and slurmdbd + MariaDB, so that sacct works) and starts them on localhost as
# root, without systemd; `cluster.sh stop [--purge]` stops them. Idempotent. The pitfalls it handles are
# listed in README.md beside it. Environment: SLURM_CI_DIR, SLURM_CI_CPUS, SLURM_CI_MEM_MB,
# SLURM_CI_TIMEOUT, SLURM_CI_ACCOUNTING (1|0), SLURM_CI_MAX_ARRAY (MaxArraySize, default 1001).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
  start) exec bash "$here/start-slurm.sh" ;;
  stop) shift; exec bash "$here/stop-slurm.sh" "$@" ;;
  status) scontrol ping && sinfo ;;
  *) echo "usage: $0 start|stop [--purge]|status" >&2; exit 2 ;;
esac
