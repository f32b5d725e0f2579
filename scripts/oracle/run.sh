#!/bin/bash
# Kernel oracle: boots a topology under QEMU (TCG) with Debian's 6.1 kernel, once per kernel command line,
# and compares what Linux reports (IOMMU groups, ACS after boot, IDs, its ACS/group log lines) with simrun.
#
#   scripts/oracle/run.sh [--out DIR] TOPOLOGY.xml [CMDLINE ...]
#
# CMDLINE defaults to "intel_iommu=on" and "intel_iommu=off". For each, DIR/<topology>/<n>/ gets machine.sh
# (the QEMU command), console.log, guest.txt (the guest's report and sysfs archive) and compare.txt; the
# comparison is printed. Exit status: 0 all match, 1 a mismatch, 2 a boot or harness failure.
# See docs/ORACLE.md; environment variables in lib.sh (ORACLE_CACHE, ORACLE_SIMRUN, ...), plus
# ORACLE_BOOT_TIMEOUT (seconds per boot, default 180).
set -u
source "$(dirname "$0")/lib.sh"

out=
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { sed -n '2,12p' "$0"; exit 2; }
topology=$1
shift
[ -f "$topology" ] || oracle_die "no topology file $topology"
[ $# -gt 0 ] || set -- "intel_iommu=on" "intel_iommu=off"
out=${out:-$ORACLE_CACHE/runs}

oracle_prepare
oracle_simrun
name=$(basename "$topology" .xml)
status=0
n=0
for cmdline in "$@"; do
    dir=$out/$name/$n
    n=$((n + 1))
    oracle_boot_and_compare "$topology" "$cmdline" "$dir"
    rc=$?
    cat "$dir/compare.txt" 2>/dev/null
    [ $rc -gt $status ] && status=$rc
done
exit $status
