#!/usr/bin/env bash
# Measures what attaching sys_exit programs costs W1 (open+close of /etc/hostname): minimal
# variants of the attach point and, optionally, Palisade's own object with a daemon's maps.
# Root, x86_64; needs clang, libbpf-dev, gcc (the project's build deps).
#   scripts/sys-exit-variants/run.sh                       # the minimal variants
#   scripts/sys-exit-variants/run.sh OBJ MAPS              # also OBJ (palisade.bpf.o) with MAPS
# MAPS: `dump-maps.py > maps.txt` while `palisade run -r ...` runs (same build as OBJ). Drop
# the SCOPE line to measure host monitoring off with the program attached.
# Prints CPU-time ratios (101 interleaved rounds of 30,000 iterations): see BENCHMARKS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
cp "$here/../../enforcer-ebpf/vmlinux/x86_64/vmlinux.h" "$out/vmlinux.h"
gcc -O2 -Wall -o "$out/w1" "$here/w1.c" -lbpf
for v in slowpath tpbtf_empty tpbtf_lookup tp_openat_empty tp_openat_args tpbtf_openat_read both; do
    clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -I "$out" -I "$here" -c "$here/$v.bpf.c" -o "$out/$v.bpf.o"
    "$out/w1" "$out/$v.bpf.o" 101 30000
done
if [ $# -ge 2 ]; then
    "$out/w1" "$1" 101 30000 "$2"
fi
