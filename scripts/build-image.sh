#!/usr/bin/env bash
# Builds Palisade's container image as an OCI image archive (`ctr images import`, `podman load`),
# without pulling anything from a registry:
# `scripts/build-image.sh [--debug] [--output FILE] [--daemon FILE]`.
#
# The image is named docker.io/library/palisade:VERSION (what a pod's `image: palisade:VERSION`
# resolves to, and the chart's default). One name only: `podman load` refuses an archive whose
# index lists more than one manifest ("more than one image in oci, choose an image"), so
# `latest` is a `ctr images tag` (or `podman tag`) after the import. It holds:
# - /usr/local/bin/palisade (the daemon and CLI) and the node binaries palisade-hook,
#   palisade-runc and palisade-init, the last three linked statically: the chart's installer
#   copies them onto the node, where they run under containerd whatever the node's libc;
# - /etc/palisade: a configuration for a pod (deploy/image/palisade.yaml), rules.d/ with
#   Palisade's default rules, profiles/ with the shipped per-image profiles;
# - /usr/local/lib/palisade/node-installer.sh, the chart's init container (deploy/image/);
# - busybox (static) as /bin/sh and its applets: the installer's shell, program_output's `sh -c`,
#   and a shell for `kubectl exec` when something must be looked at.
#
# Why this base and not a distribution: the daemon needs only glibc (its shared libraries, found
# with ldd and copied at the paths ldd prints, with the dynamic loader) and the files above. A
# Debian root made by mmdebstrap would add ~100 MB and a mirror download to every build for
# nothing the daemon opens; copying what ldd names keeps the image to the build host's own files,
# so the build needs no network once the Rust crates are fetched.
#
# Reproducible: every file's mtime and the config's `created` are SOURCE_DATE_EPOCH (default: the
# last commit's time), entries are sorted, owners are 0:0, and gzip writes no name or time; the
# same binaries give the same digests. The OCI layout (oci-layout, index.json, blobs/sha256/*) is
# written here: one gzip layer, its config and manifest, and one index entry carrying
# `io.containerd.image.name` (ctr's full name) and `org.opencontainers.image.ref.name` (podman's).
#
# Binaries: cargo builds them (a no-op when target/ is up to date): `palisade` in
# ${CARGO_TARGET_DIR:-target}/release (or debug with --debug; or the one --daemon names, as the
# image test passes the one `cargo test` built), the static ones in target/static as install.sh
# does; their debug info is stripped. Output (default ${CARGO_TARGET_DIR:-target}/
# palisade-image-VERSION.tar): prints the archive's path, size and manifest digest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

profile=release
output=""
daemon=""
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) profile=debug ;;
        --output) output=${2:?--output needs a file}; shift ;;
        --daemon) daemon=${2:?--daemon needs a file}; shift ;;
        -h|--help) sed -n '2,4p' "$0" | sed 's/^# //'; exit 0 ;;
        *) echo "build-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf 'build-image.sh: %s\n' "$*" >&2; }
# ldd names no library (=>) for a static or static-pie program.
is_static() { ! ldd "$1" 2>&1 | grep -q '=> '; }
need() { command -v "$1" >/dev/null 2>&1 || { say "$1 is needed ($2)"; exit 1; }; }
need cargo "Rust toolchain"
need ldd "libc-bin"
need busybox "apt-get install busybox-static"
need gzip "gzip"
need sha256sum "coreutils"
need nsenter "util-linux"
need strip "binutils"
nsenter=$(command -v nsenter)

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { say "no version in Cargo.toml"; exit 1; }
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
esac
name=docker.io/library/palisade
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
[ -n "$output" ] || output="$target_dir/palisade-image-$version.tar"

release_flag=()
[ "$profile" = release ] && release_flag=(--release)
if [ -z "$daemon" ]; then
    say "building palisade ($profile)..."
    cargo build "${release_flag[@]}" --locked -q -p palisade
    daemon="$target_dir/$profile/palisade"
fi
# Static: these run on the node (hook, wrapper) or inside other containers (init), whatever libc
# they have. An explicit --target keeps the flag off build scripts and proc macros.
host_target=$(rustc -vV | sed -n 's/^host: //p')
say "building palisade-hook, palisade-runc, palisade-init ($profile, static)..."
RUSTFLAGS="-C target-feature=+crt-static" cargo build "${release_flag[@]}" --locked -q \
    -p palisade-hook -p palisade-runc -p palisade-init --target "$host_target" --target-dir "$root/target/static"
static_dir="$root/target/static/$host_target/$profile"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"

# The root: directories first, modes fixed whatever the umask.
for d in bin usr/bin etc/palisade/rules.d etc/palisade/profiles usr/local/bin usr/local/lib/palisade \
         tmp run var/log/palisade proc sys dev root host; do
    mkdir -p "$rootfs/$d"
done

# Without their DWARF (the release profile keeps line tables for profiling on a build host):
# symbols stay, for backtraces.
install -m 0755 "$daemon" "$rootfs/usr/local/bin/palisade"
strip --strip-debug "$rootfs/usr/local/bin/palisade"
for b in palisade-hook palisade-runc palisade-init; do
    install -m 0755 "$static_dir/$b" "$rootfs/usr/local/bin/$b"
    strip --strip-debug "$rootfs/usr/local/bin/$b"
    if ! is_static "$rootfs/usr/local/bin/$b"; then
        say "$b is not static: refusing to ship it to nodes"
        exit 1
    fi
done

# util-linux's nsenter: the DaemonSet starts the daemon in the host's cgroup namespace with it
# (`nsenter --cgroup=/proc/1/ns/cgroup`), which busybox's nsenter cannot enter.
install -m 0755 "$nsenter" "$rootfs/usr/bin/nsenter"

# The shared libraries of the daemon and nsenter, and the dynamic loader, at the paths ldd names
# (the loader finds them in its built-in directories: no ld.so.cache is needed).
ldd "$daemon" "$nsenter" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u | while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
    chmod 0755 "$rootfs$lib"
done

bb=$(command -v busybox)
install -m 0755 "$bb" "$rootfs/bin/busybox"
if ! is_static "$rootfs/bin/busybox"; then
    say "$bb is not static (apt-get install busybox-static)"
    exit 1
fi
busybox --list-full | sed 's|^/||' | while read -r applet; do
    [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || { mkdir -p "$rootfs/$(dirname "$applet")"; ln -s /bin/busybox "$rootfs/$applet"; }
done

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
printf 'NAME="Palisade"\nID=palisade\nVERSION_ID=%s\n' "$version" >"$rootfs/etc/os-release"
install -m 0644 deploy/image/palisade.yaml "$rootfs/etc/palisade/palisade.yaml"
install -m 0644 rules/default/palisade_rules.yaml "$rootfs/etc/palisade/rules.d/palisade_rules.yaml"
for f in profiles/default/*.yaml; do
    install -m 0644 "$f" "$rootfs/etc/palisade/profiles/$(basename "$f")"
done
install -m 0755 deploy/image/node-installer.sh "$rootfs/usr/local/lib/palisade/node-installer.sh"
mkdir -p "$rootfs/var" && ln -s /run "$rootfs/var/run"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
find "$rootfs" -type d -not -path "$rootfs/tmp" -not -path "$rootfs/root" -exec chmod 0755 {} +

# One layer, entries sorted, owners 0:0, one mtime; gzip without name or time.
tar_fixed=(--sort=name --format=gnu --mtime="@$epoch" --owner=0 --group=0 --numeric-owner)
tar "${tar_fixed[@]}" -C "$rootfs" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n "$work/layer.tar"

layout="$work/layout"
mkdir -p "$layout/blobs/sha256"
# Moves $1 into blobs/ under its digest; prints the digest (hex).
blob() {
    local hex
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    mv "$1" "$layout/blobs/sha256/$hex"
    printf '%s' "$hex"
}
size() { stat -c %s "$layout/blobs/sha256/$1"; }

layer=$(blob "$work/layer.tar.gz")
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
printf '%s' "{\"created\":\"$created\",\"architecture\":\"$arch\",\"os\":\"linux\",\
\"config\":{\"Entrypoint\":[\"/usr/local/bin/palisade\"],\"Cmd\":[\"run\",\"-c\",\"/etc/palisade/palisade.yaml\"],\
\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"WorkingDir\":\"/\",\
\"Labels\":{\"org.opencontainers.image.title\":\"palisade\",\"org.opencontainers.image.version\":\"$version\",\
\"org.opencontainers.image.revision\":\"$revision\"}},\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\
\"history\":[{\"created\":\"$created\",\"created_by\":\"scripts/build-image.sh\"}]}" >"$work/config.json"
config=$(blob "$work/config.json")
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config\",\"size\":$(size "$config")},\
\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer\",\"size\":$(size "$layer")}]}" \
    >"$work/manifest.json"
manifest=$(blob "$work/manifest.json")
entry() {
    printf '%s' "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest\",\
\"size\":$(size "$manifest"),\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"},\
\"annotations\":{\"io.containerd.image.name\":\"$name:$1\",\"org.opencontainers.image.ref.name\":\"$name:$1\"}}"
}
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\
\"manifests\":[$(entry "$version")]}" >"$layout/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
chmod 0644 "$layout/index.json" "$layout/oci-layout" "$layout"/blobs/sha256/*

mkdir -p "$(dirname "$output")"
tar "${tar_fixed[@]}" -C "$layout" -cf "$output.tmp" oci-layout index.json blobs
mv "$output.tmp" "$output"
say "wrote $output ($name:$version; for :latest too: ctr -n k8s.io images tag $name:$version $name:latest)"
printf 'archive: %s\nsize: %s bytes (layer %s bytes compressed, %s uncompressed)\nmanifest: sha256:%s\n' \
    "$output" "$(stat -c %s "$output")" "$(size "$layer")" "$(tar -tvf "$output" >/dev/null && zcat "$layout/blobs/sha256/$layer" | wc -c)" "$manifest"
