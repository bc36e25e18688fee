#!/usr/bin/env bash
# Installs the system packages Lantern builds against, if any are missing (Debian/Ubuntu).
set -euo pipefail
needed=(libsqlite3-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev)
missing=()
for p in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null || { echo "error: swift is not on PATH (Swift 6.0 or newer is needed)" >&2; exit 1; }
# The Python venvs of the real-OpenTelemetry-client tests (Tests/LanternServerTests/OTelClientTests.swift),
# when ../shared/otel-clients is there (it is in CI); quick when they are already built.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -d "${LANTERN_SHARED:-$root/../shared}/otel-clients" ]; then
  bash "$root/scripts/otel-clients-env.sh"
else
  echo "note: ${LANTERN_SHARED:-$root/../shared}/otel-clients is missing; the Python venvs for the OpenTelemetry client tests are not built" >&2
fi
# Headless Chromium, chromedriver and the Selenium venv .venv-browser of the HTML report's browser test
# (Tests/LanternAnalyzerTests/ReportHTMLTests.swift); silent when they are already there.
bash "$root/scripts/browser-env.sh"
