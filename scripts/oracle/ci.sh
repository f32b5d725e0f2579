#!/bin/bash
# Kernel oracle for CI: boots every case of scripts/oracle/cases.txt under QEMU (TCG) with each of Debian 12's
# kernels (6.1 and 6.12), two boots at a time, and compares each with simrun under the rules of the version the
# guest reports. Prints one line per boot, then every mismatch with both sides, then where the two kernels
# answered differently (the simulator matched both, or a mismatch says where not), then the times.
#
#   scripts/oracle/ci.sh [--cases FILE] [--out DIR] [--jobs N] [--budget SECONDS] [--kernels "6.1 6.12"] [NAME ...]
#
# NAME limits the run to those cases. Each command line boots under 6.1, then 6.12, so a run cut short by the
# budget still judges both on the first cases. Boots that would start after the budget (default 540 s from the
# start, so the oracle stays under 10 minutes of CI) are skipped and listed. Exit status: 0 all boots that
# ran match, 1 a mismatch, 2 a boot or harness failure; with ORACLE_STRICT_BUDGET=1 skipped boots give 3.
set -u
source "$(dirname "$0")/lib.sh"

cases=$ORACLE_SCRIPTS/cases.txt
out=$ORACLE_CACHE/ci
jobs=2
budget=540
kernels="6.1 6.12"
while [ $# -gt 0 ]; do
    case $1 in
        --cases) cases=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --budget) budget=$2; shift 2 ;;
        --kernels) kernels=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
only=" $* "

start=$(date +%s)
# Each kernel's image and initramfs: SERIES|VMLINUZ|INITRAMFS|KERNEL_DIR.
declare -A kernel_files=()
for series in $kernels; do
    ORACLE_KERNEL_SERIES=$series oracle_prepare
    kernel_files[$series]="$ORACLE_VMLINUZ|$ORACLE_INITRAMFS|$ORACLE_KERNEL_DIR"
    oracle_log "kernel $series: $(basename "$ORACLE_KERNEL_DIR") ($ORACLE_KERNEL_RELEASE)"
done
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
        for series in $kernels; do
            printf '%s|%s|%s|%s|%s\n' "$series" "${kernel_files[$series]}" "$topology" "$c" "$out/runs/$series/$name/$n" >> "$jobfile"
        done
        n=$((n + 1))
    done
done < "$cases"

total=$(wc -l < "$jobfile")
oracle_log "$total boots ($kernels), $jobs at a time, budget ${budget}s"
export ORACLE_ROOT ORACLE_SCRIPTS ORACLE_CACHE ORACLE_SIMRUN
export ORACLE_CI_START=$start ORACLE_CI_BUDGET=$budget
# One boot per line of the job file; a boot that would start after the budget is skipped.
tr '\n' '\0' < "$jobfile" | xargs -0 -P "$jobs" -n 1 bash -c '
    source "$ORACLE_SCRIPTS/lib.sh"
    IFS="|" read -r series ORACLE_VMLINUZ ORACLE_INITRAMFS ORACLE_KERNEL_DIR topology cmdline dir <<< "$1"
    if [ $(( $(date +%s) - ORACLE_CI_START )) -ge "$ORACLE_CI_BUDGET" ]; then
        mkdir -p "$dir" && echo skipped > "$dir/status"
        printf "%-8s %-5s %-24s %-50s over the time budget\n" SKIP "$series" "$(basename "$topology" .xml)" "$cmdline"
        exit 0
    fi
    ORACLE_BOOT_LABEL=$series oracle_boot_and_compare "$topology" "$cmdline" "$dir"
    echo $? > "$dir/status"
    exit 0
' _ | tee "$out/results.txt"

status=0
skipped=0
mismatched=0
failed=0
while IFS='|' read -r series _ _ _ topology cmdline dir; do
    s=$(cat "$dir/status" 2>/dev/null || echo 2)
    case $s in
        skipped) skipped=$((skipped + 1)) ;;
        0) ;;
        1) mismatched=$((mismatched + 1))
           echo
           echo "== $series $(basename "$topology" .xml) [$cmdline]: $dir"
           sed -n '/mismatch/,$p' "$dir/compare.txt"
           [ $status -lt 1 ] && status=1 ;;
        *) failed=$((failed + 1))
           echo
           echo "== $series $(basename "$topology" .xml) [$cmdline]: failed, see $dir"
           tail -n 5 "$dir/export.txt" "$dir/compare.txt" "$dir/qemu.txt" 2>/dev/null
           status=2 ;;
    esac
done < "$jobfile"

# Where the kernels answered differently: the functions, groups, ACS registers and ACS/command-line log lines of
# each pair of boots of one command line. Both matching the simulator means it predicted both answers.
first=${kernels%% *}
differ=0
while IFS='|' read -r series _ _ _ topology cmdline dir; do
    [ "$series" = "$first" ] || continue
    for other in $kernels; do
        [ "$other" = "$first" ] && continue
        odir=$out/runs/$other/${dir#"$out/runs/$first/"}
        [ -s "$dir/guest.txt" ] && [ -s "$odir/guest.txt" ] || continue
        answers() {
            sed -n '/^ORACLE-BEGIN/,/^ORACLE-END/p' "$1" | grep -E '^(device|acs|group) |^log (pci .*ACS|PCI: |PCIe: ATS|Malformed early option|DMAR: IOMMU (en|dis)abled|DMAR: Unknown option)' \
                | grep -v 'Adding to iommu group' | sort
        }
        d=$(diff <(answers "$dir/guest.txt") <(answers "$odir/guest.txt") | grep '^[<>]' | sed "s/^</  $first:/; s/^>/  $other:/")
        [ -n "$d" ] || continue
        differ=$((differ + 1))
        verdicts="$first $(cat "$dir/status" 2>/dev/null), $other $(cat "$odir/status" 2>/dev/null)"
        echo
        echo "== kernels differ: $(basename "$topology" .xml) [$cmdline] (status: $verdicts; 0 = the simulator matched)"
        echo "$d"
    done
done < "$jobfile"

end=$(date +%s)
boots=$(cat "$out"/runs/*/*/*/seconds 2>/dev/null | wc -l)
retried=$(ls "$out"/runs/*/*/*/retried 2>/dev/null | wc -l)
sum=$(cat "$out"/runs/*/*/*/seconds 2>/dev/null | awk '{ s += $1; if ($1 > m) m = $1 } END { printf "%.0f s in all, longest %.1f s", s, m }')
echo
echo "oracle: $total boots: $((total - mismatched - failed - skipped)) match, $mismatched mismatch, $failed failed, $skipped skipped; $boots booted ($sum, $retried retried); $differ command lines where the kernels differ; wall $((end - start)) s"
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
