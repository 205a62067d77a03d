#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer and under ThreadSanitizer (each in its own
# build folder), on the vector kernels (512-bit loops where the CPU has AVX-512; the
# "Vector widths" tests run the 256-bit ones beside them) and on the portable loops.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh
export LSAN_OPTIONS="suppressions=$PWD/Scripts/lsan-suppressions.txt"
# A false report that Synchronization.Mutex causes under contention: see the file.
export TSAN_OPTIONS="suppressions=$PWD/Scripts/tsan-suppressions.txt"
for sanitizer in address thread; do
  echo "== swift test --sanitize=$sanitizer"
  swift test --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" "$@"
  # The portable loops one test at a time: a sanitizer build is a debug build, whose
  # unspecialized generic loops look up their SIMD types' metadata on every call, under a
  # runtime lock that the tests running side by side queued on (ThreadSanitizer did not
  # finish in 25 minutes; one test at a time it takes a few). The tests that call from
  # several threads still do.
  echo "== swift test --sanitize=$sanitizer (portable loops)"
  LAYERNORMALIZATION_PORTABLE=1 swift test --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" --skip-build --no-parallel "$@"
done
