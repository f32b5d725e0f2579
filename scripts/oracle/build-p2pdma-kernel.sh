#!/bin/bash
# Builds the kernel oracle's p2pdma kernel: Debian's linux-source-6.1 (or linux-source-6.12), x86_64 defconfig plus PCI_P2PDMA and what
# it needs (ZONE_DEVICE, memory hotplug), the Intel IOMMU with IRQ remapping, NVMe, the NVMe target with
# configfs, all built in (no modules). Debian's own kernel has CONFIG_PCI_P2PDMA off. About 9-12 minutes on
# 2 cores. CI does not run this: the answers it gave are recorded in scripts/oracle/p2pdma/ (scripts/oracle/p2pdma/record.sh).
#
#   scripts/oracle/build-p2pdma-kernel.sh            -> $ORACLE_CACHE/p2pdma-kernel/bzImage       (6.1)
#   scripts/oracle/build-p2pdma-kernel.sh 6.12       -> $ORACLE_CACHE/p2pdma-kernel-6.12/bzImage  (6.12)
#
# Both use the same configuration (below); `release` in the output names what was built, `source-version` the
# linux-source package's version.
set -eu
source "$(dirname "$0")/lib.sh"
series=${1:-6.1}
case $series in
    6.1) out=$ORACLE_CACHE/p2pdma-kernel ;;
    6.12) out=$ORACLE_CACHE/p2pdma-kernel-6.12 ;;
    *) echo "build-p2pdma-kernel: unknown series '$series' (6.1 or 6.12)" >&2; exit 2 ;;
esac
if [ -s "$out/bzImage" ]; then echo "$out/bzImage"; exit 0; fi
need=()
[ -e "/usr/src/linux-source-$series.tar.xz" ] || need+=("linux-source-$series")
for p in build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$out"
src=$out/src
if [ ! -e "$src/Makefile" ]; then
    rm -rf "$src" && mkdir -p "$src"
    tar xJf "/usr/src/linux-source-$series.tar.xz" -C "$src" --strip-components=1
fi
cd "$src"
make -s x86_64_defconfig
./scripts/config \
    --enable ZONE_DEVICE --enable MEMORY_HOTPLUG --enable MEMORY_HOTREMOVE --enable SPARSEMEM_VMEMMAP \
    --enable PCI_P2PDMA \
    --enable IOMMU_SUPPORT --enable INTEL_IOMMU --enable INTEL_IOMMU_DEFAULT_ON --enable IRQ_REMAP \
    --enable BLK_DEV_NVME --enable NVME_CORE --enable NVME_TARGET --enable NVME_TARGET_LOOP \
    --enable CONFIGFS_FS --enable E1000E \
    --disable DEBUG_INFO --disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT --enable DEBUG_INFO_NONE \
    --disable MODULES
make -s olddefconfig
for c in PCI_P2PDMA ZONE_DEVICE INTEL_IOMMU BLK_DEV_NVME NVME_TARGET CONFIGFS_FS; do
    grep -q "^CONFIG_$c=y" .config || { echo "build-p2pdma-kernel: CONFIG_$c did not stick" >&2; exit 2; }
done
make -s -j"$(nproc)" bzImage
cp arch/x86/boot/bzImage "$out/bzImage"
cp .config "$out/config"
make -s kernelrelease > "$out/release"
dpkg-query -W -f '${Version}\n' "linux-source-$series" > "$out/source-version"
echo "$out/bzImage"
