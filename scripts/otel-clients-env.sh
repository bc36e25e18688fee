#!/usr/bin/env bash
# Builds the Python venvs that run the real OpenTelemetry clients of ../shared/otel-clients (the
# OpenTelemetry Python SDK with the OpenLLMetry, OpenInference and openai-v2 instrumentations), used by
# Tests/LanternServerTests/OTelClientTests.swift:
#   .venv-otel/main  from requirements-main.txt  (protobuf exporters; also runs fake_openai.py)
#   .venv-otel/json  from requirements-json.txt  (the official OTLP/JSON exporter, which cannot share a venv)
# `bash scripts/otel-clients-env.sh legacy` (or `main json legacy`) also builds the optional
# .venv-otel/legacy from requirements-legacy.txt; the tests do not use it.
#
# Idempotent: a venv whose stamp matches its requirements file and Python is left alone (well under a
# second); anything else is rebuilt from scratch, and the stamp is written last, so an interrupted
# install is redone on the next run. Needs PyPI. Installs Debian's python3-venv when `python3 -m venv`
# cannot work. Environment: LANTERN_SHARED (default ../shared), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${LANTERN_SHARED:-../shared}
clients="$shared/otel-clients"
PY=${PYTHON:-python3}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(main json)

[ -d "$clients" ] || { echo "error: $clients is missing (../shared must sit beside the repository, or set LANTERN_SHARED)" >&2; exit 1; }

# Debian's python3 ships venv without ensurepip until python3-venv is installed.
if ! command -v "$PY" >/dev/null || ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "installing: python3 python3-venv"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv
fi

mkdir -p .venv-otel
# One builder at a time (two test runs, or a test run and a manual call).
exec 9>.venv-otel/.lock
flock 9

python_id=$("$PY" -c 'import sys, os; print(os.path.realpath(sys.executable), sys.version.split()[0])')

for name in "${names[@]}"; do
  req="$clients/requirements-$name.txt"
  [ -f "$req" ] || { echo "error: no $req" >&2; exit 1; }
  dir=".venv-otel/$name"
  stamp="$dir/.lantern-stamp"
  want="$(sha256sum < "$req" | cut -d' ' -f1) $python_id"
  if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$dir/bin/python" -c '' 2>/dev/null; then
    continue
  fi
  echo "building $dir from $req (pip install from PyPI: about half a minute cold)"
  start=$SECONDS
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$req"
  "$dir/bin/python" -m pip check
  "$dir/bin/python" -m pip freeze > "$dir/lock.txt"
  printf '%s\n' "$want" > "$stamp"
  echo "built $dir in $((SECONDS - start)) s"
done
