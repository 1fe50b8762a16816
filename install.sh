#!/usr/bin/env bash
# Installs Palisade on this node from this checkout, idempotently; `./install.sh --uninstall`
# reverses it. Prints every change it makes.
#
# - build dependencies (clang, libbpf-dev) and containerd 1.7 + runc if missing
#   (tests/containers/install-deps.sh --runtime-only: containerd from Debian trixie, pinned low);
# - release binaries palisade, palisade-hook, palisade-runc in $PREFIX/bin (default /usr/local),
#   and palisade-init, linked statically (it runs inside containers, whatever their libc);
# - /etc/palisade: palisade.yaml and hook.json (kept if you edited them), rules.d/ with
#   Palisade's default rules, profiles/ with the shipped per-image profiles;
# - OCI hooks.d files for podman/CRI-O;
# - containerd: NRI enabled and palisade-runc as the CRI runtime's BinaryName, in a marked block
#   of /etc/containerd/config.toml (only when that file has no NRI or runc-options section of
#   its own: then it says what to set by hand);
# - with systemd: a unit for the daemon, and a containerd drop-in putting a `runc` link to the
#   wrapper first in containerd's PATH (for ctr); without: how to do both by hand.
set -euo pipefail
cd "$(dirname "$0")"

prefix="${PREFIX:-/usr/local}"
etc="${PALISADE_ETC:-/etc/palisade}"
hooks_dir="${HOOKS_DIR:-/usr/share/containers/oci/hooks.d}"
containerd_config="${CONTAINERD_CONFIG:-/etc/containerd/config.toml}"
unit=/etc/systemd/system/palisade.service
binaries=(palisade palisade-hook palisade-runc palisade-init)
hook_files=(palisade-create-runtime.json palisade-poststop.json)
begin_marker="# >>> palisade (managed by install.sh; removed by install.sh --uninstall)"
end_marker="# <<< palisade"

say() { printf 'install.sh: %s\n' "$*"; }
systemd_running() { [ -d /run/systemd/system ]; }

# Installs $1 as $2 unless $2 exists and differs (a user's edit is kept).
install_config() {
    local src=$1 dst=$2
    if [ -e "$dst" ] && ! cmp -s "$src" "$dst"; then
        say "kept $dst (differs from the shipped one: your edits stay)"
    elif [ -e "$dst" ]; then
        say "$dst up to date"
    else
        install -D -m 0644 "$src" "$dst"
        say "installed $dst"
    fi
}

# Removes $2 if it is still exactly the shipped $1.
remove_config() {
    local src=$1 dst=$2
    if [ -e "$dst" ] && cmp -s "$src" "$dst"; then
        rm -f "$dst"
        say "removed $dst"
    elif [ -e "$dst" ]; then
        say "kept $dst (edited since install)"
    fi
}

uninstall() {
    if systemd_running && [ -e "$unit" ]; then
        systemctl disable --now palisade.service >/dev/null 2>&1 || true
        rm -f "$unit"
        systemctl daemon-reload
        say "removed $unit"
    fi
    # The daemon's pinned BPF programs and maps outlive it (a restart misses nothing): with the
    # daemon stopped, remove them (`palisade detach` does the same by hand).
    if [ -d /sys/fs/bpf/palisade ]; then
        rm -r /sys/fs/bpf/palisade
        say "removed the pinned BPF programs and maps /sys/fs/bpf/palisade"
    fi
    for b in "${binaries[@]}"; do
        if [ -e "$prefix/bin/$b" ]; then rm -f "$prefix/bin/$b"; say "removed $prefix/bin/$b"; fi
    done
    if [ -L "$prefix/lib/palisade/bin/runc" ]; then
        rm -rf "$prefix/lib/palisade"
        say "removed $prefix/lib/palisade"
    fi
    if [ -e /etc/systemd/system/containerd.service.d/palisade.conf ]; then
        rm -f /etc/systemd/system/containerd.service.d/palisade.conf
        rmdir /etc/systemd/system/containerd.service.d 2>/dev/null || true
        systemd_running && systemctl daemon-reload
        say "removed containerd's PATH drop-in (restart containerd to apply)"
    fi
    for h in "${hook_files[@]}"; do
        if [ -e "$hooks_dir/$h" ]; then rm -f "$hooks_dir/$h"; say "removed $hooks_dir/$h"; fi
    done
    remove_config install/palisade.yaml "$etc/palisade.yaml"
    remove_config install/hook.json "$etc/hook.json"
    remove_config rules/default/palisade_rules.yaml "$etc/rules.d/palisade_rules.yaml"
    for f in profiles/default/*.yaml; do
        remove_config "$f" "$etc/profiles/$(basename "$f")"
    done
    for d in "$etc/rules.d" "$etc/profiles" "$etc"; do
        if [ -d "$d" ] && rmdir "$d" 2>/dev/null; then say "removed $d"; fi
    done
    if [ -f "$containerd_config" ] && grep -qF "$begin_marker" "$containerd_config"; then
        sed -i "/^$(printf '%s' "$begin_marker" | sed 's/[][\/.*^$]/\\&/g')\$/,/^$end_marker\$/d" "$containerd_config"
        say "removed Palisade's block from $containerd_config (restart containerd to apply)"
        if ! grep -q '[^[:space:]]' "$containerd_config"; then
            rm -f "$containerd_config"
            say "removed $containerd_config (it held only Palisade's block)"
        fi
    fi
    say "uninstalled"
}

if [ "${1:-}" = "--uninstall" ]; then
    uninstall
    exit 0
fi
if [ -n "${1:-}" ]; then
    echo "usage: ./install.sh [--uninstall]" >&2
    exit 2
fi
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

# Build dependencies of the kernel programs (Debian package names).
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
if [ "${#need[@]}" -gt 0 ]; then
    say "installing build dependencies: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
./tests/containers/install-deps.sh --runtime-only | sed 's/^/  /'

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo not found; install Rust (https://rustup.rs) and run again" >&2
    exit 1
fi

say "building palisade, palisade-hook, palisade-runc, palisade-init (release)..."
cargo build --release --locked -q -p palisade -p palisade-hook -p palisade-runc
# Static: palisade-init is bind-mounted into containers and runs on their libc-less roots.
# An explicit --target keeps the flag off build scripts and proc macros.
host_target=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -q -p palisade-init \
    --target "$host_target" --target-dir target/static
for b in "${binaries[@]}"; do
    built="target/release/$b"
    [ "$b" = palisade-init ] && built="target/static/$host_target/release/palisade-init"
    if cmp -s "$built" "$prefix/bin/$b"; then
        say "$prefix/bin/$b up to date"
    else
        install -D -m 0755 "$built" "$prefix/bin/$b"
        say "installed $prefix/bin/$b"
    fi
done

install_config install/palisade.yaml "$etc/palisade.yaml"
install_config install/hook.json "$etc/hook.json"
install_config rules/default/palisade_rules.yaml "$etc/rules.d/palisade_rules.yaml"
for f in profiles/default/*.yaml; do
    install_config "$f" "$etc/profiles/$(basename "$f")"
done
"$prefix/bin/palisade" profiles check "$etc/profiles" | tail -n 1 | sed 's/^/  /'
# The shipped configuration must load: refuse to leave a node with one that does not.
"$prefix/bin/palisade" rules validate -r "$etc/rules.d/palisade_rules.yaml" | sed 's/^/  /'

for h in "${hook_files[@]}"; do
    tmp=$(mktemp)
    sed "s|/usr/local/bin/palisade-hook|$prefix/bin/palisade-hook|" "hooks/hooks.d/$h" >"$tmp"
    install_config "$tmp" "$hooks_dir/$h"
    rm -f "$tmp"
done

# containerd: NRI on, and the wrapper for CRI containers.
block="$begin_marker
version = 2
[plugins.\"io.containerd.nri.v1.nri\"]
  disable = false
  socket_path = \"/var/run/nri/nri.sock\"
[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]
  BinaryName = \"$prefix/bin/palisade-runc\"
$end_marker"
if [ -f "$containerd_config" ] && grep -qF "$begin_marker" "$containerd_config"; then
    say "$containerd_config already configured"
elif [ -f "$containerd_config" ] && { grep -qE 'io\.containerd\.nri\.v1\.nri|runtimes\.runc\.options' "$containerd_config" \
        || ! grep -qE '^version *= *2' "$containerd_config"; }; then
    say "NOT changing $containerd_config (it configures NRI or runc itself, or is not a version 2 config): set by hand"
    say "  [plugins.\"io.containerd.nri.v1.nri\"] disable = false"
    say "  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options] BinaryName = \"$prefix/bin/palisade-runc\""
else
    mkdir -p "$(dirname "$containerd_config")"
    # An existing (version 2) file already says its version.
    [ -f "$containerd_config" ] && block=$(printf '%s\n' "$block" | grep -v '^version = 2$')
    printf '%s\n' "$block" >>"$containerd_config"
    say "enabled NRI and set BinaryName=palisade-runc in $containerd_config (restart containerd to apply)"
fi
# ctr: a `runc` that is the wrapper, first in containerd's PATH (a systemd drop-in), or by hand.
wrapper_dir="$prefix/lib/palisade/bin"
dropin=/etc/systemd/system/containerd.service.d/palisade.conf
if systemd_running; then
    mkdir -p "$wrapper_dir"
    ln -sfn "$prefix/bin/palisade-runc" "$wrapper_dir/runc"
    tmp=$(mktemp)
    printf '[Service]\nEnvironment="PATH=%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n' "$wrapper_dir" >"$tmp"
    install_config "$tmp" "$dropin"
    rm -f "$tmp"
    say "containerd's PATH starts with $wrapper_dir (runc -> palisade-runc): systemctl restart containerd to apply"
else
    say "for ctr: run containers with --runc-binary $prefix/bin/palisade-runc, or start containerd with PATH=<dir holding a runc -> palisade-runc link>:\$PATH"
fi

if systemd_running; then
    install_config install/palisade.service "$unit"
    systemctl daemon-reload
    systemctl enable --now palisade.service >/dev/null
    say "palisade.service enabled and started (journalctl -u palisade)"
else
    say "no systemd here: start the daemon by hand: palisade run    (config: $etc/palisade.yaml)"
fi
say "$("$prefix/bin/palisade" version)"
