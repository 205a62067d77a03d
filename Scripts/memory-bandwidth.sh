#!/usr/bin/env bash
# Builds and runs Scripts/memory-bandwidth.c: one thread's copy, read, and read-while-writing
# bandwidth (ordinary and non-temporal stores), the yardsticks of the README's performance
# section. Arguments: array lengths in floats (default: the benchmark's 32768x128, 1000000x8).
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-$(command -v clang || command -v cc)}
mkdir -p .build
"$CC" -O2 -o .build/memory-bandwidth Scripts/memory-bandwidth.c
if [ $# -eq 0 ]; then set -- 4194304 8000000; fi
exec .build/memory-bandwidth "$@"
