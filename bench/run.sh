#!/usr/bin/env bash
# Lantern vs DuckDB, side by side in one job (this machine is shared and noisy: compare ratios,
# not absolute times).
#
#   bash bench/run.sh [SPANS]          # SPANS defaults to 1000000
#
# Environment (relative paths are taken from the repo root):
#   LANTERN_SHARED    directory holding bench/ (gen_spans.py, bench_duckdb.py, prices.json)  [../shared]
#   BENCH_VENV        Python venv for the bench scripts (created on first use)             [.venv-bench]
#   BENCH_DATA        generated data and results go to BENCH_DATA/SPANS                      [.bench-data]
#   BENCH_SKIP_BUILD  set to 1 to reuse an existing release build
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."   # repo root

SPANS=${1:-1000000}
if ! [[ $SPANS =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: bash bench/run.sh [SPANS]   (SPANS: positive integer, got '$SPANS')" >&2
    exit 64
fi
SHARED=${LANTERN_SHARED:-../shared}
VENV=${BENCH_VENV:-.venv-bench}
DATA=${BENCH_DATA:-.bench-data}/$SPANS
REQS=$SHARED/bench/requirements.txt
PRICES=$SHARED/bench/prices.json

for f in "$REQS" "$PRICES" "$SHARED/bench/gen_spans.py" "$SHARED/bench/bench_duckdb.py"; do
    [[ -f $f ]] || { echo "missing $f (set LANTERN_SHARED)" >&2; exit 66; }
done

step() { printf '\n== %s  [%s, load %s]\n' "$1" "$(date +%H:%M:%S)" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"; }

# ---- 1. venv (reinstalled only when requirements.txt changes)
step "venv $VENV"
PY=$VENV/bin/python
if [[ ! -x $PY ]]; then
    python3 -m venv "$VENV"
fi
if ! cmp -s "$REQS" "$VENV/.bench-requirements.txt"; then
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    rm -f "$VENV/.bench-requirements.txt"
    cat "$REQS" > "$VENV/.bench-requirements.txt"
fi

# ---- 2. data (skipped when DATA/manifest.json already describes SPANS spans with OTLP + Parquet)
step "data $DATA"
data_ok() {
    [[ -f $DATA/manifest.json && -f $DATA/spans.parquet && -d $DATA/otlp ]] || return 1
    python3 - "$DATA" "$SPANS" <<'EOF'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
m = json.load(open(os.path.join(d, "manifest.json")))
pb = [f for f in os.listdir(os.path.join(d, "otlp")) if f.endswith(".pb")]
ok = m.get("spans") == n and m.get("otlp_files", 0) > 0 and len(pb) == m["otlp_files"] \
     and m.get("seed") == 42 and not m.get("drift")
sys.exit(0 if ok else 1)
EOF
}
if data_ok; then
    echo "reusing $DATA (manifest.json: $SPANS spans)"
else
    rm -rf "$DATA/otlp" "$DATA/manifest.json" "$DATA/spans.parquet"
    mkdir -p "$DATA"
    "$PY" "$SHARED/bench/gen_spans.py" --spans "$SPANS" --seed 42 --out "$DATA"
fi

# ---- 3. build
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    step "swift build -c release --product lantern"
    swift build -c release --product lantern
fi
BIN=.build/release/lantern
[[ -x $BIN ]] || { echo "no $BIN (build failed or BENCH_SKIP_BUILD=1 without a build)" >&2; exit 1; }

# ---- 4. Lantern
step "lantern bench"
rm -f "$DATA/lantern.db" "$DATA/lantern.db-wal" "$DATA/lantern.db-shm" "$DATA/lantern.json"
"$BIN" bench --otlp "$DATA/otlp" --db "$DATA/lantern.db" --prices "$PRICES" --json > "$DATA/lantern.json.tmp"
mv "$DATA/lantern.json.tmp" "$DATA/lantern.json"

# ---- 5. DuckDB (its default --db lives in the read-only shared dir, so keep it under DATA)
step "duckdb (2 threads)"
rm -f "$DATA/duckdb.json"
"$PY" "$SHARED/bench/bench_duckdb.py" --flat "$DATA/spans.parquet" --db "$DATA/duckdb/spans.duckdb" \
    --threads 2 --repeat 1 --out "$DATA/duckdb.json"

# ---- 6. comparison
step "comparison ($SPANS spans)"
python3 - "$DATA/lantern.json" "$DATA/duckdb.json" "$SPANS" <<'EOF'
import json, sys

lan = json.load(open(sys.argv[1]))
duck = json.load(open(sys.argv[2]))
spans = int(sys.argv[3])
d2 = duck["by_threads"]["2"]


def get(obj, path):
    for k in path.split("."):
        if not isinstance(obj, dict) or k not in obj:
            return None
        obj = obj[k]
    return obj


def fmt(v, nd=1):
    return "n/a" if v is None else f"{v:,.{nd}f}"


rows = [
    ("bytes/span", get(lan, "bytes_per_span"), get(d2, "bytes_per_span")),
    ("ttft_pct_model_hour ms", get(lan, "queries.ttft_pct_model_hour.median_ms"),
     get(d2, "queries.ttft_pct_model_hour.median_ms")),
    ("tokens_cost_model_day ms", get(lan, "queries.tokens_cost_model_day.median_ms"),
     get(d2, "queries.tokens_cost_model_day.median_ms")),
    # the same query with segment rollups off: every segment's columns scanned
    ("  same, scanning ms", get(lan, "queries.tokens_cost_model_day_scan.median_ms"),
     get(d2, "queries.tokens_cost_model_day.median_ms")),
]
print(f"{'metric':<26}{'lantern':>14}{'duckdb(2t)':>14}{'lantern/duckdb':>16}")
for name, a, b in rows:
    ratio = f"{a / b:.2f}x" if a is not None and b else "n/a"
    print(f"{name:<26}{fmt(a):>14}{fmt(b):>14}{ratio:>16}")

print()
for q in ("ttft_pct_model_hour", "tokens_cost_model_day"):
    a, b = get(lan, f"queries.{q}.rows"), get(d2, f"queries.{q}.rows")
    print(f"rows {q:<24} lantern {a}  duckdb {b}  {'same' if a == b else 'DIFFERENT'}")

print()
print(f"{'throughput':<26}{'lantern':>14}{'target':>14}{'vs target':>16}")
for name, key, target in (("decode spans/s", "decode_spans_per_s", 500_000),
                          ("append spans/s", "append_spans_per_s", 250_000)):
    v = get(lan, key)
    verdict = "n/a" if v is None else f"{v / target:.2f}x {'ok' if v >= target else 'BELOW'}"
    print(f"{name:<26}{fmt(v, 0):>14}{target:>14,}{verdict:>16}")

print()
if lan.get("spans") != spans:
    print(f"WARNING: lantern.json spans = {lan.get('spans')}, expected {spans}")
lc, dc = lan.get("check") or {}, duck.get("check") or {}
same = True
for k in ("input_tokens", "output_tokens", "chat_spans"):
    a, b = lc.get(k), dc.get(k)
    eq = a is not None and b is not None and int(a) == int(b)
    same &= eq
    print(f"check {k:<14} lantern {a}  duckdb {b}  {'equal' if eq else 'MISMATCH'}")
print("check totals:", "EQUAL to DuckDB" if same else "DIFFER from DuckDB")
print(f"(duckdb {duck.get('duckdb_version')}, loadavg before/after duckdb "
      f"{duck.get('loadavg_before')}/{duck.get('loadavg_after')})")
sys.exit(0 if same else 1)
EOF
