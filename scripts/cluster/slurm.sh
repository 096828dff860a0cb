#!/usr/bin/env bash
# A single-node SLURM cluster on this machine (controller and one compute node on 127.0.0.1),
# from the distribution's packages, for trying and testing hydra/launcher=slurm.
#   bash scripts/cluster/slurm.sh up      # installs slurm-wlm + munge if missing (root), starts it
#   export SLURM_CONF=/tmp/genlab-slurm/slurm.conf   # what `up` prints: sbatch, squeue, ... use it
#   bash scripts/cluster/slurm.sh status  # the node and the queue
#   bash scripts/cluster/slurm.sh down    # cancels every job, stops every daemon `up` started
# Made for a container: no cgroups (proctrack/linuxproc, task/none), no accounting database
# (so no sacct). Everything lives in $GENLAB_SLURM_DIR (default /tmp/genlab-slurm); the system's
# /etc/slurm is left alone, so the cluster is reached through SLURM_CONF only.
set -euo pipefail

dir=${GENLAB_SLURM_DIR:-/tmp/genlab-slurm}
conf=$dir/slurm.conf
export SLURM_CONF=$conf

say() { echo "slurm.sh: $*" >&2; }

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && return
  if [[ $(id -u) != 0 ]]; then
    say "slurmctld, slurmd or munged missing; install them as root: apt-get install slurm-wlm munge"
    exit 2
  fi
  say "installing slurm-wlm and munge (apt-get, about a minute)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

start_munge() {
  # munged runs as the munge user; its socket directory is not made by a container's init
  if alive /run/munge/munged.pid; then
    return  # someone else's munged: use it, and leave it running on `down`
  fi
  mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
  fi
  runuser -u munge -- munged
  touch "$dir/munged.ours"
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024)) # MB, 1 GB left to the OS
  mkdir -p "$dir/state" "$dir/spool"
  cat >"$conf" <<EOF
# written by genlab's scripts/cluster/slurm.sh: one node, no cgroups, no accounting
ClusterName=genlab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${GENLAB_SLURM_PORT:-6817}
SlurmdPort=$((${GENLAB_SLURM_PORT:-6817} + 1))
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=10  # seconds a requeued job waits before it may start again (default 120)
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SchedulerParameters=sched_interval=2
KillWait=10
MessageTimeout=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

up() {
  if alive "$dir/slurmctld.pid"; then
    say "already up; export SLURM_CONF=$conf"
    echo "export SLURM_CONF=$conf"
    return
  fi
  if [[ $(id -u) != 0 ]]; then
    say "up needs root: slurmctld and slurmd run as root here, munged as the munge user"
    exit 2
  fi
  install_packages
  mkdir -p "$dir"
  start_munge
  write_conf
  slurmctld -i  # -i: ignore state from an earlier run that was not shut down cleanly
  slurmd -N "$(hostname -s)"
  for _ in $(seq 60); do
    if [[ $(sinfo -h -o %T 2>/dev/null) == idle ]]; then
      say "up: node $(hostname -s), $(nproc) CPUs, partition local"
      echo "export SLURM_CONF=$conf"
      return
    fi
    sleep 1
  done
  say "the node did not become idle within 60 s; see $dir/slurmctld.log and $dir/slurmd.log"
  sinfo >&2 || true
  exit 1
}

stop_pidfile() {  # SIGTERM, then up to 15 s for the daemon to go
  local f=$1
  alive "$f" || return 0
  local pid
  pid=$(cat "$f")
  kill "$pid"
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

down() {
  if alive "$dir/slurmctld.pid"; then
    scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 30); do  # until the jobs' processes are gone (KillWait is 10 s)
      [[ -z $(squeue -h 2>/dev/null) ]] && break
      sleep 1
    done
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  if [[ -f $dir/munged.ours ]]; then
    stop_pidfile /run/munge/munged.pid
  fi
  rm -rf "$dir"
  say "down"
}

status() {
  if ! alive "$dir/slurmctld.pid"; then
    say "down (no slurmctld from $conf)"
    exit 1
  fi
  sinfo
  squeue
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *)
    say "usage: slurm.sh up|down|status"
    exit 2
    ;;
esac
