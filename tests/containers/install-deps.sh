#!/usr/bin/env bash
# Installs what the container test bed needs on Debian bookworm: containerd 1.7 (from trixie, pinned low),
# runc (bookworm's), busybox-static and bash-static. Idempotent; run as root.
# `--runtime-only` installs only containerd and runc (what install.sh needs on a node).
#
# Why trixie: bookworm's containerd 1.6 has no NRI. Why bookworm's runc: trixie's runc needs glibc 2.38,
# which bookworm lacks. The trixie source is pinned at priority 100 so nothing else is upgraded from it.
set -euo pipefail

runtime_only=0
[[ ${1:-} == --runtime-only ]] && runtime_only=1

say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (uid $(id -u))"
[[ -r /etc/os-release ]] || die "/etc/os-release missing: not a Debian machine?"
# shellcheck disable=SC1091
. /etc/os-release
[[ ${ID:-} == debian ]] || die "expected Debian, found ID=${ID:-unknown}"
command -v apt-get >/dev/null || die "apt-get not found"

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SOURCE=/etc/apt/sources.list.d/palisade-trixie.sources
PIN=/etc/apt/preferences.d/palisade-trixie
export DEBIAN_FRONTEND=noninteractive

[[ -r $KEYRING ]] || die "$KEYRING missing (package debian-archive-keyring)"

# Writes $2 to file $1 unless it already holds exactly that; returns 0 when it changed the file.
write_if_changed() {
    local path=$1 content=$2
    if [[ -f $path ]] && [[ $(cat "$path") == "$content" ]]; then
        say "$path up to date"
        return 1
    fi
    say "writing $path"
    printf '%s\n' "$content" >"$path"
}

# Another file may already provide trixie (apt warns about targets configured twice): then use that one.
# The pin below applies to every trixie source whatever file names it.
other_trixie_source() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f && $f != "$SOURCE" ]] || continue
        if grep -Eqs '^(Suites:.*[[:space:]]trixie([[:space:]]|$)|deb[[:space:]].*[[:space:]]trixie[[:space:]])' "$f"; then
            echo "$f"
            return 0
        fi
    done
    return 1
}

changed=0
if existing=$(other_trixie_source); then
    say "trixie already configured in $existing"
else
    write_if_changed "$SOURCE" "Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: $KEYRING" && changed=1
fi
write_if_changed "$PIN" "Package: *
Pin: release n=trixie
Pin-Priority: 100" && changed=1

if [[ $changed -eq 1 ]] || ! apt-cache policy containerd 2>/dev/null | grep -q 'trixie'; then
    say "apt-get update"
    apt-get update -q || die "apt-get update failed"
fi

# installed PACKAGE: true when dpkg says it is installed.
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

containerd_ok() {
    installed containerd || return 1
    local v
    v=$(dpkg-query -W -f='${Version}' containerd)
    [[ $v == 1.7.* ]]
}

if containerd_ok; then
    say "containerd $(dpkg-query -W -f='${Version}' containerd) already installed"
else
    say "installing containerd/trixie"
    # runc/bookworm is named so apt does not pull trixie's runc (glibc 2.38) as containerd's dependency.
    apt-get install -y -q --no-install-recommends containerd/trixie runc/bookworm \
        || die "cannot install containerd/trixie with runc/bookworm"
fi

packages=(runc)
[[ $runtime_only -eq 1 ]] || packages+=(busybox-static bash-static)
for pkg in "${packages[@]}"; do
    if installed "$pkg"; then
        say "$pkg $(dpkg-query -W -f='${Version}' "$pkg") already installed"
    else
        say "installing $pkg"
        apt-get install -y -q --no-install-recommends "$pkg" || die "cannot install $pkg"
    fi
done

# Check what the tests will run.
containerd --version || die "containerd does not run"
runc --version | head -n1 || die "runc does not run"
if [[ $runtime_only -eq 0 ]]; then
    busybox true || die "busybox does not run"
    bash-static -c true || die "bash-static does not run"
fi
say "done"
