#!/usr/bin/env bash
# Builds the libFuzzer target (with AddressSanitizer) and runs it.
#
#   Scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]      (default 60 seconds)
#
# Starts from the committed seed corpus (Tests/LayerNormalizationTests/Fixtures/fuzz-corpus)
# and grows a working corpus in .build-fuzz/corpus. A failing input is saved under
# .build-fuzz/crashes/; copy it into Tests/LayerNormalizationTests/Fixtures/fuzz-regressions/
# so that `swift test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh
TIME=${1:-60}
shift || true
swift build -c release --product layernorm-fuzz --scratch-path .build-fuzz \
  --sanitize=fuzzer --sanitize=address -Xswiftc -DLIBFUZZER >&2
mkdir -p .build-fuzz/corpus .build-fuzz/crashes
exec .build-fuzz/release/layernorm-fuzz .build-fuzz/corpus \
  Tests/LayerNormalizationTests/Fixtures/fuzz-corpus \
  -max_total_time="$TIME" -max_len=4096 -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix=.build-fuzz/crashes/ -print_final_stats=1 "$@"
