#!/usr/bin/env bash
# Benchmark-style fuzz job (SPEC §8, issue #14): long enough to find stack and memory
# blow-ups, never part of CI. Usage: fuzz/run.sh [SECONDS_PER_TARGET]   (default 600)
#
# 1. With cargo-fuzz and a nightly toolchain: every cargo-fuzz target for SECONDS, inputs up
#    to 256 KiB (room for tens of thousands of nested brackets), RSS capped at 4 GiB so a
#    memory blow-up is reported as a crash.
# 2. Always: the stable stand-in, the seeded mutation loop of tests/hostile.rs
#    (`mutated_inputs_never_crash_and_always_account`) for SECONDS, under /usr/bin/time -v
#    for its peak memory. Set TRAILHOUND_MUTATION_SEED to vary the seed.
# Record what ran, for how long, and what was found in fuzz/README.md.
set -euo pipefail
SECS=${1:-${SECS:-600}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if command -v cargo-fuzz >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
    cd "$ROOT/fuzz"
    cargo run --release --example make_seeds
    for t in decompress parse_records ingest_file integrity_digest; do
        mkdir -p "corpus/$t"
        echo "== cargo fuzz $t for ${SECS}s" >&2
        cargo +nightly fuzz run "$t" "corpus/$t" -- \
            -max_total_time="$SECS" -max_len=262144 -rss_limit_mb=4096 -timeout=30
    done
else
    echo "cargo-fuzz or a nightly toolchain is missing: only the stable stand-in runs" >&2
fi

cd "$ROOT"
echo "== stable stand-in (seeded mutations) for ${SECS}s" >&2
TRAILHOUND_MUTATION_SECS="$SECS" /usr/bin/time -v \
    cargo test --release --test integration hostile::mutated -- --nocapture
