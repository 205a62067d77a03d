#!/usr/bin/env bash
# Runs the benchmark (the main job): installs OpenBLAS when missing, builds in release
# exactly as a user gets it, and times the package against the naive loops.
# Arguments go to the benchmark: --json, --threads 1,2, --dtype float32,float64, --ops ...
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh
swift build -c release --product layernorm-benchmark >&2
exec .build/release/layernorm-benchmark "$@"
