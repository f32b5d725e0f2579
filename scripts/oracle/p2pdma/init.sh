#!/bin/busybox sh
# /init of the p2pdma oracle's guest (scripts/oracle/p2pdma/record.sh): asks the kernel's nvmet for every
# provider/client pair and reports what pci_p2pdma_distance said, then powers off.
#
# For each provider P (an NVMe function with /sys/bus/pci/devices/P/p2pmem) and each client C (every NVMe
# function with a namespace, P included) it creates an nvmet subsystem and namespace with
# device_path=/dev/<C's nvmeXn1> and p2pmem=P, writes 1 to enable (nvmet_p2pmem_ns_enable calls
# pci_p2pdma_distance(P, C, verbose=true)), records the result and the kernel log lines printed meanwhile,
# and tears it down. Report (second serial port, /dev/ttyS1), version 1:
#   P2P-BEGIN 1
#   release 6.1.192
#   cmdline <the kernel command line>
#   cpu vendor=GenuineIntel family=6 model=6
#   nvme 0000:01:00.0 block=nvme0n1 p2pmem=size=67108864,published=1     (p2pmem=none, block=none)
#   pair provider=0000:01:00.0 client=0000:02:00.0 block=nvme1n1 store=ok enable=ok|-EINVAL|<error text>
#   log <a kernel log line printed during the enable, timestamp removed>
#   pair-end
#   P2P-END
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t configfs configfs /sys/kernel/config
out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
phase() { echo "p2pdma-init: $*" > /dev/kmsg; }
phase start

nvmes() {
    for d in /sys/bus/pci/devices/*; do
        read -r class < $d/class
        [ "$class" = 0x010802 ] && echo ${d##*/}
    done
}
# The block device whose controller is PCI function $1 (nvme0n1 -> nvme0 -> 0000:01:00.0).
block_of() {
    for b in /sys/block/nvme*; do
        [ -e "$b/device/device" ] || continue
        p=$(readlink -f $b/device/device)
        [ "${p##*/}" = "$1" ] && { echo ${b##*/}; return; }
    done
    echo none
}
# Wait (up to 10 s) until every NVMe controller is live and has its namespace's block device.
i=0
while [ $i -lt 100 ]; do
    pending=0
    for f in $(nvmes); do [ "$(block_of $f)" = none ] && pending=1; done
    [ $pending = 0 ] && break
    sleep 0.1
    i=$((i + 1))
done
phase devices settled
field() { sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -n 1; }
errno_name() {
    case $1 in
        *"Invalid argument"*) echo -EINVAL ;;
        *"No such device"*) echo -ENODEV ;;
        *"Operation not supported"*|*"Not supported"*) echo -EOPNOTSUPP ;;
        *"Device or resource busy"*|*"Resource busy"*) echo -EBUSY ;;
        *"Too many open files"*) echo -EMFILE ;;
        *"No such file or directory"*) echo -ENOENT ;;
        *) echo "error:$(echo $1 | tr ' ' '_')" ;;
    esac
}

{
    echo "P2P-BEGIN 1"
    echo "release $(uname -r)"
    echo "cmdline $(cat /proc/cmdline)"
    echo "cpu vendor=$(field vendor_id) family=$(field 'cpu family') model=$(field model)"
    providers=""
    clients=""
    for f in $(nvmes); do
        d=/sys/bus/pci/devices/$f
        p2pmem=none
        if [ -d $d/p2pmem ]; then
            read -r size < $d/p2pmem/size
            read -r published < $d/p2pmem/published
            p2pmem="size=$size,published=$published"
            providers="$providers $f"
        fi
        b=$(block_of $f)
        [ $b != none ] && clients="$clients $f"
        echo "nvme $f block=$b p2pmem=$p2pmem"
    done
    s=/sys/kernel/config/nvmet/subsystems/oracle
    for p in $providers; do
        for c in $clients; do
            b=$(block_of $c)
            dmesg -c > /dev/null
            mkdir $s
            echo 1 > $s/attr_allow_any_host
            mkdir $s/namespaces/1
            echo -n /dev/$b > $s/namespaces/1/device_path
            store=ok
            err=$(echo -n $p 2>&1 > $s/namespaces/1/p2pmem) || store=$(errno_name "$err")
            enable=ok
            err=$(echo 1 2>&1 > $s/namespaces/1/enable) || enable=$(errno_name "$err")
            echo "pair provider=$p client=$c block=$b store=$store enable=$enable"
            dmesg -c | sed 's/^\[[^]]*\] //; s/^/log /'
            echo "pair-end"
            [ $enable = ok ] && echo 0 > $s/namespaces/1/enable
            rmdir $s/namespaces/1
            rmdir $s
        done
    done
    echo "P2P-END"
} > $out
phase report written
sync
poweroff -f
