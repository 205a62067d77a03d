#!/usr/bin/env bash
# Runs the package benchmark and its peers (PyTorch, ONNX Runtime, NumPy's copy as the
# memory-bandwidth yardstick) in one go and prints the comparison table.
#
#   Scripts/compare-peers.sh [--threads 1,2] [--dtype float32] [--ops forward,rms_forward]
#                            [--rounds 3] [--offset BYTES]
#
# The package is timed on buffers that start on a 64-byte boundary, as PyTorch's allocator
# places every tensor; --offset 48 times it on buffers 48 bytes into a line instead, where
# a large Swift Array starts (see the benchmark's --offset).
#
# Each round takes one op at a time: the package on it, then the peers on it; the rounds'
# medians are merged into one median per measurement (Scripts/median-of-rounds.py), so that
# the machine's drift from minute to minute does not land on one side of a ratio only.
#
# The peers come from ../shared/bench (override with SHARED_BENCH=DIR). The first run
# creates a virtualenv at /tmp/peers (override with PEERS_VENV=DIR) with numpy, torch, onnx
# and onnxruntime: several GB of wheels, a few minutes. Records land in $OUT (default a new
# temporary folder) as ours.jsonl and peers.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=1 DTYPES=float32 OPS=forward ROUNDS=3 OFFSET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --dtype) DTYPES=$2; shift 2 ;;
    --ops) OPS=$2; shift 2 ;;
    --offset) OFFSET=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BENCH=${SHARED_BENCH:-../shared/bench}
VENV=${PEERS_VENV:-/tmp/peers}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
[ -f "$BENCH/peers.py" ] || { echo "no peers.py in $BENCH (set SHARED_BENCH)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch, onnxruntime" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy torch onnx onnxruntime
fi

Scripts/install-dependencies.sh
swift build -c release --product layernorm-benchmark >&2
# For the peers only: glibc would map a fresh region for every output of 32 MiB or more
# (see shared/bench); the package's benchmark writes into outputs it allocated once.
PEER_ENV="MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736"
: > "$OUT/ours-rounds.jsonl"
: > "$OUT/peers-rounds.jsonl"
for round in $(seq "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  for dtype in ${DTYPES//,/ }; do
    # One op at a time, ours and then the peers', so that the two sides of a ratio are
    # timed seconds apart rather than minutes.
    for op in ${OPS//,/ }; do
      .build/release/layernorm-benchmark --json --threads "$THREADS" --dtype "$dtype" --ops "$op" \
        --offset "$OFFSET" >> "$OUT/ours-rounds.jsonl"
      case "$op" in forward | backward | rms_forward | add_forward) ;; *) continue ;; esac
      for t in ${THREADS//,/ }; do
        env $PEER_ENV "$VENV/bin/python" "$BENCH/peers.py" --fw torch --threads "$t" --dtype "$dtype" --ops "$op" >> "$OUT/peers-rounds.jsonl"
      done
      if [ "$op" = forward ]; then
        env $PEER_ENV "$VENV/bin/python" "$BENCH/peers.py" --fw ort --threads 1 --dtype "$dtype" --ops "$op" >> "$OUT/peers-rounds.jsonl"
      fi
    done
    env $PEER_ENV "$VENV/bin/python" "$BENCH/peers.py" --fw numpy --dtype "$dtype" --ops copy >> "$OUT/peers-rounds.jsonl"
  done
done
python3 Scripts/median-of-rounds.py "$OUT/ours-rounds.jsonl" > "$OUT/ours.jsonl"
python3 Scripts/median-of-rounds.py "$OUT/peers-rounds.jsonl" > "$OUT/peers.jsonl"
echo "records: $OUT" >&2
python3 "$BENCH/compare.py" "$OUT/ours.jsonl" "$OUT/peers.jsonl"
