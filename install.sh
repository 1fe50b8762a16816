#!/usr/bin/env bash
# Installs Palisade from this checkout: builds the release binaries (palisade, palisade-hook,
# palisade-runc) into /usr/local/bin and the OCI hooks.d files into /usr/share/containers/oci/hooks.d.
# Idempotent; `./install.sh --uninstall` removes what it installed.
#
# containerd's own configuration (enabling NRI, BinaryName) is left to the operator: README.md
# says how. The systemd unit comes with a later release.
set -euo pipefail
cd "$(dirname "$0")"

prefix="${PREFIX:-/usr/local}"
binaries=(palisade palisade-hook palisade-runc)
hooks_dir="${HOOKS_DIR:-/usr/share/containers/oci/hooks.d}"
hook_files=(palisade-create-runtime.json palisade-poststop.json)

if [ "${1:-}" = "--uninstall" ]; then
    removed=0
    for b in "${binaries[@]}"; do
        if [ -e "$prefix/bin/$b" ]; then rm -f "$prefix/bin/$b"; echo "removed $prefix/bin/$b"; removed=1; fi
    done
    for h in "${hook_files[@]}"; do
        if [ -e "$hooks_dir/$h" ]; then rm -f "$hooks_dir/$h"; echo "removed $hooks_dir/$h"; removed=1; fi
    done
    [ "$removed" = 1 ] || echo "nothing to remove: palisade is not installed under $prefix"
    exit 0
fi

# Build dependencies of the kernel programs (Debian package names).
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ] || need+=(bpftool)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing build dependencies: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo not found; install Rust (https://rustup.rs) and run again" >&2
    exit 1
fi

echo "building palisade, palisade-hook, palisade-runc (release)..."
cargo build --release --locked -p palisade -p palisade-hook -p palisade-runc
for b in "${binaries[@]}"; do
    install -D -m 0755 "target/release/$b" "$prefix/bin/$b"
    echo "installed $prefix/bin/$b"
done
for h in "${hook_files[@]}"; do
    sed "s|/usr/local/bin/palisade-hook|$prefix/bin/palisade-hook|" "hooks/hooks.d/$h" | install -D -m 0644 /dev/stdin "$hooks_dir/$h"
    echo "installed $hooks_dir/$h"
done
echo "$("$prefix/bin/palisade" version)"
echo "try: palisade rules validate -r /path/to/falco_rules.yaml"
