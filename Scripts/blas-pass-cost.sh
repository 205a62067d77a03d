#!/usr/bin/env bash
# Builds and runs Scripts/blas-pass-cost.c: the forward's separate BLAS first pass against
# a C row sum, a one-read alternative and a plain stream of the same bytes, interleaved in
# one process. Arguments: shapes ROWSxCOLS (COLS a multiple of 16).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh
CC=${CC:-$(command -v clang || command -v cc)}
mkdir -p .build
"$CC" -O2 -o .build/blas-pass-cost Scripts/blas-pass-cost.c $(pkg-config --cflags --libs openblas) -lm
OPENBLAS_NUM_THREADS=1 exec .build/blas-pass-cost "$@"
