#!/usr/bin/env bash
# Runs the test suite: installs OpenBLAS when missing, then `swift test` three times: with
# the vector kernels (512-bit loops where the CPU has AVX-512, 256-bit AVX2 ones
# otherwise), with the 512-bit loops turned off, and with the portable Swift loops forced.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh
swift build --build-tests "$@"
echo "== swift test (vector kernels where the CPU has AVX2+FMA, AVX-512 where it has that)"
swift test --skip-build "$@"
echo "== swift test (256-bit kernels only: LAYERNORMALIZATION_NO_AVX512=1)"
LAYERNORMALIZATION_NO_AVX512=1 swift test --skip-build "$@"
echo "== swift test (portable Swift loops: LAYERNORMALIZATION_PORTABLE=1)"
LAYERNORMALIZATION_PORTABLE=1 swift test --skip-build "$@"
