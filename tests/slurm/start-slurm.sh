#!/usr/bin/env bash
# Single-node SLURM (munge, slurmctld, slurmd, optional slurmdbd+MariaDB) on Debian 12, root, no systemd.
# Idempotent. Env: SLURM_CI_DIR SLURM_CI_CPUS SLURM_CI_MEM_MB SLURM_CI_TIMEOUT SLURM_CI_ACCOUNTING(1|0)
# SLURM_CI_MAX_ARRAY. Taken from the workplace's shared/slurm and owned by gitgrid from here on.
set -euo pipefail
DIR=${SLURM_CI_DIR:-/tmp/slurm-ci}; CPUS=${SLURM_CI_CPUS:-$(nproc)}; TIMEOUT=${SLURM_CI_TIMEOUT:-60}
MEM=${SLURM_CI_MEM_MB:-$(awk '/^MemTotal:/{printf "%d",$2/1024*0.9}' /proc/meminfo)}
ACCT=${SLURM_CI_ACCOUNTING:-1}; NODE=localhost   # fixed name: independent of hostname/DNS
MAXARRAY=${SLURM_CI_MAX_ARRAY:-1001}             # gitgrid's tests use a small one to exercise array splits
log() { echo "[start-slurm] $*" >&2; }
die() { log "ERROR: $*"; for f in "$DIR"/log/slurm{dbd,ctld,d}.log /var/log/munge/munged.log; do
          [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; } >&2; done; exit 1; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
launch() { local pf=$1; shift; log "starting $1"; rm -f "$pf"; "$@" || die "$1 failed"
  for _ in $(seq 100); do alive "$pf" && return 0; sleep 0.1; done   # pid file comes after fork
  die "$1 exited right after start"; }
stop_pid() { alive "$1" || return 0; local p; p=$(cat "$1"); kill "$p"
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null || true; }
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
mkdir -p "$DIR"/{ctld,spool,log}

# 1. install (policy-rc.d stops postinst from starting services)
pkgs="munge slurmctld slurmd slurm-client"; [ "$ACCT" = 1 ] && pkgs="$pkgs slurmdbd mariadb-server"
missing=""; for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing:$missing"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } >"$DIR/log/apt.log" 2>&1 \
    || { tail -n 30 "$DIR/log/apt.log" >&2; die "apt failed"; }
fi

# 2. munge: key, /run/munge (normally made by systemd), daemon as user munge
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge /var/lib/munge /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"; runuser -u munge -- /usr/sbin/munged --force --num-threads=4 || die "munged failed"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munge not working"
fi

# 3. config; a change restarts the daemons
if [ "$ACCT" = 1 ]; then ACCT_CONF="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux"
else ACCT_CONF="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"; fi
conf="ClusterName=ci
SlurmctldHost=$NODE
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
$ACCT_CONF
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
MinJobAge=3600
MaxJobCount=100000
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MaxArraySize=$MAXARRAY
DependencyParameters=kill_invalid_depend
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP"
dbd="AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurmci
StorageLoc=slurm_acct_db
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/slurmdbd.pid"
restart=0; mkdir -p /etc/slurm
[ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" = "$conf" ] || { echo "$conf" >/etc/slurm/slurm.conf; restart=1; }
if [ "$ACCT" = 1 ]; then
  [ "$(cat /etc/slurm/slurmdbd.conf 2>/dev/null)" = "$dbd" ] || { echo "$dbd" >/etc/slurm/slurmdbd.conf; restart=1; }
  chmod 600 /etc/slurm/slurmdbd.conf   # slurmdbd refuses a readable file
fi
if [ $restart = 1 ] && { alive "$DIR/slurmd.pid" || alive "$DIR/slurmctld.pid" || alive "$DIR/slurmdbd.pid"; }; then
  log "config changed: restarting"; stop_pid "$DIR/slurmd.pid"; stop_pid "$DIR/slurmctld.pid"; stop_pid "$DIR/slurmdbd.pid"
fi

# 4. daemons
started=0
if [ "$ACCT" = 1 ]; then
  mysqladmin ping >/dev/null 2>&1 || { log "starting mariadb"; /etc/init.d/mariadb start >/dev/null || die "mariadb failed"; }
  mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmci';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" || die "mariadb user"
  alive "$DIR/slurmdbd.pid" || { launch "$DIR/slurmdbd.pid" slurmdbd; started=1; }
  end=$((SECONDS + TIMEOUT))
  until sacctmgr -n show cluster >/dev/null 2>&1; do   # slurmctld auto-registers the cluster
    [ $SECONDS -lt $end ] && alive "$DIR/slurmdbd.pid" || die "slurmdbd not answering"; sleep 0.5; done
fi
alive "$DIR/slurmctld.pid" || { launch "$DIR/slurmctld.pid" slurmctld; started=1; }
alive "$DIR/slurmd.pid" || { launch "$DIR/slurmd.pid" slurmd -N "$NODE"; started=1; }

# 5. wait until the node takes jobs, then smoke-test
end=$((SECONDS + TIMEOUT))
while :; do
  st=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  case "$st" in idle|mixed|allocated|completing) break ;;
    *drain*|down*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;; esac
  [ $SECONDS -lt $end ] || die "node state '$st' after ${TIMEOUT}s"
  alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid" || die "slurm daemon died"; sleep 0.5
done
[ $started = 0 ] || timeout "$TIMEOUT" srun -t 1 true || die "smoke test 'srun true' failed"
log "ready: $NODE CPUs=$CPUS RealMemory=$MEM accounting=$ACCT logs=$DIR/log"
