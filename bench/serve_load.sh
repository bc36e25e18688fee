#!/usr/bin/env bash
# Measures `lantern serve` under open-loop OTLP/HTTP load: one run per rate given, each against a
# fresh database, reporting acknowledged spans/s, ack latency percentiles, 503s with Retry-After,
# the server's peak memory, and whether the store holds exactly the acknowledged spans.
#
#   bash bench/serve_load.sh DATA_DIR RATE [RATE ...]     # DATA_DIR from ../shared/bench/gen_spans.py
#
# Uses .build/release/lantern (build it with `swift build -c release --product lantern`, or set
# LANTERN_BIN) and python3 (bench/ingest_load.py needs only the standard library).
set -euo pipefail
cd "$(dirname "$0")/.."
data=$1; shift
bin=${LANTERN_BIN:-.build/release/lantern}
seconds=${SECONDS_PER_RUN:-10}
for rate in "$@"; do
  dir=$(mktemp -d)
  port=$((20000 + RANDOM % 30000))
  "$bin" serve --db "$dir/load.db" --port "$port" 2> "$dir/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.05; done
  result=$(python3 bench/ingest_load.py "$data" --port "$port" --spans-per-s "$rate" --seconds "$seconds" --connections "${CONNECTIONS:-64}" \
           --server-pid "$pid" --acked "$dir/acked.txt")
  kill -TERM "$pid"; wait "$pid" || true
  acked=$(python3 -c "
import json, sys
spans = {f['file']: f['spans'] for f in json.load(open(sys.argv[1] + '/manifest.json'))['files']}
print(sum(spans[l.strip()] for l in open(sys.argv[2]) if l.strip()))" "$data" "$dir/acked.txt")
  stored=$("$bin" stats --db "$dir/load.db" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['sealedSpans']+d['journalSpans'])")
  echo "$result" | python3 -c "import json,sys; r=json.load(sys.stdin); r['acked_spans']=$acked; r['stored_spans']=$stored; print(json.dumps(r))"
  rm -rf "$dir"
done
