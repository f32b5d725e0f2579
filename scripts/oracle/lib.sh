# Shared by the kernel oracle's scripts: packages, Debian's kernel, the initramfs, simrun.
# Source it; it sets ORACLE_ROOT, ORACLE_CACHE and ORACLE_SIMRUN and defines the functions below.
#
# Environment:
#   ORACLE_CACHE           downloads and built files (default: .oracle-cache in the repository)
#   ORACLE_KERNEL_SERIES   6.1 (default) or 6.12: which of Debian 12's kernels to boot (see oracle_kernel_package)
#   ORACLE_KERNEL_PACKAGE  Debian kernel package (default: chosen from ORACLE_KERNEL_SERIES)
#   ORACLE_SIMRUN          the simrun binary (default: built with swift build --scratch-path .build-orc)
#   ORACLE_MODULES         kernel modules the guest loads (default: nvme e1000e)

ORACLE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ORACLE_SCRIPTS=$ORACLE_ROOT/scripts/oracle
ORACLE_CACHE=${ORACLE_CACHE:-$ORACLE_ROOT/.oracle-cache}
ORACLE_MODULES=${ORACLE_MODULES:-nvme e1000e}

oracle_log() { printf 'oracle: %s\n' "$*" >&2; }
oracle_die() { printf 'oracle: error: %s\n' "$*" >&2; exit 2; }

# Installs what the harness needs, only what is missing (Debian/Ubuntu, as root or with sudo).
oracle_ensure_packages() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx cpio && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' \
        || missing+=(busybox-static)
    command -v modinfo >/dev/null || missing+=(kmod)
    command -v cc >/dev/null || missing+=(gcc)
    command -v zstd >/dev/null || missing+=(zstd)
    [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
    [ ${#missing[@]} -eq 0 ] && return 0
    oracle_log "installing ${missing[*]}"
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq >/dev/null || oracle_die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || oracle_die "apt-get install ${missing[*]} failed"
}

# The kernel package: ORACLE_KERNEL_PACKAGE, else by ORACLE_KERNEL_SERIES. 6.1: the image linux-image-amd64
# depends on (Debian 12). 6.12: the image the meta-package linux-image-6.12-amd64 (bookworm-security) depends on,
# `linux-image-6.12.N+deb12-amd64`, as its `-unsigned` twin (the same kernel, not wrapped for Secure Boot); without
# the meta-package, the highest such version. Either way the newest the archive has when the cache is filled;
# `release` in each guest report records which booted.
oracle_kernel_package() {
    if [ -n "${ORACLE_KERNEL_PACKAGE:-}" ]; then echo "$ORACLE_KERNEL_PACKAGE"; return; fi
    local p
    case ${ORACLE_KERNEL_SERIES:-6.1} in
        6.1)
            p=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.[0-9]*-[0-9]*-amd64\)$/\1/p' | head -n 1)
            [ -n "$p" ] || p=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -n 1) ;;
        6.12)
            p=$(apt-cache depends linux-image-6.12-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.12\.[0-9]*+deb12-amd64\)$/\1-unsigned/p' | head -n 1)
            [ -n "$p" ] || p=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' | cut -d' ' -f1 | sort -V | tail -n 1) ;;
        *) oracle_die "ORACLE_KERNEL_SERIES must be 6.1 or 6.12" ;;
    esac
    [ -n "$p" ] || oracle_die "no linux-image-${ORACLE_KERNEL_SERIES:-6.1} package found (set ORACLE_KERNEL_PACKAGE)"
    echo "$p"
}

# Downloads and unpacks the kernel (not installed): sets ORACLE_KERNEL_DIR, ORACLE_VMLINUZ, ORACLE_KERNEL_RELEASE.
oracle_fetch_kernel() {
    local package dir
    package=$(oracle_kernel_package)
    dir=$ORACLE_CACHE/kernel/$package
    if [ ! -e "$dir/.unpacked" ]; then
        oracle_log "downloading $package"
        rm -rf "$dir" && mkdir -p "$dir"
        (cd "$dir" && apt-get download "$package" >/dev/null 2>&1) || oracle_die "apt-get download $package failed"
        dpkg-deb -x "$dir"/*.deb "$dir/root" || oracle_die "cannot unpack $package"
        rm -f "$dir"/*.deb
        touch "$dir/.unpacked"
    fi
    ORACLE_KERNEL_DIR=$dir
    ORACLE_VMLINUZ=$(ls "$dir"/root/boot/vmlinuz-* | head -n 1)
    ORACLE_KERNEL_RELEASE=${ORACLE_VMLINUZ##*/vmlinuz-}
    oracle_extract_vmlinux
}

# Under TCG the guest spends about 5 s decompressing Debian's XZ bzImage. A kernel with CONFIG_PVH boots
# from its uncompressed ELF image (QEMU -kernel takes the PVH entry point), so the harness unpacks it once
# here, as the kernel's scripts/extract-vmlinux does, and boots that: ORACLE_VMLINUZ then names the ELF.
oracle_extract_vmlinux() {
    local elf=$ORACLE_KERNEL_DIR/vmlinux-$ORACLE_KERNEL_RELEASE
    if [ ! -s "$elf" ]; then
        grep -q '^CONFIG_PVH=y' "$ORACLE_KERNEL_DIR"/root/boot/config-* || return 0
        local magic offset
        # Debian's 6.1 is XZ-compressed, its 6.12 Zstandard.
        for magic in xz zstd gzip; do
            case $magic in
                xz) offset=$(LC_ALL=C grep -abo $'\xfd\x37\x7a\x58\x5a\x00' "$ORACLE_VMLINUZ" | head -n 1 | cut -d: -f1) ;;
                zstd) offset=$(LC_ALL=C grep -abo $'\x28\xb5\x2f\xfd' "$ORACLE_VMLINUZ" | head -n 1 | cut -d: -f1) ;;
                gzip) offset=$(LC_ALL=C grep -abo $'\x1f\x8b\x08' "$ORACLE_VMLINUZ" | head -n 1 | cut -d: -f1) ;;
            esac
            [ -n "$offset" ] || continue
            case $magic in
                xz) tail -c +$((offset + 1)) "$ORACLE_VMLINUZ" | xz -dc --single-stream > "$elf.tmp" 2>/dev/null ;;
                zstd) tail -c +$((offset + 1)) "$ORACLE_VMLINUZ" | zstd -dcq > "$elf.tmp" 2>/dev/null ;;
                gzip) tail -c +$((offset + 1)) "$ORACLE_VMLINUZ" | gzip -dc > "$elf.tmp" 2>/dev/null ;;
            esac
            if [ "$(head -c 4 "$elf.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
                mv "$elf.tmp" "$elf"
                break
            fi
            rm -f "$elf.tmp"
        done
    fi
    [ -s "$elf" ] && ORACLE_VMLINUZ=$elf
    return 0
}

# Prints the modules named in $1.. and everything they depend on (from each .ko's `depends`, since the
# package has no modules.dep), dependencies first, as paths relative to the release's module tree.
oracle_module_order() {
    local tree=$ORACLE_KERNEL_DIR/root/lib/modules/$ORACLE_KERNEL_RELEASE
    local -A seen=()
    local order=()
    visit() {
        local name=$1 file dep
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        # 6.12's modules are XZ-compressed (name.ko.xz); the initramfs gets them decompressed.
        file=$(find "$tree/kernel" \( -name "$name.ko" -o -name "${name//_/-}.ko" -o -name "${name//-/_}.ko" \
            -o -name "$name.ko.xz" -o -name "${name//_/-}.ko.xz" -o -name "${name//-/_}.ko.xz" \) | head -n 1)
        [ -n "$file" ] || oracle_die "module $name not in $ORACLE_KERNEL_RELEASE"
        for dep in $(modinfo -F depends "$file" | tr ',' ' '); do visit "$dep"; done
        order+=("${file#$tree/}")
    }
    local m
    for m in "$@"; do visit "$m"; done
    printf '%s\n' "${order[@]}"
}

# Builds the initramfs (busybox, the static ACS reader, the modules, /init): sets ORACLE_INITRAMFS.
oracle_build_initramfs() {
    local tree=$ORACLE_KERNEL_DIR/root/lib/modules/$ORACLE_KERNEL_RELEASE
    local stamp
    stamp=$(cat "$ORACLE_SCRIPTS/init.sh" "$ORACLE_SCRIPTS/acsread.c" /bin/busybox | sha256sum | cut -c1-16)
    ORACLE_INITRAMFS=$ORACLE_KERNEL_DIR/initramfs-$stamp-${ORACLE_MODULES// /-}.cpio.gz
    [ -e "$ORACLE_INITRAMFS" ] && return 0
    oracle_log "building $ORACLE_INITRAMFS"
    rm -f "$ORACLE_KERNEL_DIR"/initramfs-*.cpio.gz
    local work
    work=$(mktemp -d)
    mkdir -p "$work"/{bin,dev,proc,sys,tmp,oracle}
    cp /bin/busybox "$work/bin/busybox"
    cp "$ORACLE_SCRIPTS/init.sh" "$work/init"
    chmod 755 "$work/init"
    cc -static -O2 -Wall -o "$work/oracle/acsread" "$ORACLE_SCRIPTS/acsread.c" || oracle_die "cannot build acsread"
    local m
    : > "$work/oracle/modules.order"
    # shellcheck disable=SC2086
    for m in $(oracle_module_order $ORACLE_MODULES); do
        local ko=${m##*/}
        case $ko in
            *.ko.xz) ko=${ko%.xz}; xz -dc "$tree/$m" > "$work/oracle/$ko" ;;
            *) cp "$tree/$m" "$work/oracle/$ko" ;;
        esac
        echo "$ko" >> "$work/oracle/modules.order"
    done
    (cd "$work" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -9) > "$ORACLE_INITRAMFS.tmp" \
        && mv "$ORACLE_INITRAMFS.tmp" "$ORACLE_INITRAMFS"
    rm -rf "$work"
}

# The simrun binary: ORACLE_SIMRUN, else built into .build-orc.
oracle_simrun() {
    if [ -n "${ORACLE_SIMRUN:-}" ]; then return 0; fi
    (cd "$ORACLE_ROOT" && swift build --scratch-path .build-orc --product simrun >/dev/null) || oracle_die "swift build failed"
    ORACLE_SIMRUN=$ORACLE_ROOT/.build-orc/debug/simrun
}

oracle_prepare() {
    oracle_ensure_packages
    oracle_fetch_kernel
    oracle_build_initramfs
}

# Boots TOPOLOGY with CMDLINE into DIR and compares; prints one summary line; returns 0 match, 1 mismatch,
# 2 failure. DIR gets machine.sh, console.log, guest.txt, compare.txt, seconds (the boot's wall time).
oracle_boot_and_compare() {
    local topology=$1 cmdline=$2 dir=$3
    rm -rf "$dir" && mkdir -p "$dir"
    echo "$cmdline" > "$dir/cmdline"
    if ! "$ORACLE_SIMRUN" export qemu "$topology" --kernel "$ORACLE_VMLINUZ" --initrd "$ORACLE_INITRAMFS" \
        --console "console=ttyS0 panic=-1" --cmdline "$cmdline" --accel tcg \
        --serial "file:$dir/console.log" --serial "file:$dir/guest.txt" -o "$dir/machine.sh" 2> "$dir/export.txt"; then
        cat "$dir/export.txt" >&2
        printf 'FAIL     %-28s %-50s export failed\n' "${ORACLE_BOOT_LABEL:+$ORACLE_BOOT_LABEL }$(basename "$topology" .xml)" "$cmdline"
        return 2
    fi
    local start end seconds qemu attempt
    # A boot that panics with "timer doesn't work through Interrupt-remapped IO-APIC" (TCG on a loaded host, seen
    # with 6.1 and 6.12 alike) is tried once more; the first console is kept as console-failed.log.
    for attempt in 1 2; do
        start=$(date +%s.%N)
        timeout "${ORACLE_BOOT_TIMEOUT:-180}" sh "$dir/machine.sh" > "$dir/qemu.txt" 2>&1
        qemu=$?
        end=$(date +%s.%N)
        grep -q '^SYSFS-END' "$dir/guest.txt" 2>/dev/null && break
        grep -q "timer doesn't work through Interrupt-remapped IO-APIC" "$dir/console.log" 2>/dev/null || break
        [ $attempt = 1 ] && mv "$dir/console.log" "$dir/console-failed.log" && rm -f "$dir/guest.txt" && echo retried > "$dir/retried"
    done
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    echo "$seconds" > "$dir/seconds"
    if [ $qemu -ne 0 ] || ! grep -q '^SYSFS-END' "$dir/guest.txt" 2>/dev/null; then
        printf 'FAIL     %-28s %-50s boot failed (qemu status %s, %ss; see %s)\n' "${ORACLE_BOOT_LABEL:+$ORACLE_BOOT_LABEL }$(basename "$topology" .xml)" "$cmdline" "$qemu" "$seconds" "$dir"
        return 2
    fi
    local p2pmem=()
    grep -q '^CONFIG_PCI_P2PDMA=y' "$ORACLE_KERNEL_DIR"/root/boot/config-* && p2pmem=(--p2pmem)
    "$ORACLE_SIMRUN" oracle compare --topology "$topology" "${p2pmem[@]}" "$dir/guest.txt" > "$dir/compare.txt" 2>&1
    local rc=$?
    # The guest's sysfs, imported with `simrun import sysfs --root`, must give back the booted machine.
    local irc=2
    mkdir -p "$dir/sysfs"
    if "$ORACLE_SIMRUN" oracle extract-sysfs "$dir/guest.txt" -o "$dir/sysfs.tar.gz" 2> "$dir/import.txt" \
        && tar xzf "$dir/sysfs.tar.gz" -C "$dir/sysfs" 2>> "$dir/import.txt" \
        && "$ORACLE_SIMRUN" import sysfs --root "$dir/sysfs" -o "$dir/imported.xml" 2>> "$dir/import.txt"; then
        "$ORACLE_SIMRUN" oracle compare-import --topology "$topology" --guest "$dir/guest.txt" "$dir/imported.xml" >> "$dir/import.txt" 2>&1
        irc=$?
    fi
    cat "$dir/import.txt" >> "$dir/compare.txt"
    [ $irc -eq 1 ] && [ $rc -eq 0 ] && rc=1
    [ $irc -gt 1 ] && rc=2
    local verdict=MATCH
    [ $rc -eq 1 ] && verdict=MISMATCH
    [ $rc -gt 1 ] && verdict=FAIL
    printf '%-8s %-28s %-50s %ss%s\n' "$verdict" "${ORACLE_BOOT_LABEL:+$ORACLE_BOOT_LABEL }$(basename "$topology" .xml)" "$cmdline" "$seconds" \
        "$([ -e "$dir/retried" ] && echo ' (retried)')"
    [ $rc -gt 2 ] && rc=2
    return $rc
}
