#!/bin/busybox sh
# /init of the kernel oracle's guest: report what Linux decided about the PCI devices, then power off.
#
# Writes the report to the second serial port (/dev/ttyS1, ISA: adds no PCI device), the kernel console
# stays on ttyS0. The report format (version 1) is line based:
#   ORACLE-BEGIN 1
#   release 6.1.0-56-amd64
#   cmdline <the kernel command line>
#   cpu vendor=GenuineIntel family=6 model=85
#   module nvme ok
#   device 0000:00:02.0 id=1b36:000c class=0x060400 p2pmem=none
#   acs 0000:00:02.0 0x148:0x005f:0x001d     (offset:capability:control, or none)
#   group 2 0000:00:02.0
#   driver pcieport 0000:00:02.0
#   uptime 3.21                  (seconds since boot when the report was written)
#   log <a kernel log line about ACS, IOMMU groups, DMAR or p2pdma, timestamp removed>
#   ORACLE-END
#   SYSFS-BEGIN
#   <base64 of a gzip'ed tar of the guest's PCI sysfs files>
#   SYSFS-END
# `simrun oracle compare` parses it.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp

out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
# Phases go to the kernel log (and the console on ttyS0), to see where a slow boot spends its time.
phase() { echo "oracle-init: $*" > /dev/kmsg; }
phase start

modules=""
for m in $(cat /oracle/modules.order); do
    name=${m##*/}
    name=${name%.ko}
    if insmod /oracle/$m 2>/tmp/insmod.err; then modules="$modules $name:ok"; else modules="$modules $name:failed"; fi
done

phase modules loaded
# Let NVMe controllers finish their (asynchronous) reset, where the driver registers its CMB as p2pmem.
i=0
while [ $i -lt 50 ]; do
    pending=0
    for s in /sys/class/nvme/nvme*/state; do
        [ -e "$s" ] || continue
        [ "$(cat $s)" = live ] || pending=1
    done
    [ $pending = 0 ] && break
    sleep 0.1
    i=$((i + 1))
done

phase devices settled
field() { sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -n 1; }

# Shell builtins where possible: under TCG every fork costs milliseconds.
{
    echo "ORACLE-BEGIN 1"
    echo "release $(uname -r)"
    echo "cmdline $(cat /proc/cmdline)"
    echo "cpu vendor=$(field vendor_id) family=$(field 'cpu family') model=$(field model)"
    for m in $modules; do echo "module ${m%%:*} ${m##*:}"; done
    for d in /sys/bus/pci/devices/*; do
        read -r vendor < $d/vendor
        read -r device < $d/device
        read -r class < $d/class
        read -r subvendor < $d/subsystem_vendor
        read -r subdevice < $d/subsystem_device
        p2pmem=none
        if [ -d $d/p2pmem ]; then
            read -r size < $d/p2pmem/size
            read -r published < $d/p2pmem/published
            p2pmem="size=$size,published=$published"
        fi
        echo "device ${d##*/} id=${vendor#0x}:${device#0x} subsys=${subvendor#0x}:${subdevice#0x} class=$class p2pmem=$p2pmem"
    done
    /oracle/acsread /sys/bus/pci/devices/*/config | sed 's/^\([^ ]*\) acs=/acs \1 /'
    for l in /sys/kernel/iommu_groups/*/devices/*; do
        [ -e "$l" ] || continue
        g=${l%/devices/*}
        echo "group ${g##*/} ${l##*/}"
    done
    for l in /sys/bus/pci/drivers/*/[0-9a-f]*:*; do
        [ -e "$l" ] || continue
        drv=${l%/*}
        echo "driver ${drv##*/} ${l##*/}"
    done
    dmesg | grep -iE 'acs|iommu|dmar|p2p|AMD-Vi|ATS is disabled|Unknown option|Malformed early option|option ignored' | sed 's/^\[[^]]*\] //; s/^/log /'
    read -r up _ < /proc/uptime
    echo "uptime $up"
    echo "ORACLE-END"
} > $out

phase report written
# The PCI sysfs files an importer reads (simrun import sysfs): the /sys/devices/pci* trees (attributes
# copied, links kept as links), the /sys/bus/pci/devices links, the IOMMU groups and units, and the
# command line, release and CPU the kernel saw.
# One cp per tree; attributes that cannot be read (resourceN, rom, write-only files) are left empty.
s=/tmp/sysfs
mkdir -p $s/sys/devices $s/sys/bus/pci $s/sys/kernel $s/proc
for t in /sys/devices/pci*; do cp -r $t $s/sys/devices/ 2>/dev/null; done
cp -r /sys/bus/pci/devices $s/sys/bus/pci/ 2>/dev/null
[ -d /sys/kernel/iommu_groups ] && cp -r /sys/kernel/iommu_groups $s/sys/kernel/ 2>/dev/null
if [ -d /sys/class/iommu ]; then
    mkdir -p $s/sys/class $s/sys/devices/virtual
    cp -r /sys/class/iommu $s/sys/class/ 2>/dev/null
    cp -r /sys/devices/virtual/iommu $s/sys/devices/virtual/ 2>/dev/null
fi
mkdir -p $s/proc/sys/kernel
cat /proc/cmdline > $s/proc/cmdline
cat /proc/cpuinfo > $s/proc/cpuinfo
cat /proc/sys/kernel/osrelease > $s/proc/sys/kernel/osrelease
{
    echo "SYSFS-BEGIN"
    tar -C $s -czf - sys proc | base64
    echo "SYSFS-END"
} > $out
phase sysfs written
sync
poweroff -f
