#!/bin/bash
# p2pdma oracle: records what a CONFIG_PCI_P2PDMA kernel answers for every p2pmem provider / NVMe client pair
# of the oracle's cases, into scripts/oracle/p2pdma/records/<case>.txt (Tests/SimTests/OracleP2PDMATests.swift
# compares them with the simulator).
#
#   scripts/oracle/p2pdma/record.sh [--kernel 6.1|6.12] [--cases FILE] [--jobs N] [--out DIR] [NAME ...]
#
# --kernel 6.12 boots build-p2pdma-kernel.sh 6.12's kernel ($ORACLE_CACHE/p2pdma-kernel-6.12) and writes
# scripts/oracle/p2pdma/records-6.12/, kept apart from 6.1's records/.
#
# The kernel is scripts/oracle/build-p2pdma-kernel.sh's ($ORACLE_CACHE/p2pdma-kernel/bzImage, everything built
# in: no modules). Cases are the lines of scripts/oracle/cases.txt (or FILE) whose machine, as
# `simrun export qemu` writes it, has an NVMe drive with a CMB (cmb_size_mb); NAME limits the run to those.
# The hand-written cases of scripts/oracle/p2pdma/cases/ (listed below, in the same format) follow; with
# --cases they are left out. Every case boots once per kernel command line of its line, under QEMU (TCG),
# N at a time (default 2); a failed boot is tried once more. Each NVMe drive gets a 16 MiB null-co
# namespace; the guest's /init (init.sh here) enables an nvmet namespace with p2pmem=<provider> over each
# client's block device and reports enable's result and the kernel's log lines.
# Generated cases keep their topology next to the record (records/<case>.xml). Exit status: 0 recorded,
# 2 a boot or harness failure. Environment: see ../lib.sh (ORACLE_CACHE, ORACLE_SIMRUN); ORACLE_BOOT_TIMEOUT
# (seconds per boot, default 240).
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"

cases=$ORACLE_SCRIPTS/cases.txt
jobs=2
out=$ORACLE_CACHE/p2pdma/runs
records=$here/records
series=6.1
# The p2pdma oracle's own cases: ports with ACS on the path, pci=disable_acs_redir, IOMMU off, a Zen CPU.
own_cases="
mf-nvme-acs | scripts/oracle/p2pdma/cases/mf-nvme-acs.xml | intel_iommu=on; intel_iommu=on pci=disable_acs_redir=0000:00:01.0; intel_iommu=off
mf-nvme-acs-zen | scripts/oracle/p2pdma/cases/mf-nvme-acs-zen.xml | intel_iommu=on; intel_iommu=on pci=disable_acs_redir=0000:00:01.0
"
while [ $# -gt 0 ]; do
    case $1 in
        --cases) cases=$2; own_cases=; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --kernel) series=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) break ;;
    esac
done
only=" $* "
invocation="scripts/oracle/p2pdma/record.sh${*:+ $*}"

start=$(date +%s)
case $series in
    6.1) kdir=$ORACLE_CACHE/p2pdma-kernel; recdir=records ;;
    6.12) kdir=$ORACLE_CACHE/p2pdma-kernel-6.12; recdir=records-6.12; out=$out-6.12
          invocation="scripts/oracle/p2pdma/record.sh --kernel 6.12${*:+ $*}" ;;
    *) oracle_die "--kernel must be 6.1 or 6.12" ;;
esac
records=$here/$recdir
kernel=$kdir/bzImage
[ -s "$kernel" ] || oracle_die "no $kernel: run scripts/oracle/build-p2pdma-kernel.sh first (about 10 minutes)"
grep -q '^CONFIG_PCI_P2PDMA=y' "$kdir/config" || oracle_die "$kdir/config has no CONFIG_PCI_P2PDMA=y"
release=$(cat "$kdir/release")
oracle_ensure_packages
oracle_simrun

# The initramfs: static busybox and /init, nothing else (the kernel has everything built in).
stamp=$(cat "$here/init.sh" /bin/busybox | sha256sum | cut -c1-16)
initramfs=$kdir/initramfs-p2pdma-$stamp.cpio.gz
if [ ! -e "$initramfs" ]; then
    oracle_log "building $initramfs"
    rm -f "$kdir"/initramfs-p2pdma-*.cpio.gz
    work=$(mktemp -d)
    mkdir -p "$work"/{bin,dev,proc,sys,tmp}
    cp /bin/busybox "$work/bin/busybox"
    cp "$here/init.sh" "$work/init"
    chmod 755 "$work/init"
    (cd "$work" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -9) > "$initramfs.tmp" && mv "$initramfs.tmp" "$initramfs"
    rm -rf "$work"
fi

rm -rf "$out" && mkdir -p "$out/topologies"
jobfile=$out/jobs.txt
casefile=$out/cases.txt
: > "$jobfile"
: > "$casefile"
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
                || oracle_die "case $name: simrun generate failed"
            origin="generated: simrun generate --qemu --gpus 0 --name $name ${source#generate }" ;;
        *)
            cp "$ORACLE_ROOT/$source" "$topology" || oracle_die "case $name: no file $source"
            origin=$source ;;
    esac
    "$ORACLE_SIMRUN" export qemu "$topology" 2>/dev/null | grep -q -- '-device nvme,.*cmb_size_mb=' || continue
    printf '%s|%s|%s\n' "$name" "$source" "$origin" >> "$casefile"
    n=0
    IFS=';' read -ra lines <<< "$cmdlines"
    for c in "${lines[@]}"; do
        c=$(echo "$c" | trim)
        [ "$c" = - ] && c=
        printf '%s|%s|%s\n' "$topology" "$c" "$out/$name/$n" >> "$jobfile"
        n=$((n + 1))
    done
done < <(cat "$cases"; echo "$own_cases")
[ -s "$jobfile" ] || oracle_die "no case with an NVMe drive with a CMB"

oracle_log "$(wc -l < "$jobfile") boots of $(wc -l < "$casefile") cases, $jobs at a time"
export ORACLE_ROOT ORACLE_SCRIPTS ORACLE_CACHE ORACLE_SIMRUN
export P2P_KERNEL=$kernel P2P_INITRAMFS=$initramfs
tr '\n' '\0' < "$jobfile" | xargs -0 -P "$jobs" -n 1 bash -c '
    IFS="|" read -r topology cmdline dir <<< "$1"
    mkdir -p "$dir"
    echo "$cmdline" > "$dir/cmdline"
    # simrun export qemu, then a null-co namespace (16 MiB, reads zeroes) for every NVMe drive.
    "$ORACLE_SIMRUN" export qemu "$topology" --kernel "$P2P_KERNEL" --initrd "$P2P_INITRAMFS" \
        --console "console=ttyS0 panic=-1" --cmdline "$cmdline" --accel tcg \
        --serial "file:$dir/console.log" --serial "file:$dir/guest.txt" 2> "$dir/export.txt" \
    | awk "/^  -device nvme,/ { n++; printf \"  -blockdev driver=null-co,node-name=p2pns%d,size=16777216,read-zeroes=on \\\\\\n\", n; sub(/-device nvme,/, \"-device nvme,drive=p2pns\" n \",\") } { print }" > "$dir/machine.sh"
    # A boot that fails is tried once more: under TCG on a loaded host the kernel sometimes panics early
    # ("timer doesn'"'"'t work through Interrupt-remapped IO-APIC").
    for attempt in 1 2; do
        s=$(date +%s.%N)
        timeout "${ORACLE_BOOT_TIMEOUT:-240}" sh "$dir/machine.sh" > "$dir/qemu.txt" 2>&1
        rc=$?
        e=$(date +%s.%N)
        [ $rc -eq 0 ] && grep -q "^P2P-END" "$dir/guest.txt" 2>/dev/null && break
        [ $attempt = 1 ] && cp "$dir/console.log" "$dir/console-failed.log" 2>/dev/null
    done
    seconds=$(awk -v a="$s" -v b="$e" "BEGIN { printf \"%.1f\", b - a }")
    echo "$seconds" > "$dir/seconds"
    verdict=ok
    { [ $rc -ne 0 ] || ! grep -q "^P2P-END" "$dir/guest.txt" 2>/dev/null; } && verdict=FAIL
    echo $verdict > "$dir/status"
    printf "%-5s %-24s %-45s %ss\n" "$verdict" "$(basename "$topology" .xml)" "$cmdline" "$seconds"
' _

qemu_version=$(qemu-system-x86_64 --version | head -n 1)
source_version=$(cat "$kdir/source-version" 2>/dev/null || dpkg-query -W -f='${Version}' "linux-source-$series" 2>/dev/null || echo unknown)
status=0
mkdir -p "$records"
while IFS='|' read -r name source origin; do
    topology=$out/topologies/$name.xml
    record=$records/$name.txt
    case $source in
        generate\ *) cp "$topology" "$records/$name.xml"; topofile=scripts/oracle/p2pdma/$recdir/$name.xml ;;
        *) topofile=$source ;;
    esac
    failed=0
    for dir in "$out/$name"/*/; do
        [ "$(cat "$dir/status" 2>/dev/null)" = ok ] || { failed=1; oracle_log "case $name: boot $dir failed (see $dir)"; }
    done
    if [ $failed = 1 ]; then status=2; continue; fi
    {
        echo "# p2pdma oracle record for case '$name': what Linux's pci_p2pdma_distance(provider, client, verbose)"
        echo "# answered, asked through nvmet (nvmet_p2pmem_ns_enable) for every p2pmem provider and NVMe client."
        echo "# Written by $invocation; compared with the simulator by Tests/SimTests/OracleP2PDMATests.swift."
        echo "kernel $release (uname -r: $(sed -n 's/^release //p' "$out/$name/0/guest.txt" | tr -d '\r'))"
        echo "kernel-source Debian linux-source-$series $source_version, built by scripts/oracle/build-p2pdma-kernel.sh (CONFIG_PCI_P2PDMA=y, no modules)"
        echo "qemu $qemu_version, q35, -accel tcg"
        echo "topology $topofile"
        echo "origin $origin"
        echo "command $invocation"
        echo "# Blocks: 'boot' (the guest's /proc/cmdline), then per pair the BDFs and topology names, enable's result"
        echo "# (ok, or the errno of the write to namespaces/1/enable), the kernel's p2p lines verbatim ('kernel', the"
        echo "# dmesg timestamp removed) and nvmet's own lines ('nvmet'); other lines printed meanwhile are left out."
        for dir in "$out/$name"/*/; do
            g=$dir/guest.txt
            cmdline=$(sed -n 's/^cmdline //p' "$g" | tr -d '\r')
            echo
            echo "boot $cmdline"
            sed -n 's/^cpu /cpu /p' "$g" | tr -d '\r'
            grep -a '^nvme ' "$g" | tr -d '\r' | while read -r _ bdf rest; do
                n=$("$ORACLE_SIMRUN" p2p "$topology" --provider "$bdf" --client "$bdf" 2>/dev/null | sed -n '1s/^provider \([^ ]*\) .*/\1/p')
                echo "nvme $bdf ${n:-?} $rest"
            done
            # One block per pair: the pair, the command line, enable's result, the kernel's lines.
            tr -d '\r' < "$g" | awk '/^pair /,/^pair-end/' | while IFS= read -r l; do
                case $l in
                    "pair "*)
                        p=$(echo "$l" | sed 's/.*provider=\([^ ]*\).*/\1/')
                        c=$(echo "$l" | sed 's/.*client=\([^ ]*\).*/\1/')
                        names=$("$ORACLE_SIMRUN" p2p "$topology" --provider "$p" --client "$c" 2>/dev/null | head -n 1)
                        pn=$(echo "$names" | sed -n 's/^provider \([^ ]*\) .*/\1/p')
                        cn=$(echo "$names" | sed -n 's/.*-> client \([^ ]*\) .*/\1/p')
                        echo
                        echo "pair provider=$p client=$c"
                        echo "names provider=${pn:-?} client=${cn:-?}"
                        echo "cmdline $cmdline"
                        echo "block $(echo "$l" | sed 's/.*block=\([^ ]*\).*/\1/')"
                        echo "p2pmem-store $(echo "$l" | sed 's/.*store=\([^ ]*\).*/\1/')"
                        echo "enable $(echo "$l" | sed 's/.*enable=\([^ ]*\).*/\1/')" ;;
                    "log "*)
                        t=${l#log }
                        # The p2p lines verbatim; nvmet's own lines as 'nvmet'; what else printed meanwhile
                        # (clocksource, input, dmesg's stack depth) is left out.
                        if echo "$t" | grep -qiE 'peer-to-peer|p2pdma|p2pmem|ACS redirect|disable_acs_redir'; then
                            echo "kernel $t"
                        elif [ "${t#nvmet}" != "$t" ]; then
                            echo "nvmet $t"
                        fi ;;
                    pair-end) echo "end" ;;
                esac
            done
        done
    } > "$record.tmp" && mv "$record.tmp" "$record"
    pairs=$(grep -c '^pair ' "$record")
    oracle_log "$record: $pairs pairs"
done < "$casefile"
end=$(date +%s)
boots=$(cat "$out"/*/*/seconds 2>/dev/null | awk '{ s += $1; n++ } END { printf "%d boots, %.0f s booted", n, s }')
oracle_log "$boots; wall $((end - start)) s"
exit $status
