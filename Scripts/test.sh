#!/usr/bin/env bash
# Runs the test suite: installs OpenBLAS when missing, then `swift test` twice: with the
# AVX2 kernels (where the CPU has them) and with the portable Swift loops forced.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh
swift build --build-tests "$@"
echo "== swift test (vector kernels where the CPU has AVX2+FMA)"
swift test --skip-build "$@"
echo "== swift test (portable Swift loops: LAYERNORMALIZATION_PORTABLE=1)"
LAYERNORMALIZATION_PORTABLE=1 swift test --skip-build "$@"
