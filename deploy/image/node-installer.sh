#!/bin/sh
# Palisade's node installer, the Helm chart's init container (busybox sh, privileged, host PID):
# `install` places the node binaries on the host and a containerd runtime handler running
# palisade-runc; `uninstall` reverses both and removes the daemon's pinned BPF programs and maps
# (they outlive the daemon on purpose, so a rolling restart misses nothing); `wait` sleeps (the daemon container's stand-in while
# the chart uninstalls). Idempotent: an unchanged node is left alone and containerd untouched.
#
# containerd reads its configuration only when it starts, and 1.7 merges an `imports` drop-in by
# whole plugin section: a drop-in naming the CRI plugin would replace the node's CRI settings
# (containerd issue #5837). So the installer appends a marked block to the node's config.toml
# (the tables of the new runtime, and NRI on if the file does not configure NRI), the way
# install.sh does on a node, after these checks:
# - the candidate file is parsed by the node's own containerd (`containerd --config NEW config
#   dump`, in the host's mount namespace) and must show the handler before it replaces the file;
#   the original is kept once as config.toml.palisade-backup;
# - a file that already defines the handler outside Palisade's block, or a version 1 file, is not
#   changed: the installer fails with what to set by hand (or the chart's installer.enabled=false);
# - runtime `SystemdCgroup = true` of the node's runc runtime is carried over (the kubelet's
#   cgroup driver must match).
# Then containerd is restarted (PALISADE_RESTART_CONTAINERD=true, with systemd) only when the
# file changed: running containers keep running (their shims are separate processes that
# containerd re-attaches on start) and the kubelet reconnects; the installer waits until
# containerd answers again before it exits, so the daemon container starts on a live containerd.
#
# Environment (set by the chart): PALISADE_HOST_ROOT (where the host's directories are mounted
# here, default /host; empty: this is the node, e.g. the script run by hand there), PALISADE_NODE_DIR (host directory for the binaries, /opt/palisade),
# PALISADE_CONTAINERD_CONFIG (/etc/containerd/config.toml), PALISADE_RUNTIME_HANDLER (palisade),
# PALISADE_RESTART_CONTAINERD (true), PALISADE_CONTAINERD_SOCKET (/run/containerd/containerd.sock),
# PALISADE_PIN_ROOT (/sys/fs/bpf/palisade: the pins, under the host root), PALISADE_HOOK_CONFIG
# (/etc/palisade/hook.json, what palisade-runc and palisade-hook read on the node),
# PALISADE_HOOK_SOCKET (/run/palisade/hook.sock), PALISADE_HOOK_FAILURE_POLICY (open|closed),
# PALISADE_HOOK_TIMEOUT_MS (8000: how long a container's creation waits for the daemon, a
# restarting one included; runc gives the hook 10 s).
#
# The node's hook.json is the installer's only while it holds what the installer wrote (a copy
# is kept as $node_dir/hook.json): a file of the node's own is left alone, and uninstall removes
# only the installer's.
set -eu

host=${PALISADE_HOST_ROOT-/host}
node_dir=${PALISADE_NODE_DIR:-/opt/palisade}
config=${PALISADE_CONTAINERD_CONFIG:-/etc/containerd/config.toml}
handler=${PALISADE_RUNTIME_HANDLER:-palisade}
restart=${PALISADE_RESTART_CONTAINERD:-true}
socket=${PALISADE_CONTAINERD_SOCKET:-/run/containerd/containerd.sock}
pins=${PALISADE_PIN_ROOT:-/sys/fs/bpf/palisade}
hook_config=${PALISADE_HOOK_CONFIG:-/etc/palisade/hook.json}
hook_socket=${PALISADE_HOOK_SOCKET:-/run/palisade/hook.sock}
hook_policy=${PALISADE_HOOK_FAILURE_POLICY:-open}
hook_timeout=${PALISADE_HOOK_TIMEOUT_MS:-8000}
binaries="palisade-hook palisade-runc palisade-init"
# Where the image keeps them (a test runs the installer outside the image).
source_dir=${PALISADE_SOURCE_DIR:-/usr/local/bin}
begin="# >>> palisade runtime handler (managed by the palisade Helm chart's installer)"
end="# <<< palisade runtime handler"

say() { echo "palisade-node-installer: $*"; }
fail() { say "$*" >&2; exit 1; }
# Runs a program of the host, in the host's mount namespace (PID 1's: the pod has host PID);
# directly when PALISADE_HOST_ROOT is empty (run on the node itself, by hand or by a test).
on_host() { if [ -z "$host" ]; then "$@"; else nsenter -t 1 -m -- "$@"; fi; }

# The host's config.toml without Palisade's block.
without_block() {
    [ -f "$host$config" ] || return 0
    awk -v b="$begin" -v e="$end" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' "$host$config"
}

# Palisade's block for a config of version $1 (2: containerd 1.x, 3: containerd 2.x), given the
# rest of the file on stdin.
block() {
    rest=$(cat)
    cri='plugins."io.containerd.grpc.v1.cri".containerd.runtimes'
    [ "$1" = 3 ] && cri='plugins."io.containerd.cri.v1.runtime".containerd.runtimes'
    echo "$begin"
    if [ "$1" = 2 ] && ! printf '%s\n' "$rest" | grep -q 'io\.containerd\.nri\.v1\.nri'; then
        printf '[plugins."io.containerd.nri.v1.nri"]\n  disable = false\n  socket_path = "/var/run/nri/nri.sock"\n'
    fi
    printf '[%s.%s]\n  runtime_type = "io.containerd.runc.v2"\n' "$cri" "$handler"
    printf '[%s.%s.options]\n  BinaryName = "%s/bin/palisade-runc"\n' "$cri" "$handler" "$node_dir"
    if printf '%s\n' "$rest" | grep -q '^[[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*true'; then
        echo '  SystemdCgroup = true'
    fi
    echo "$end"
}

# Replaces the host's config.toml with $1 after the host's containerd parsed it and showed $2
# in it (keeping the original once as .palisade-backup when $3 is "backup"); returns 1 and
# changes nothing when $1 is what the file holds.
replace_config() {
    new=$1 want=$2 backup=${3:-}
    if [ -f "$host$config" ] && cmp -s "$new" "$host$config"; then
        return 1
    fi
    candidate="$config.palisade-new"
    cp "$new" "$host$candidate"
    if ! dump=$(on_host containerd --config "$candidate" config dump 2>&1); then
        rm -f "$host$candidate"
        fail "the node's containerd rejects the new $config: $dump"
    fi
    if [ -n "$want" ] && ! printf '%s\n' "$dump" | grep -qF "$want"; then
        rm -f "$host$candidate"
        fail "the node's containerd does not show $want in the new $config (an imports file overriding it?)"
    fi
    if [ "$backup" = backup ] && [ -f "$host$config" ] && [ ! -e "$host$config.palisade-backup" ]; then
        cp -p "$host$config" "$host$config.palisade-backup"
        say "kept the original as $config.palisade-backup"
    fi
    mv "$host$candidate" "$host$config"
    return 0
}

restart_containerd() {
    if [ "$restart" != true ]; then
        say "containerd NOT restarted (installer.restartContainerd=false): restart it on this node to apply"
        return
    fi
    if ! on_host sh -c 'command -v systemctl && [ -d /run/systemd/system ]' >/dev/null 2>&1; then
        say "no systemd on this node: restart containerd by hand to apply"
        return
    fi
    say "restarting containerd (running containers keep running)"
    if [ -z "$host" ]; then systemctl restart containerd; else nsenter -t 1 -m -u -i -n -p -- systemctl restart containerd; fi
    i=0
    until on_host ctr --address "$socket" version >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -le 60 ] || fail "containerd does not answer on $socket 60 s after its restart"
        sleep 1
    done
    say "containerd is back"
}

install_binaries() {
    mkdir -p "$host$node_dir/bin"
    for b in $binaries; do
        if cmp -s "$source_dir/$b" "$host$node_dir/bin/$b"; then
            continue
        fi
        # A rename: containerd never runs a half-written wrapper.
        cp "$source_dir/$b" "$host$node_dir/bin/.$b.new"
        chmod 0755 "$host$node_dir/bin/.$b.new"
        mv "$host$node_dir/bin/.$b.new" "$host$node_dir/bin/$b"
        say "installed $node_dir/bin/$b"
    done
}

# The node's hook.json: written when absent or still the installer's (the kept copy).
install_hook_config() {
    new=$(mktemp)
    printf '{"socket": "%s", "timeout_ms": %s, "failure_policy": "%s"}\n' "$hook_socket" "$hook_timeout" "$hook_policy" >"$new"
    if [ -e "$host$hook_config" ] && ! cmp -s "$host$hook_config" "$host$node_dir/hook.json"; then
        say "$hook_config is the node's own: left as it is"
    elif cmp -s "$new" "$host$hook_config"; then
        :
    else
        mkdir -p "$(dirname "$host$hook_config")"
        cp "$new" "$host$hook_config.palisade-new" && mv "$host$hook_config.palisade-new" "$host$hook_config"
        cp "$new" "$host$node_dir/hook.json"
        say "hook configuration $hook_config: failure_policy $hook_policy, timeout_ms $hook_timeout"
    fi
    rm -f "$new"
}

install() {
    install_binaries
    install_hook_config
    rest=$(mktemp)
    without_block >"$rest"
    version=2
    if [ -f "$host$config" ]; then
        if grep -q '^[[:space:]]*version[[:space:]]*=[[:space:]]*3' "$rest"; then
            version=3
        elif ! grep -q '^[[:space:]]*version[[:space:]]*=[[:space:]]*2' "$rest"; then
            fail "$config is not a version 2 or 3 configuration: add the runtime handler by hand: [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.$handler] runtime_type = \"io.containerd.runc.v2\", options BinaryName = \"$node_dir/bin/palisade-runc\" (or installer.enabled=false)"
        fi
        if grep -q "runtimes\.\"\?$handler\"\?[].]" "$rest"; then
            fail "$config already defines a runtime $handler of its own: not changed (set installer.enabled=false, or remove it)"
        fi
    fi
    new=$(mktemp)
    if [ -f "$host$config" ]; then
        cat "$rest" >"$new"
    else
        echo 'version = 2' >"$new"
    fi
    block "$version" <"$rest" >>"$new"
    if replace_config "$new" "$node_dir/bin/palisade-runc" backup; then
        say "containerd runtime handler $handler -> $node_dir/bin/palisade-runc in $config"
        restart_containerd
    else
        say "$config already has the runtime handler $handler"
    fi
    rm -f "$rest" "$new"
}

uninstall() {
    if [ -f "$host$config" ] && grep -qF "$begin" "$host$config"; then
        new=$(mktemp)
        without_block >"$new"
        # The backup is the file as it was before the install: gone once the file is that again.
        if [ -e "$host$config.palisade-backup" ] && cmp -s "$new" "$host$config.palisade-backup"; then
            rm -f "$host$config.palisade-backup"
        fi
        if ! grep -q '[^[:space:]]' "$new" || [ "$(grep -v '^[[:space:]]*$' "$new")" = "version = 2" ]; then
            # It held only what the installer wrote.
            rm -f "$host$config"
            say "removed $config (it held only Palisade's block)"
        else
            replace_config "$new" "" || true
            say "removed Palisade's block from $config"
        fi
        rm -f "$new"
        restart_containerd
    fi
    for b in $binaries; do
        if [ -e "$host$node_dir/bin/$b" ]; then
            rm -f "$host$node_dir/bin/$b"
            say "removed $node_dir/bin/$b"
        fi
    done
    if [ -e "$host$node_dir/hook.json" ]; then
        if cmp -s "$host$hook_config" "$host$node_dir/hook.json"; then
            rm -f "$host$hook_config"
            rmdir "$(dirname "$host$hook_config")" 2>/dev/null || true
            say "removed $hook_config"
        fi
        rm -f "$host$node_dir/hook.json"
    fi
    rmdir "$host$node_dir/bin" 2>/dev/null || true
    # The daemon's pinned programs and maps (`palisade detach` on a node does the same): with
    # them go detection buffered for a successor and BPF-LSM enforcement.
    if [ -d "$host$pins" ]; then
        rm -r "$host$pins"
        say "removed the pinned BPF programs and maps $pins: nothing of Palisade runs in the kernel now"
    fi
    say "uninstalled: delete the release now (helm uninstall)"
}

case "${1:-}" in
    install) install ;;
    uninstall) uninstall ;;
    wait) say "uninstalled; waiting for helm uninstall"; exec sleep 2147483647 ;;
    *) echo "usage: node-installer.sh install|uninstall|wait" >&2; exit 2 ;;
esac
