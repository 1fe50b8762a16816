#!/usr/bin/env bash
# Runs every Palisade test: lints, bounded fuzzing of the condition parser and rule loader,
# then the unit, conformance and CLI tests (last, so their summary closes the output).
#
# Needs ../shared/falco beside the checkout (override with PALISADE_SHARED=/path/to/shared).
# FUZZ_SECONDS (default 30) bounds each fuzz target; FUZZ_SECONDS=0 skips fuzzing, loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

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
        if (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
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

echo "== tests"
cargo test --workspace --locked
