#!/usr/bin/env bash
# The Slurm path of `simrun sweep`, for real: stand up a one-node Slurm cluster on localhost (munged, slurmctld and
# slurmd started here, stopped at the end whatever happens), submit a sweep as a job array with
# contrib/slurm/sweep-array.sbatch, merge the shards with `simrun sweep merge`, and require the merged files to be
# byte-identical to a local single run of the same plan. docs/SWEEPS.md ("On a cluster").
#
#   scripts/slurm-check.sh [SIMRUN] [PLAN]      (defaults: .build/debug/simrun, plans/gpu8-uplinks-nics-acs.xml)
#   SHARDS=4 (array tasks), SWEEP_OPTIONS="--mode flow" (passed to every run), SLURM_CHECK_TIMEOUT=300 (seconds)
#
# Needs root (as CI has): installs Debian's slurmctld, slurmd, slurm-client and munge when missing. Everything the
# cluster writes (key, sockets, state, spool, logs) lives in one private temporary folder; no systemd, no cgroups
# (proctrack/linuxproc, task/none), no accounting.
set -euo pipefail
cd "$(dirname "$0")/.."
simrun=$(realpath "${1:-.build/debug/simrun}")
plan=$(realpath "${2:-plans/gpu8-uplinks-nics-acs.xml}")
shards=${SHARDS:-4}
read -r -a options <<< "${SWEEP_OPTIONS:---mode flow}"
timeout_s=${SLURM_CHECK_TIMEOUT:-300}
started=$(date +%s)

[ -x "$simrun" ] || { echo "slurm-check: error: no simrun at $simrun (swift build first)" >&2; exit 1; }
[ -f "$plan" ] || { echo "slurm-check: error: no plan at $plan" >&2; exit 1; }

need=()
command -v slurmctld >/dev/null 2>&1 || need+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || need+=(slurmd)
command -v sbatch >/dev/null 2>&1 || need+=(slurm-client)
command -v munged >/dev/null 2>&1 || need+=(munge)
if [ ${#need[@]} -gt 0 ]; then
  echo "slurm-check: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge > /dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pciesim-slurm.XXXXXX")
chmod 711 "$work"           # others may pass through (the socket path needs it), not list
mkdir -p "$work/munge" "$work/socket" "$work/state" "$work/spool" "$work/shards"
chmod 700 "$work/munge"
chmod 755 "$work/socket"      # munged requires the socket's folder to be world-executable
export SLURM_CONF="$work/slurm.conf"
host=$(hostname -s)
cpus=$(nproc)

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
show_logs() {
  for log in munge/munged.log slurmctld.log slurmd.log; do
    [ -f "$work/$log" ] && { echo "--- $log (last 20 lines)"; tail -n 20 "$work/$log"; }
  done >&2
}
teardown() {
  local rc=$?
  set +e
  if pid_alive "$work/slurmctld.pid"; then
    # Cancel what is left, wait for the queue to empty, then stop both daemons through the controller.
    squeue -h -o %A | xargs -r scancel 2>/dev/null
    for _ in $(seq 1 30); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 1; done
    scontrol shutdown > /dev/null 2>&1
  fi
  for f in slurmctld.pid slurmd.pid; do
    for _ in $(seq 1 30); do pid_alive "$work/$f" || break; sleep 0.5; done
    pid_alive "$work/$f" && kill -9 "$(cat "$work/$f")" 2>/dev/null
  done
  if pid_alive "$work/munge/munged.pid"; then
    munged --stop --socket="$work/socket/munge.socket" > /dev/null 2>&1 || kill "$(cat "$work/munge/munged.pid")"
  fi
  [ $rc -ne 0 ] && show_logs
  rm -rf "$work"
  exit $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM

# munge: a fresh key; munged as root with every file it keeps in the private folder.
mungekey --create --keyfile="$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
munged --key-file="$work/munge/munge.key" --socket="$work/socket/munge.socket" --pid-file="$work/munge/munged.pid" \
  --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"
munge -n -S "$work/socket/munge.socket" | unmunge -S "$work/socket/munge.socket" > /dev/null

cat > "$SLURM_CONF" <<EOF
ClusterName=pciesim-check
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/socket/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=5
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld
slurmd -N "$host"
for _ in $(seq 1 60); do
  state=$(sinfo -h -N -o %t 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || { echo "slurm-check: error: the node did not come up idle (state '${state:-none}')" >&2; exit 1; }
echo "slurm-check: one-node cluster up on $host ($cpus CPUs) in $(( $(date +%s) - started )) s"

# The sweep as a job array, waited for; every task must succeed (sbatch --wait exits non-zero otherwise).
export SIMRUN="$simrun"
t0=$(date +%s)
timeout "$timeout_s" sbatch --wait --quiet --array="0-$((shards - 1))" --chdir="$work" --output="$work/task-%a.out" \
  contrib/slurm/sweep-array.sbatch "$plan" "$work/shards" "${options[@]}" \
  || { echo "slurm-check: error: the job array failed"; for f in "$work"/task-*.out; do echo "--- $f"; tail -n 20 "$f"; done; exit 1; } >&2
echo "slurm-check: $shards-task job array done in $(( $(date +%s) - t0 )) s"
ran=$(find "$work/shards" -mindepth 2 -maxdepth 2 -name points.tsv | wc -l)
[ "$ran" -eq "$shards" ] || { echo "slurm-check: error: $ran of $shards shards left a journal" >&2; exit 1; }

"$simrun" sweep merge "$work"/shards/shard-* --plan "$plan" --out "$work/merged" > /dev/null
"$simrun" sweep run "$plan" "${options[@]}" --jobs "$cpus" --out "$work/local" > /dev/null 2>&1
for f in results.csv results.json summary.md sweep.html; do
  cmp "$work/merged/$f" "$work/local/$f" || { echo "slurm-check: error: merged $f differs from the local run's" >&2; exit 1; }
done
points=$(( $(wc -l < "$work/local/results.csv") - 1 ))
echo "slurm-check: $points points in $shards Slurm shards, merged: byte-identical to the local run (results.csv, results.json, summary.md, sweep.html); $(( $(date +%s) - started )) s in all"
