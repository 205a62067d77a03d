#!/usr/bin/env bash
# Runs the test suite: installs OpenBLAS when missing, then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh
swift test "$@"
