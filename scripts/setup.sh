#!/usr/bin/env bash
# Sets Lantern up and runs its main job on the embedded SQLite store: installs missing system
# packages, builds the release binary, ingests the bundled OTLP samples (real payloads from the
# official OpenTelemetry openai-v2, OpenLLMetry and OpenInference instrumentations) into
# ./lantern.db, and prints a report by service version and model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product lantern
bin=.build/release/lantern
db=${LANTERN_DB:-lantern.db}
rm -f "$db" "$db-wal" "$db-shm"
"$bin" ingest collectors/samples/otlp --db "$db"
echo
"$bin" query --db "$db" --by service_version,model
echo
"$bin" stats --db "$db"
echo
echo "Look at one trace: $bin traces show 2aef0f8b91b952d38dcc948f5dcdb9d8 --db $db"
