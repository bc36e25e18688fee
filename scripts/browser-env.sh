#!/usr/bin/env bash
# Sets up the browser check of the HTML report (scripts/check_report_html.py, run by
# Tests/LanternAnalyzerTests/ReportHTMLTests.swift): Debian's chromium and chromium-driver, and the
# venv .venv-browser with Selenium.
#
# Idempotent: installed packages and a venv whose stamp matches the pins below and the Python are left
# alone, silently (well under a second); anything else is rebuilt from scratch, and the stamp is written
# last, so an interrupted install is redone on the next run. Needs Debian's archive and PyPI the first
# time. Environment: PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
dir=.venv-browser

# Selenium and everything it pulls in, pinned (a pip freeze of a verified install), so that a new
# release cannot change the check. Selenium talks to /usr/bin/chromedriver; it never downloads one.
requirements=(
  selenium==4.51.0
  attrs==26.1.0
  certifi==2026.10.18
  h11==0.16.0
  idna==3.20
  outcome==1.3.0.post0
  PySocks==1.7.1
  sniffio==1.3.1
  sortedcontainers==2.4.0
  trio==0.35.0
  trio-websocket==0.12.2
  typing_extensions==4.16.0
  urllib3==2.8.0
  websocket-client==1.9.2
  wsproto==1.3.2
)

# One builder at a time (two test runs, or a test run and a manual call): lock this script itself.
exec 9<"$0"
flock 9

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's python3 ships venv without ensurepip until python3-venv is installed.
if ! command -v "$PY" >/dev/null || ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=(python3 python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

python_id=$("$PY" -c 'import sys, os; print(os.path.realpath(sys.executable), sys.version.split()[0])')
want="$(printf '%s\n' "${requirements[@]}" | sha256sum | cut -d' ' -f1) $python_id"
stamp="$dir/.lantern-stamp"
if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$dir/bin/python" -c '' 2>/dev/null; then
  exit 0
fi
echo "building $dir (pip install selenium from PyPI: a few seconds cold)"
start=$SECONDS
rm -rf "$dir"
"$PY" -m venv "$dir"
"$dir/bin/python" -m pip install -q --disable-pip-version-check --no-input "${requirements[@]}"
"$dir/bin/python" -m pip check
"$dir/bin/python" -c 'import selenium.webdriver'
printf '%s\n' "$want" > "$stamp"
echo "built $dir in $((SECONDS - start)) s"
