#!/usr/bin/env bash
# Sets Lantern up and runs its main job: installs missing system packages, builds the release
# binary, then runs `lantern serve` on the embedded SQLite store (./lantern.db, or $LANTERN_DB)
# with the documented configuration collectors/lantern.yaml: OTLP/HTTP on 127.0.0.1:4318, OTLP/gRPC on 127.0.0.1:4317.
# Ctrl-C stops it. `LANTERN_DEMO=1 bash scripts/setup.sh` runs `lantern demo` instead, which also
# feeds the server realistic LLM traffic.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product lantern
bin=.build/release/lantern
db=${LANTERN_DB:-lantern.db}
"$bin" serve --config collectors/lantern.yaml --check-config --db "$db"
cat <<MSG

Point an app's OpenTelemetry SDK at Lantern with:
  export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
  export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf     # or http/json
  export OTEL_SERVICE_NAME=my-app OTEL_RESOURCE_ATTRIBUTES=service.version=v1
Then, in another terminal:
  $bin query --db $db --by service_version,model
  $bin traces show <trace id> --db $db
  curl -s http://127.0.0.1:4318/metrics | grep lantern_

MSG
if [[ "${LANTERN_DEMO:-}" == 1 ]]; then
  exec "$bin" demo --db "$db"
fi
exec "$bin" serve --config collectors/lantern.yaml --db "$db"
