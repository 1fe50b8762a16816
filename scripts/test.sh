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
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "== installing cargo-fuzz"
        cargo install cargo-fuzz --locked --version 0.13.2
    fi
    # cargo-fuzz needs nightly-only sanitizer flags; RUSTC_BOOTSTRAP lets the stable
    # toolchain (the only one on these machines) accept them.
    for target in condition_parser rule_loader scap_reader capture_reader; do
        echo "== fuzz $target for ${fuzz_seconds}s"
        (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
            -max_total_time="$fuzz_seconds" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 12)
    done
else
    echo "== fuzzing SKIPPED: FUZZ_SECONDS=0"
fi

echo "== tests"
cargo test --workspace --locked
