#!/usr/bin/env bash
# Whole-process benchmark (SPEC §7): trailhound against the machine's floor, side by side.
#
# Generates a deterministic trail with the project's own generator (seeded, so every run
# measures the same bytes), then runs each contender REPS times, alternating between them so
# that noise from this shared machine hits all of them alike, and prints medians:
#   gzip    `gzip -dc` over every file on all cores (xargs -P NPROC): the decompression floor
#   floor   examples/floor.rs: read + inflate + a typed serde parse of the few fields a key
#           search needs, all cores: what any tool reading these files must at least pay
#   scan    trailhound scan
#   blast   trailhound blast --key <leaked key>
#   plan    trailhound plan --key <leaked key>
#   investigate  trailhound investigate --key <leaked key> -o <a new folder>: the whole case
#           folder, the tainted events in full among it (INVESTIGATE=0 leaves it out)
#   warm-*  the same three with --cache, the cache filled by an earlier run (same trail)
#   plus1-* the same three with --cache after 1% more files arrived (a second generated trail
#           of SIZE/100 copied into the trail before each repetition, removed after it; each
#           repetition starts from a hard-linked copy of the cache as the fill left it)
#   jq      (JQ=1) jq filter for the leaked key, on all cores
#   duckdb  (DUCKDB=1, needs `pip install duckdb`) read_json over the gzipped files with the
#           schema inferred, as a user would type it, filtering the leaked key, all cores
#
# Usage: benches/compare.sh [SIZE]      e.g. benches/compare.sh 1GB ; REPS=5 by default
# Environment: REPS, SEED (generator seed, 7 by default), DIR (where the trail is generated),
# JQ=1 / DUCKDB=1 to include those, BIN (the trailhound binary to measure; built if unset),
# FLOOR (the floor probe; built with `cargo build --release --example floor` if unset),
# WARM=0 to leave out the cached runs, PLUS1=0 to leave out the incremental ones (each of
# their repetitions copies the whole cache).
set -euo pipefail
SIZE=${1:-${SIZE:-1GB}}
REPS=${REPS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${DIR:-${TMPDIR:-/tmp}/trailhound-bench-$SIZE}
KEY=AKIAIOSFODNN7EXAMPLE
SEED=${SEED:-7}
NPROC=$(nproc)

# BIN=path/to/trailhound measures that binary (e.g. the one `cargo test --release` built, or an
# older commit's) instead of building one.
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
    BIN="$ROOT/target/release/trailhound"
fi
if [ -z "${FLOOR:-}" ]; then
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --example floor
    FLOOR="$ROOT/target/release/examples/floor"
fi
# The marker records what was generated, so a trail left by another size or seed is redone.
if [ "$(cat "$DIR.complete" 2>/dev/null)" != "$SIZE seed $SEED" ]; then
    rm -rf "$DIR" "$DIR.complete"
    "$BIN" generate -o "$DIR" --size "$SIZE" --seed "$SEED"
    echo "$SIZE seed $SEED" > "$DIR.complete"
fi
# 1% more files, for the incremental runs: generated once, beside the trail.
EXTRA="$DIR.extra"
if [ "${WARM:-1}" = 1 ] && [ "$(cat "$EXTRA.complete" 2>/dev/null)" != "$SIZE seed $SEED" ]; then
    rm -rf "$EXTRA" "$EXTRA.complete"
    EXTRA_SIZE=$(python3 -c "
import re,sys
m = re.fullmatch(r'([0-9.]+)\s*([KMG]?)B?', sys.argv[1].upper())
n = float(m.group(1)) * {'': 1, 'K': 1e3, 'M': 1e6, 'G': 1e9}[m.group(2)]
print(f'{max(int(n / 100 / 1e6), 1)}MB')" "$SIZE")
    "$BIN" generate -o "$EXTRA" --size "$EXTRA_SIZE" --seed "$((SEED + 1000))" --no-incident
    echo "$SIZE seed $SEED" > "$EXTRA.complete"
fi
LIST=$(mktemp)
find "$DIR/AWSLogs" -type f -name '*.json.gz' | sort > "$LIST"
NFILES=$(wc -l < "$LIST")
UNCOMPRESSED=$(xargs -a "$LIST" -P "$NPROC" -n 64 gzip -dc | wc -c)
COMPRESSED=$(xargs -a "$LIST" cat | wc -c)
RESULTS=$(mktemp)
CASE=$(mktemp -d)

run() { # name, command...
    local name=$1; shift
    sync
    /usr/bin/time -f "$name %e %U %S %M" -a -o "$RESULTS" "$@" > /dev/null 2>/dev/null || true
}

# The plan's cut-off: one second after the newest tainted issue time, so the plan is one that
# covers every live tainted session (an earlier cut-off leaves some uncut, and plan exits 1).
CUT=$("$BIN" blast "$DIR" --key "$KEY" --format json --no-progress -q | python3 -c '
import datetime, json, sys
newest = max(c.get("issued_at") or "" for c in json.load(sys.stdin)["credentials"])
cut = datetime.datetime.strptime(newest, "%Y-%m-%dT%H:%M:%SZ") + datetime.timedelta(seconds=1)
print(cut.strftime("%Y-%m-%dT%H:%M:%SZ"))')
CACHE=$(mktemp -d)
if [ "${WARM:-1}" = 1 ]; then
    # Fill the cache: one run of each kind (scan keeps the inventory, blast and plan the graph's
    # table), then keep a copy to start every incremental repetition from.
    "$BIN" scan "$DIR" --format json --no-progress -q --cache "$CACHE/c" > /dev/null || true
    "$BIN" plan "$DIR" --key "$KEY" --effective-at $CUT --no-progress -q --cache "$CACHE/c" > /dev/null || true
    [ "${PLUS1:-1}" = 1 ] && cp -a "$CACHE/c" "$CACHE/pristine"
fi
plus1() { # name, command... : with the extra files in the trail and the cache as it was
    local name=$1; shift
    # The cache as the fill left it, hard-linked (no cache file is ever written in place: each
    # write is a new file renamed over the old one). The copy before is moved aside, and only
    # deleted at the end: deleting thousands of files right before the run made ext4 search
    # past the inodes just freed for every entry the run writes (at 1 GB, 1.3 s of a 3.3 s
    # run), a cost a responder re-running a case as logs arrive does not pay.
    if [ -e "$CACHE/p" ]; then mv "$CACHE/p" "$CACHE/old.$name.$rep"; fi
    rm -rf "$DIR/AWSLogs/zz-more"
    cp -al "$CACHE/pristine" "$CACHE/p"
    cp -r "$EXTRA/AWSLogs" "$DIR/AWSLogs/zz-more"
    run "$name" "$@"
    rm -rf "$DIR/AWSLogs/zz-more"
}

for rep in $(seq "$REPS"); do
    run gzip sh -c "xargs -a '$LIST' -P $NPROC -n 64 gzip -dc"
    run floor "$FLOOR" "$LIST" "$KEY"
    run scan "$BIN" scan "$DIR" --format json --no-progress -q
    run blast "$BIN" blast "$DIR" --key "$KEY" --format json --no-progress -q
    run plan "$BIN" plan "$DIR" --key "$KEY" --effective-at $CUT --no-progress -q
    if [ "${INVESTIGATE:-1}" = 1 ]; then
        run investigate "$BIN" investigate "$DIR" --key "$KEY" --effective-at $CUT --no-progress -q -o "$CASE/case"
    fi
    if [ "${WARM:-1}" = 1 ]; then
        run warm-scan "$BIN" scan "$DIR" --format json --no-progress -q --cache "$CACHE/c"
        run warm-blast "$BIN" blast "$DIR" --key "$KEY" --format json --no-progress -q --cache "$CACHE/c"
        run warm-plan "$BIN" plan "$DIR" --key "$KEY" --effective-at $CUT --no-progress -q --cache "$CACHE/c"
        if [ "${PLUS1:-1}" = 1 ]; then
        plus1 plus1-scan "$BIN" scan "$DIR" --format json --no-progress -q --cache "$CACHE/p"
        plus1 plus1-blast "$BIN" blast "$DIR" --key "$KEY" --format json --no-progress -q --cache "$CACHE/p"
        plus1 plus1-plan "$BIN" plan "$DIR" --key "$KEY" --effective-at $CUT --no-progress -q --cache "$CACHE/p"
        fi
    fi
    if [ "${DUCKDB:-0}" = 1 ]; then
        run duckdb python3 -c "
import duckdb
con = duckdb.connect()
con.execute('SET threads TO $NPROC'); con.execute('SET enable_progress_bar=false')
print(con.sql(\"\"\"SELECT count(*) FROM (SELECT unnest(Records) AS r FROM read_json('$DIR/AWSLogs/**/*.json.gz', maximum_object_size=67108864)) WHERE r.userIdentity.accessKeyId = '$KEY'\"\"\").fetchall())
"
    fi
    if [ "${JQ:-0}" = 1 ]; then
        run jq sh -c "xargs -a '$LIST' -P $NPROC -n 64 sh -c 'gzip -dc \"\$@\" | jq -c \".Records[] | select(.userIdentity.accessKeyId == \\\"$KEY\\\")\"' _"
    fi
done

python3 - "$RESULTS" "$UNCOMPRESSED" "$COMPRESSED" "$NFILES" "$REPS" "$NPROC" "$SEED" <<'PY'
import statistics, sys
path, unc, comp, nfiles, reps, nproc, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
rows = {}
for line in open(path):
    p = line.split()
    if len(p) != 5 or p[0].startswith("Command"):
        continue
    rows.setdefault(p[0], []).append((float(p[1]), float(p[2]) + float(p[3]), int(p[4])))
floor = statistics.median(r[0] for r in rows["gzip"])
typed = statistics.median(r[0] for r in rows["floor"]) if "floor" in rows else None
cold = {n: statistics.median(r[0] for r in rows[n]) for n in ("scan", "blast", "plan", "investigate") if n in rows}
print(f"trail (seed {seed}): {nfiles} files, {unc/1e6:.0f} MB uncompressed, {comp/1e6:.0f} MB compressed; {reps} runs each, alternating; {nproc} cores")
print(f"| tool | median wall s | median CPU s | peak RSS MB | MB/s (uncompressed) | ratio to gzip -dc | ratio to floor | ratio to scan | ratio to its cold run |")
print(f"|---|---|---|---|---|---|---|---|---|")
for name, rs in rows.items():
    wall = statistics.median(r[0] for r in rs)
    cpu = statistics.median(r[1] for r in rs)
    rss = max(r[2] for r in rs) / 1024
    base = name.split("-", 1)[-1]
    to_typed = f"{wall/typed:.2f}" if typed else ""
    to_scan = f"{wall/cold['scan']:.2f}" if name in ("blast", "plan", "investigate") and "scan" in cold else ""
    to_cold = f"{wall/cold[base]:.3f}" if "-" in name and base in cold else ""
    print(f"| {name} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {unc/1e6/wall:.0f} | {wall/floor:.2f} | {to_typed} | {to_scan} | {to_cold} |")
PY
rm -f "$LIST" "$RESULTS"
rm -rf "$CASE"
rm -rf "$CACHE" "$DIR/AWSLogs/zz-more"
