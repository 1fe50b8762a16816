#!/usr/bin/env bash
# Installs what the BPF-LSM guest test (lsm/tests/lsm_vm.rs) needs on Debian bookworm: QEMU (TCG),
# busybox-static and cpio for the initramfs, and Debian's stock 6.1 cloud kernel (vmlinuz + overlay.ko)
# extracted into a cache folder. Idempotent; run as root.
#
# Why a guest: this machine's kernel refuses LSM programs at load (EPERM, see shared/notes/lsm-vm.md);
# Debian's cloud kernel enables BPF-LSM by default and loads them.
# Output: $PALISADE_LSM_VM_CACHE (default /var/cache/palisade-lsm-vm) holding (and the same for
# the 6.12 kernel bookworm ships (bookworm-security) in $PALISADE_LSM_VM_CACHE_6_12, default
# /var/cache/palisade-lsm-vm-6.12)
#   vmlinuz        the guest kernel
#   overlay.ko     overlayfs for that kernel, uncompressed (busybox insmod takes plain .ko only)
#   kernel-version the package it came from
set -euo pipefail

CACHE=${PALISADE_LSM_VM_CACHE:-/var/cache/palisade-lsm-vm}
CACHE_6_12=${PALISADE_LSM_VM_CACHE_6_12:-/var/cache/palisade-lsm-vm-6.12}

say() { printf 'lsm-vm/install-deps: %s\n' "$*"; }
die() { printf 'lsm-vm/install-deps: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (uid $(id -u))"
command -v apt-get >/dev/null || die "apt-get not found: not a Debian machine?"
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

updated=0
apt_update_once() {
    [[ $updated -eq 1 ]] && return 0
    say "apt-get update"
    apt-get update -q || die "apt-get update failed"
    updated=1
}

# qemu-system-x86 and cpio from bookworm (named explicitly: machines carrying a low-priority trixie
# source must not pull trixie's QEMU). On such machines an installed trixie libnl-route-3-200 can
# block bookworm's QEMU: then it is pinned to the version both accept, as measured in the notes.
need=()
installed qemu-system-x86 || need+=(qemu-system-x86)
installed busybox-static || need+=(busybox-static)
installed cpio || need+=(cpio)
if [[ ${#need[@]} -gt 0 ]]; then
    apt_update_once
    say "installing ${need[*]}"
    if ! apt-get install -y -q --no-install-recommends "${need[@]}"; then
        say "retrying with libnl-route-3-200=3.7.0-2 (trixie libnl already installed)"
        apt-get install -y -q --no-install-recommends "${need[@]}" libnl-route-3-200=3.7.0-2 \
            || die "cannot install ${need[*]}"
    fi
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing after install"
busybox true || die "busybox does not run"

# fetch_kernel CACHE PATTERN WHAT: the newest package whose name matches PATTERN (apt-cache
# --names-only regex), unpacked into CACHE as vmlinuz + overlay.ko + kernel-version.
latest_kernel() {
    apt-cache search --names-only "$1" | awk '{print $1}' | sort -V | tail -n1
}

fetch_kernel() {
    local cache=$1 pattern=$2 what=$3 pkg work vmlinuz ko
    mkdir -p "$cache"
    if [[ -s $cache/vmlinuz && -s $cache/overlay.ko && -s $cache/kernel-version ]]; then
        say "kernel $(cat "$cache/kernel-version") already in $cache"
        return 0
    fi
    pkg=$(latest_kernel "$pattern")
    if [[ -z $pkg ]]; then
        apt_update_once
        pkg=$(latest_kernel "$pattern")
    fi
    [[ -n $pkg ]] || die "no $what in the apt lists ($pattern)"
    work=$(mktemp -d)
    say "downloading $pkg"
    (cd "$work" && apt-get download -q "$pkg") || die "apt-get download $pkg failed"
    dpkg-deb -x "$work"/"$pkg"_*.deb "$work/x" || die "cannot unpack $pkg"
    vmlinuz=$(find "$work/x/boot" -name 'vmlinuz-*' | head -n1)
    [[ -n $vmlinuz ]] || die "$pkg has no boot/vmlinuz-*"
    ko=$(find "$work/x/lib/modules" -path '*/fs/overlayfs/overlay.ko*' | head -n1)
    [[ -n $ko ]] || die "$pkg has no overlay module"
    case $ko in
        *.ko) cp "$ko" "$work/overlay.ko" ;;
        *.ko.xz) xz -dc "$ko" >"$work/overlay.ko" ;;
        *.ko.zst) zstd -dc "$ko" >"$work/overlay.ko" ;;
        *) die "unknown module compression: $ko" ;;
    esac
    install -m 0644 "$vmlinuz" "$cache/vmlinuz"
    install -m 0644 "$work/overlay.ko" "$cache/overlay.ko"
    echo "$pkg" >"$cache/kernel-version"
    rm -rf "$work"
    say "kernel $pkg -> $cache"
}

# The newest signed 6.1 cloud kernel (linux-image-6.1.0-<N>-cloud-amd64): lsm/tests/lsm_vm.rs.
fetch_kernel "$CACHE" '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' "linux-image-6.1.0-*-cloud-amd64 (bookworm source missing?)"
# The newest 6.12 cloud kernel bookworm ships (bookworm-security, `+deb12`): lsm/tests/lsm_vm_6_12.rs (inode_setattr's
# idmap layout, the POSIX ACL hooks, overlayfs backing files).
fetch_kernel "$CACHE_6_12" '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' \
    "linux-image-6.12.*+deb12-cloud-amd64-unsigned (bookworm-security source missing?)"
say "done"
