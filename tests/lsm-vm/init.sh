#!/bin/busybox sh
# /init of the BPF-LSM test guest (initramfs built by lsm/tests/lsm_vm.rs): mounts the pseudo
# filesystems the programs need, loads overlayfs, runs lsm-vm-check's two phases (the second in
# a new process, after the loader exited) and powers off. Results go to the serial console.
# With lsmvm.mode=bench on the kernel command line (lsm/tests/lsm_vm_bench.rs) it runs the
# overhead benchmark instead, lsmvm.rounds=N rounds (default 5); with lsmvm.mode=daemon the
# daemon scenario (/palisade in the initramfs: cli/tests/lsm_guest_daemon.rs).
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "LSMVM kernel=$(uname -r) lsm=$(cat /sys/kernel/security/lsm)"
if insmod /overlay.ko; then echo "LSMVM overlay=loaded"; else echo "LSMVM overlay=failed"; fi
start=$(cut -d' ' -f1 /proc/uptime)
mode=check
rounds=5
for arg in $(cat /proc/cmdline); do
    case $arg in
        lsmvm.mode=*) mode=${arg#lsmvm.mode=} ;;
        lsmvm.rounds=*) rounds=${arg#lsmvm.rounds=} ;;
    esac
done
if [ "$mode" = bench ]; then
    /lsm-vm-check bench "$rounds"
    echo "LSMVM exit step=bench code=$?"
elif [ "$mode" = daemon ]; then
    /lsm-vm-check daemon
    echo "LSMVM exit step=daemon code=$?"
else
    /lsm-vm-check run
    echo "LSMVM exit step=run code=$?"
    /lsm-vm-check pinned
    echo "LSMVM exit step=pinned code=$?"
fi
echo "LSMVM done uptime=$(cut -d' ' -f1 /proc/uptime) start=$start"
poweroff -f
