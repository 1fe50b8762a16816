#!/usr/bin/env bash
# Installs what the BPF-LSM guest test (lsm/tests/lsm_vm.rs) needs on Debian bookworm: QEMU (TCG),
# busybox-static and cpio for the initramfs, and Debian's stock 6.1 cloud kernel (vmlinuz + overlay.ko)
# extracted into a cache folder. Idempotent; run as root.
#
# Why a guest: this machine's kernel refuses LSM programs at load (EPERM, see shared/notes/lsm-vm.md);
# Debian's cloud kernel enables BPF-LSM by default and loads them.
# Output: $PALISADE_LSM_VM_CACHE (default /var/cache/palisade-lsm-vm) holding
#   vmlinuz        the guest kernel
#   overlay.ko     overlayfs for that kernel, uncompressed (busybox insmod takes plain .ko only)
#   kernel-version the package it came from
set -euo pipefail

CACHE=${PALISADE_LSM_VM_CACHE:-/var/cache/palisade-lsm-vm}

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

# The newest signed 6.1 cloud kernel the archive lists (linux-image-6.1.0-<N>-cloud-amd64).
latest_kernel() {
    apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' \
        | awk '{print $1}' | sort -V | tail -n1
}

mkdir -p "$CACHE"
if [[ -s $CACHE/vmlinuz && -s $CACHE/overlay.ko && -s $CACHE/kernel-version ]]; then
    say "kernel $(cat "$CACHE/kernel-version") already in $CACHE"
else
    pkg=$(latest_kernel)
    if [[ -z $pkg ]]; then
        apt_update_once
        pkg=$(latest_kernel)
    fi
    [[ -n $pkg ]] || die "no linux-image-6.1.0-*-cloud-amd64 in the apt lists (bookworm source missing?)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
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
    install -m 0644 "$vmlinuz" "$CACHE/vmlinuz"
    install -m 0644 "$work/overlay.ko" "$CACHE/overlay.ko"
    echo "$pkg" >"$CACHE/kernel-version"
    say "kernel $pkg -> $CACHE"
fi
say "done"
