#!/usr/bin/env bash
# Builds everything (the CLI tests run the built `lantern`) and runs the whole test suite.
# Needs ../shared (fixtures) beside the repository, as CI has it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
