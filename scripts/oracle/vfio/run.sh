#!/bin/bash
# Mapping oracle: boots mapping/qemu-vfio.xml under QEMU (TCG, intel-iommu) with Debian's kernel, binds its NVMe
# functions to vfio-pci, and runs every mapping script (mapping/*.xml) on the kernel's VFIO type1 inside the
# guest with `simrun map --backend vfio --compare simulated`: each call's answer is checked against the script's
# expectation and against the simulated backend for the same machine (docs/MAPPING.md).
#
#   scripts/oracle/vfio/run.sh [--out DIR] [--kernel 6.1|6.12]
#
# --kernel 6.1 (the default) boots lib.sh's kernel (ORACLE_KERNEL_PACKAGE, else Debian 12's 6.1); --kernel 6.12
# boots the newest Debian 12 backports image (linux-image-6.12.*+deb12-amd64-unsigned; its modules are .ko.xz). The
# simulator keeps its 6.1 rules, so a 6.12 run says whether 6.12 still answers as 6.1 does.
# simrun runs in the guest as built here (ORACLE_SIMRUN or .build-orc/debug/simrun), with the shared libraries
# ldd names and the dynamic loader copied into the initramfs.
# Exit status: 0 every call matched on both backends, 1 a mismatch or a difference, 2 a boot or harness failure,
# 3 the kernel asked for is not in the apt sources (nothing booted). Environment: see ../lib.sh.
set -u
source "$(dirname "$0")/../lib.sh"
VFIO_DIR=$ORACLE_SCRIPTS/vfio

out=$ORACLE_CACHE/vfio
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --kernel)
            case $2 in
                6.1) ;;
                6.12)
                    ORACLE_KERNEL_PACKAGE=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' \
                        | cut -d' ' -f1 | sort -V | tail -n 1)
                    if [ -z "$ORACLE_KERNEL_PACKAGE" ]; then
                        echo "mapping oracle: SKIP 6.12: no linux-image-6.12.*+deb12-amd64-unsigned in the apt sources (add bookworm-backports)"
                        exit 3
                    fi ;;
                *) oracle_die "--kernel: 6.1 or 6.12" ;;
            esac
            shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) oracle_die "unknown argument $1" ;;
    esac
done

oracle_ensure_packages
oracle_fetch_kernel
oracle_simrun
rm -rf "$out" && mkdir -p "$out"

# The initramfs: busybox, simrun and its libraries, the modules, the scripts and the machine.
tree=$ORACLE_KERNEL_DIR/root/lib/modules/$ORACLE_KERNEL_RELEASE
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,tmp,oracle/lib,oracle/mapping}
cp /bin/busybox "$work/bin/busybox"
cp "$VFIO_DIR/init.sh" "$work/init" && chmod 755 "$work/init"
cp "$VFIO_DIR/machine.conf" "$work/oracle/machine.conf"
cp "$ORACLE_ROOT/mapping/qemu-vfio.xml" "$work/oracle/machine.xml"
cp "$ORACLE_ROOT"/mapping/*.xml "$work/oracle/mapping/"
rm -f "$work/oracle/mapping/qemu-vfio.xml"
cp "$ORACLE_SIMRUN" "$work/oracle/simrun"
ldd "$ORACLE_SIMRUN" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | while read -r lib; do
    cp -L "$lib" "$work/oracle/lib/"
done
[ -e "$work/oracle/lib/ld-linux-x86-64.so.2" ] || oracle_die "ldd named no dynamic loader for $ORACLE_SIMRUN"
# The modules with their dependencies, dependencies first (lib.sh's oracle_module_order, which finds Debian
# 6.12's .ko.xz modules too; they are unpacked here).
: > "$work/oracle/modules.order"
for m in $(oracle_module_order vfio vfio_iommu_type1 vfio-pci e1000e); do
    base=${m##*/}
    case $m in
        *.xz) base=${base%.xz}; xz -dc "$tree/$m" > "$work/oracle/$base" || oracle_die "cannot unpack $m" ;;
        *) cp "$tree/$m" "$work/oracle/$base" ;;
    esac
    echo "$base" >> "$work/oracle/modules.order"
done
initramfs=$out/initramfs.cpio.gz
(cd "$work" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$initramfs" || oracle_die "cannot build the initramfs"

"$ORACLE_SIMRUN" export qemu "$ORACLE_ROOT/mapping/qemu-vfio.xml" --kernel "$ORACLE_VMLINUZ" --initrd "$initramfs" \
    --console "console=ttyS0 panic=-1" --accel tcg --memory 1G \
    --serial "file:$out/console.log" --serial "file:$out/guest.txt" -o "$out/machine.sh" 2> "$out/export.txt" \
    || { cat "$out/export.txt" >&2; oracle_die "simrun export qemu failed"; }
start=$(date +%s.%N)
timeout "${ORACLE_BOOT_TIMEOUT:-300}" sh "$out/machine.sh" > "$out/qemu.txt" 2>&1
qemu=$?
seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "$seconds" > "$out/seconds"
if [ $qemu -ne 0 ] || ! grep -q '^MAP-END' "$out/guest.txt" 2>/dev/null; then
    tail -n 20 "$out/console.log" "$out/guest.txt" 2>/dev/null >&2
    echo "mapping oracle: FAIL boot failed (qemu status $qemu, ${seconds}s; see $out)"
    exit 2
fi
sed -n '/^MAP-BEGIN/,/^MAP-END/p' "$out/guest.txt" | grep -v '^log ' | sed '/^MAP-BEGIN/d; /^MAP-END/d'
status=$(sed -n 's/^MAP-STATUS \([0-9]*\).*/\1/p' "$out/guest.txt")
release=$(sed -n 's/^release //p' "$out/guest.txt")
summary=$(grep '^map: ' "$out/guest.txt" | tail -n 1)
case $status in
    0) verdict=MATCH ;;
    1) verdict=MISMATCH ;;
    *) verdict=FAIL; status=2 ;;
esac
echo "mapping oracle: $verdict on $release under QEMU (TCG), boot and run ${seconds}s; ${summary#map: }"
exit "$status"
