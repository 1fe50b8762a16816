#!/usr/bin/env bash
# Installs Palisade from this checkout: builds the release binary and puts it in
# /usr/local/bin. Idempotent; `./install.sh --uninstall` removes what it installed.
#
# This release ships the rules engine and its CLI (`palisade rules ...`); the daemon,
# containerd/NRI configuration and systemd unit come with later releases.
set -euo pipefail
cd "$(dirname "$0")"

prefix="${PREFIX:-/usr/local}"
bin="$prefix/bin/palisade"

if [ "${1:-}" = "--uninstall" ]; then
    if [ -e "$bin" ]; then
        rm -f "$bin"
        echo "removed $bin"
    else
        echo "nothing to remove: $bin is not installed"
    fi
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

echo "building palisade (release)..."
cargo build --release --locked -p palisade
install -D -m 0755 target/release/palisade "$bin"
echo "installed $bin ($("$bin" version))"
echo "try: palisade rules validate -r /path/to/falco_rules.yaml"
