#!/usr/bin/env bash
# The Spark round trip of `trailhound query` (issue #21), run by hand: not in CI, since Spark
# (pip install pyspark, and a JDK 17) takes minutes to install and to start.
#
#   benches/query-spark.sh [TRAIL_DIR]
#
# Generates a small trail when none is given, runs the phase 1, 2 and 3 Spark SQL with PySpark
# in local mode, then checks that sessions, blast and plan on the three results agree with a
# direct run on the trail (evidence_window's per-account counts and the query-result note
# aside, as in tests/query.rs). Prints the wall time of each phase.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TRAILHOUND:-target/release/trailhound}
KEY=AKIAIOSFODNN7EXAMPLE
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trail=${1:-}
if [ -z "$trail" ]; then
    trail=$work/trail
    "$T" generate -o "$trail" --seed 21 --hours 3 >/dev/null 2>&1
fi
spark() { # run the SQL on stdin with a local Spark session, one statement at a time
    python3 -c '
import sys, time
from pyspark.sql import SparkSession
s = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
s.sparkContext.setLogLevel("ERROR")
t = time.time()
for stmt in sys.stdin.read().split(";\n"):
    if stmt.strip() and not all(l.startswith("--") for l in stmt.strip().splitlines()):
        s.sql(stmt)
print(f"{sys.argv[1]}: {time.time() - t:.1f} s", file=sys.stderr)
' "$1"
}
results=()
for phase in 1 2 3; do
    extra=()
    if [ "$phase" = 2 ]; then
        for f in "${results[@]}"; do extra+=(--from "$f"); done
        extra+=(-k "$KEY")
    fi
    "$T" query --engine spark --phase "$phase" --files "$trail" --result "$work/p$phase" "${extra[@]}" -q | spark "phase $phase"
    for f in "$work/p$phase"/part-*; do results+=("$f"); done
done
python3 - "$T" "$trail" "$KEY" "${results[@]}" <<'PY'
import datetime, json, subprocess, sys
t, trail, key, results = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def run(args, inputs):
    return json.loads(subprocess.run([t, *args, *inputs, "--no-progress", "-q"], capture_output=True, check=True).stdout)
def strip(v):
    if isinstance(v, dict): return {k: strip(x) for k, x in v.items() if k not in ("file", "record")}
    if isinstance(v, list): return [strip(x) for x in v]
    return v
# The cut-off: one second after the newest tainted issue time, so the plan covers every live
# tainted session (an earlier one leaves some uncut: plan exits 1).
newest = max(c.get("issued_at") or "" for c in run(["blast", "--format", "json", "-k", key], [trail])["credentials"])
cut = datetime.datetime.strptime(newest, "%Y-%m-%dT%H:%M:%SZ") + datetime.timedelta(seconds=1)
cut = cut.strftime("%Y-%m-%dT%H:%M:%SZ")
ok = True
for args, skip in [(["sessions", "--format", "json", "-k", key], ()),
                   (["blast", "--format", "json", "-k", key], ("evidence_window", "notes")),
                   (["plan", "-k", key, "--effective-at", cut], ("generated_at", "inputs", "evidence_window", "notes"))]:
    d, q = strip(run(args, [trail])), strip(run(args, results))
    diff = [k for k in d if k not in skip and d[k] != q.get(k)]
    print(f"{args[0]}: {'same as the direct run' if not diff else 'DIFFERS in ' + ', '.join(diff)}")
    ok &= not diff
sys.exit(0 if ok else 1)
PY
