#!/usr/bin/env bash
# Installs what `scripts/test.sh` needs on a fresh Debian machine, idempotently (root; a machine
# that has everything is left as it is):
# - the build: clang and libbpf's headers for the kernel programs
#   (enforcer-ebpf/build.rs), g++ for libFuzzer, rustup's clippy component;
# - the container test bed: containerd 1.7 (trixie), runc, busybox-static, bash-static
#   (tests/containers/install-deps.sh);
# - the BPF-LSM guest test: QEMU, cpio, Debian's 6.1 and 6.12 kernels (tests/lsm-vm/install-deps.sh);
# - podman (tests/containers/tests/podman_metadata.rs: podman containers through hooks.d);
# - prometheus (cli/tests/run_prometheus.rs: a real Prometheus scrapes the daemon and answers
#   every query of the Grafana dashboard).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'install-test-deps: %s\n' "$*"; }
[[ $(id -u) -eq 0 ]] || { say "error: must run as root (the tests load kernel programs and start containers)" >&2; exit 1; }

need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v llvm-strip >/dev/null 2>&1 || need+=(llvm)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
if [ "${#need[@]}" -gt 0 ]; then
    say "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! cargo clippy --version >/dev/null 2>&1; then
    say "rustup component add clippy"
    rustup component add clippy
fi

./tests/containers/install-deps.sh
./tests/lsm-vm/install-deps.sh
