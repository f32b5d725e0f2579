#!/bin/bash
# Kernel oracle for CI: boots every case of scripts/oracle/cases.txt under QEMU (TCG), two at a time, and
# compares each with simrun. Prints one line per boot, then every mismatch with both sides, then the times.
#
#   scripts/oracle/ci.sh [--cases FILE] [--out DIR] [--jobs N] [--budget SECONDS] [NAME ...]
#
# NAME limits the run to those cases. Boots that would start after the budget (default 540 s from the
# start, so the oracle stays under 10 minutes of CI) are skipped and listed. Exit status: 0 all boots that
# ran match, 1 a mismatch, 2 a boot or harness failure; with ORACLE_STRICT_BUDGET=1 skipped boots give 3.
set -u
source "$(dirname "$0")/lib.sh"

cases=$ORACLE_SCRIPTS/cases.txt
out=$ORACLE_CACHE/ci
jobs=2
budget=540
while [ $# -gt 0 ]; do
    case $1 in
        --cases) cases=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --budget) budget=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
only=" $* "

start=$(date +%s)
oracle_prepare
oracle_simrun
rm -rf "$out" && mkdir -p "$out/topologies"
jobfile=$out/jobs.txt
: > "$jobfile"
trim() { sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }
while IFS= read -r line; do
    case $line in ''|'#'*) continue ;; esac
    name=$(echo "$line" | cut -d'|' -f1 | trim)
    source=$(echo "$line" | cut -d'|' -f2 | trim)
    cmdlines=$(echo "$line" | cut -d'|' -f3- | trim)
    [ "$only" = "  " ] || [[ $only == *" $name "* ]] || continue
    topology=$out/topologies/$name.xml
    case $source in
        generate\ *)
            # shellcheck disable=SC2086
            "$ORACLE_SIMRUN" generate --qemu --gpus 0 --name "$name" ${source#generate } -o "$topology" \
                || oracle_die "case $name: simrun generate failed" ;;
        *)
            cp "$ORACLE_ROOT/$source" "$topology" || oracle_die "case $name: no file $source" ;;
    esac
    n=0
    IFS=';' read -ra lines <<< "$cmdlines"
    for c in "${lines[@]}"; do
        c=$(echo "$c" | trim)
        [ "$c" = - ] && c=
        printf '%s|%s|%s\n' "$topology" "$c" "$out/runs/$name/$n" >> "$jobfile"
        n=$((n + 1))
    done
done < "$cases"

total=$(wc -l < "$jobfile")
oracle_log "$total boots, $jobs at a time, budget ${budget}s"
export ORACLE_ROOT ORACLE_SCRIPTS ORACLE_CACHE ORACLE_SIMRUN ORACLE_VMLINUZ ORACLE_INITRAMFS ORACLE_KERNEL_DIR
export ORACLE_CI_START=$start ORACLE_CI_BUDGET=$budget
# One boot per line of the job file; a boot that would start after the budget is skipped.
tr '\n' '\0' < "$jobfile" | xargs -0 -P "$jobs" -n 1 bash -c '
    source "$ORACLE_SCRIPTS/lib.sh"
    IFS="|" read -r topology cmdline dir <<< "$1"
    if [ $(( $(date +%s) - ORACLE_CI_START )) -ge "$ORACLE_CI_BUDGET" ]; then
        mkdir -p "$dir" && echo skipped > "$dir/status"
        printf "%-8s %-28s %-50s over the time budget\n" SKIP "$(basename "$topology" .xml)" "$cmdline"
        exit 0
    fi
    oracle_boot_and_compare "$topology" "$cmdline" "$dir"
    echo $? > "$dir/status"
    exit 0
' _ | tee "$out/results.txt"

status=0
skipped=0
mismatched=0
failed=0
while IFS='|' read -r topology cmdline dir; do
    s=$(cat "$dir/status" 2>/dev/null || echo 2)
    case $s in
        skipped) skipped=$((skipped + 1)) ;;
        0) ;;
        1) mismatched=$((mismatched + 1))
           echo
           echo "== $(basename "$topology" .xml) [$cmdline]: $dir"
           sed -n '/mismatch/,$p' "$dir/compare.txt"
           [ $status -lt 1 ] && status=1 ;;
        *) failed=$((failed + 1))
           echo
           echo "== $(basename "$topology" .xml) [$cmdline]: failed, see $dir"
           tail -n 5 "$dir/export.txt" "$dir/compare.txt" "$dir/qemu.txt" 2>/dev/null
           status=2 ;;
    esac
done < "$jobfile"
end=$(date +%s)
boots=$(cat "$out"/runs/*/*/seconds 2>/dev/null | wc -l)
sum=$(cat "$out"/runs/*/*/seconds 2>/dev/null | awk '{ s += $1; if ($1 > m) m = $1 } END { printf "%.0f s in all, longest %.1f s", s, m }')
echo
echo "oracle: $total boots: $((total - mismatched - failed - skipped)) match, $mismatched mismatch, $failed failed, $skipped skipped; $boots booted ($sum); wall $((end - start)) s"
if [ $skipped -gt 0 ]; then
    echo "oracle: $skipped boots skipped over the ${budget}s budget (raise --budget, or --jobs on a bigger machine)"
    [ "${ORACLE_STRICT_BUDGET:-0}" = 1 ] && [ $status -eq 0 ] && status=3
fi
# The mapping oracle (docs/MAPPING.md): two more boots, the mapping scripts on the guest kernel's VFIO type1 under
# 6.1 and 6.12 against the simulated backend (scripts/oracle/vfio/run.sh, about 20 s each).
for kernel in 6.1 6.12; do
    "$ORACLE_SCRIPTS/vfio/run.sh" --kernel "$kernel" --out "$out/vfio-$kernel"
    vfio_status=$?
    [ $vfio_status -eq 3 ] && continue   # that kernel is not in the apt sources: said, and skipped
    [ $vfio_status -gt $status ] && status=$vfio_status
done
exit $status
