#!/bin/busybox sh
# /init of the mapping oracle's guest (scripts/oracle/vfio/run.sh): binds the machine's NVMe functions to
# vfio-pci, leaves the e1000e with its own driver, runs every mapping script on the kernel's VFIO type1
# (simrun map --backend vfio --compare simulated) and writes the output on the second serial port:
#   MAP-BEGIN
#   release <uname -r>
#   <simrun map's output>
#   MAP-STATUS <simrun map's exit status>
#   MAP-END
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
. /oracle/machine.conf

# driver_override first, so vfio-pci takes the NVMe functions when it loads and nothing else does.
for bdf in $VFIO_BDFS; do echo vfio-pci > /sys/bus/pci/devices/$bdf/driver_override; done
modules=""
for m in $(cat /oracle/modules.order); do
    if insmod /oracle/$m 2>/tmp/insmod.err; then modules="$modules ${m%.ko}:ok"; else modules="$modules ${m%.ko}:failed($(cat /tmp/insmod.err))"; fi
done

{
    echo "MAP-BEGIN"
    echo "release $(uname -r)"
    echo "cmdline $(cat /proc/cmdline)"
    echo "modules$modules"
    for d in /sys/bus/pci/devices/*; do
        drv=none
        [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
        echo "device ${d##*/} group=$(basename $(readlink $d/iommu_group 2>/dev/null) 2>/dev/null) driver=$drv"
    done
    echo "dev $(ls /dev/vfio | tr '\n' ' ')"
    echo "uptime $(cut -d' ' -f1 /proc/uptime)"
    /oracle/lib/ld-linux-x86-64.so.2 --library-path /oracle/lib /oracle/simrun map /oracle/mapping/*.xml \
        --backend vfio --compare simulated --topology /oracle/machine.xml --qemu --address-width 39 \
        --set-dma-entry-limit $SIMRUN_DEVICES 2>&1
    echo "MAP-STATUS $?"
    echo "uptime $(cut -d' ' -f1 /proc/uptime)"
    dmesg | grep -i -e vfio -e dmar -e iommu | sed 's/^\[[^]]*\] /log /' | tail -n 40
    echo "MAP-END"
} > $out 2>&1
sync
poweroff -f
