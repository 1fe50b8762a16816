#!/usr/bin/env bash
# Runs every Palisade test on this machine (root, Debian, kernel with BTF): installs what the
# tests need (scripts/install-test-deps.sh), checks README's install command round trip, then
# lints, bounded fuzzing of the condition parser, rule loader and capture readers, and the unit,
# conformance, CLI, privileged kernel and container tests (last, so their summary closes the
# output).
#
# Needs ../shared/falco beside the checkout (override with PALISADE_SHARED=/path/to/shared).
# FUZZ_SECONDS (default 30) bounds each fuzz target; FUZZ_SECONDS=0 skips fuzzing, loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== scripts/install-test-deps.sh"
./scripts/install-test-deps.sh

# README's first command: install, start the daemon with the installed configuration for a few
# seconds (it must load and stop cleanly), uninstall. Only where Palisade is not installed: on a
# developer's node it would replace the installed binaries and configuration.
if [ -e /usr/local/bin/palisade ] || [ -e /etc/palisade ]; then
    if [ -n "${CI:-}" ]; then
        echo "== install.sh round trip: Palisade is already installed on this CI machine" >&2
        exit 1
    fi
    echo "== install.sh round trip SKIPPED: Palisade is installed here (/usr/local/bin/palisade or /etc/palisade)"
else
    echo "== install.sh"
    ./install.sh
    echo "== palisade run (installed configuration, 8 s)"
    out=$(timeout --preserve-status -s INT 8 /usr/local/bin/palisade run 2>&1) || { echo "$out" | tail -n 20; exit 1; }
    echo "$out" | tail -n 3
    echo "$out" | grep -q "palisade: stopped:"
    echo "== install.sh --uninstall"
    ./install.sh --uninstall
    test ! -e /usr/local/bin/palisade
fi

fuzz_seconds="${FUZZ_SECONDS:-30}"

echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ "$fuzz_seconds" -gt 0 ]; then
    # The version this script was written against, whatever a machine may carry already.
    if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz 0.13.2" ]; then
        echo "== installing cargo-fuzz 0.13.2 (found: $(cargo fuzz --version 2>&1 | head -n 1))"
        cargo install cargo-fuzz --locked --force --version 0.13.2
    fi
    # cargo-fuzz needs nightly-only sanitizer flags; RUSTC_BOOTSTRAP lets the stable
    # toolchain (the only one on these machines) accept them.
    for target in condition_parser rule_loader scap_reader capture_reader; do
        echo "== fuzz $target for ${fuzz_seconds}s"
        log="$(mktemp)"
        # Inputs that once failed (fuzz/regressions/TARGET, committed) run first, every time.
        corpora=("corpus/$target")
        [ -d "fuzz/regressions/$target" ] && corpora+=("regressions/$target")
        mkdir -p "fuzz/corpus/$target"
        if (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "${corpora[@]}" -- \
            -max_total_time="$fuzz_seconds" -max_len=4096 -print_final_stats=1 >"$log" 2>&1); then
            tail -n 12 "$log"
        else
            # A finding: show what libFuzzer said and the input that triggered it (base64), so
            # the failure can be reproduced from the CI log alone.
            grep -v -e '^#[0-9]' -e 'Uses: ' "$log" | tail -n 80
            df -h . /tmp | sed 's/^/   /'
            for a in fuzz/artifacts/"$target"/*; do
                [ -f "$a" ] || continue
                echo "-- $a (base64):"
                base64 -w 0 "$a"
                echo
            done
            exit 1
        fi
        rm -f "$log"
    done
else
    echo "== fuzzing SKIPPED: FUZZ_SECONDS=0"
fi

echo "== deploy/helm/test.sh (chart lint, render, strict schema validation)"; ./deploy/helm/test.sh

echo "== tests"
cargo test --workspace --locked
