#!/usr/bin/env bash
# Builds and runs one of the probes in Scripts/probes/: small stand-alone programs (C, and
# one Python script beside PyTorch) that measure the yardsticks the README and the issue
# notes compare the package with.
#
#   Scripts/probe.sh memory-bandwidth [N ...]         one thread's memcpy, read, and
#                                                      read-while-writing bandwidth
#   Scripts/probe.sh blas-pass-cost [ROWSxCOLS ...]   the forward's separate BLAS pass
#   Scripts/probe.sh backward-floor [ROWSxCOLS ...]   the backward against memory speed
#   Scripts/probe.sh forward-floor [ROWSxCOLS ...]    the forward on short rows against a
#                                                      plain kernel and a streamed copy
#   Scripts/probe.sh long-rows [ROWSxCOLS ...]        long rows: chunked statistics and a
#                                                      column-blocked write
#   Scripts/probe.sh fused-add-fetch [ROWSxCOLS ...]  where the fused add fetches its next
#                                                      inputs
#   Scripts/probe.sh store-aliasing [ROWSxCOLS ...]   streamed outputs just after their
#                                                      inputs modulo 4096
#   Scripts/probe.sh backward-vs-torch [ROWSxCOLS ...] the backward kernel against
#                                                      PyTorch's in one process (needs the
#                                                      peers' venv: Scripts/compare-peers.sh)
#   Scripts/probe.sh forward-vs-torch [ROWSxCOLS ...] the forward scheme against
#                                                      PyTorch's F.layer_norm in one
#                                                      process (the peers' venv too)
#   Scripts/probe.sh worker-handoff [ROWSxCOLS ...]  the package's worker threads: an
#                                                      empty call, and two threads on
#                                                      small inputs
#   Scripts/probe.sh shared-cache-threads [N ...]    one thread against two: on an input
#                                                      that stays in L3, and a streamed
#                                                      copy (the forward's floor beyond L3)
#   Scripts/probe.sh page-size [ROWSxCOLS ...]       the forward and backward on 4 KiB
#                                                      pages against 2 MiB pages
#   Scripts/probe.sh kernel-ab REV [ROWSxCOLS ...]    the forward and backward kernels
#                                                      against their version at git
#                                                      revision REV, in one process
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: Scripts/probe.sh memory-bandwidth|blas-pass-cost|backward-floor|forward-floor|long-rows|fused-add-fetch|store-aliasing|worker-handoff|shared-cache-threads|page-size|kernel-ab|backward-vs-torch|forward-vs-torch [args]}
shift
CC=${CC:-$(command -v clang || command -v cc)}
# What `swift build -c release` compiles the C target with (its -v output): the frame
# pointer kept takes a register from the kernels, so the probes build them the same way.
optimize=(-O2 -fno-omit-frame-pointer)
if [ "$name" = backward-vs-torch ] || [ "$name" = forward-vs-torch ]; then
  VENV=${PEERS_VENV:-/tmp/peers}
  [ -x "$VENV/bin/python" ] || { echo "no $VENV: run Scripts/compare-peers.sh once" >&2; exit 2; }
  Scripts/install-dependencies.sh
  read -r -a blas <<< "$(pkg-config --cflags --libs openblas)"
  mkdir -p .build/probes
  "$CC" "${optimize[@]}" -shared -fPIC -o .build/probes/libkernels.so Sources/_LayerNormKernels/Kernels.c \
    Scripts/probes/forward-scheme.c Scripts/probes/backward-scheme.c \
    -ISources/_LayerNormKernels/include "${blas[@]}" -lm
  # PyTorch with the malloc settings of shared/bench (else every output of 32 MiB or more
  # is mapped afresh, and PyTorch's time is mostly page faults).
  MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 OPENBLAS_NUM_THREADS=1 \
    exec "$VENV/bin/python" "Scripts/probes/$name.py" "$PWD/.build/probes/libkernels.so" "$@"
fi
source=Scripts/probes/$name.c
[ -f "$source" ] || { echo "no probe $source" >&2; exit 2; }
flags=("${optimize[@]}")
if [ "$name" = blas-pass-cost ] || [ "$name" = long-rows ] || [ "$name" = fused-add-fetch ] ||
  [ "$name" = kernel-ab ] || [ "$name" = worker-handoff ] || [ "$name" = page-size ]; then
  Scripts/install-dependencies.sh
  read -r -a blas <<< "$(pkg-config --cflags --libs openblas)"
  flags+=("${blas[@]}")
fi
sources=("$source")
if [ "$name" = backward-floor ] || [ "$name" = long-rows ] || [ "$name" = fused-add-fetch ] ||
  [ "$name" = store-aliasing ] || [ "$name" = page-size ] || [ "$name" = forward-floor ]; then  # beside the package's own kernel
  sources+=(Sources/_LayerNormKernels/Kernels.c)
  flags+=(-ISources/_LayerNormKernels/include)
fi
if [ "$name" = shared-cache-threads ]; then
  flags+=(-lpthread)
fi
if [ "$name" = worker-handoff ]; then
  sources+=(Sources/_LayerNormKernels/Kernels.c Sources/_LayerNormKernels/Workers.c)
  flags+=(-ISources/_LayerNormKernels/include -lpthread)
fi
mkdir -p .build/probes
if [ "$name" = kernel-ab ]; then
  # The kernels at revision REV, compiled with their exported symbols renamed old_*.
  rev=${1:?usage: Scripts/probe.sh kernel-ab REV [ROWSxCOLS ...]}
  shift
  old=.build/probes/old-kernels
  rm -rf "$old" && mkdir -p "$old"
  git archive "$rev" Sources/_LayerNormKernels | tar -x -C "$old"
  "$CC" "${optimize[@]}" -c "$old/Sources/_LayerNormKernels/Kernels.c" \
    -I"$old/Sources/_LayerNormKernels/include" -o "$old/kernels.o"
  nm "$old/kernels.o" | awk '$2 == "T" { print $3, "old_" $3 }' > "$old/renames"
  objcopy --redefine-syms="$old/renames" "$old/kernels.o" "$old/renamed.o"
  sources+=(Sources/_LayerNormKernels/Kernels.c "$old/renamed.o")
  flags+=(-ISources/_LayerNormKernels/include)
  if grep -q also_next "$old/Sources/_LayerNormKernels/include/_LayerNormKernels.h"; then
    flags+=(-DOLD_HAS_ALSO_NEXT=1)
  fi
  if grep -q in_cache "$old/Sources/_LayerNormKernels/include/_LayerNormKernels.h"; then
    flags+=(-DOLD_HAS_IN_CACHE=1)
  fi
  # REV's forward is driven the way REV's package drove it: from 2026-11-29 LayerNorm rows
  # up to LNK_KERNEL_SUM_ROW_BYTES took their sums in lnk_finish_rows (sums NULL); since
  # LNK_ROUGH_SHIFTS every LayerNorm row takes its moments there.
  old_header="$old/Sources/_LayerNormKernels/include/_LayerNormKernels.h"
  if grep -q '^#define LNK_ROUGH_SHIFTS' "$old_header"; then
    old_sum_bytes=$((1 << 40))
  else
    old_sum_bytes=$(sed -n 's/^#define LNK_KERNEL_SUM_ROW_BYTES \([0-9]*\).*/\1/p' "$old_header")
  fi
  flags+=("-DOLD_KERNEL_SUM_ROW_BYTES=${old_sum_bytes:-0}")
  # Before 2026-11-28 lnk_backward_rows added into the weight and bias partials (zeroed by
  # the caller); since then it writes them.
  if ! grep -q "written, not added into" "$old/Sources/_LayerNormKernels/include/_LayerNormKernels.h"; then
    flags+=(-DOLD_ADDS_INTO=1)
  fi
fi
"$CC" -o ".build/probes/$name" "${sources[@]}" "${flags[@]}" -lm
if [ "$name" = memory-bandwidth ] && [ $# -eq 0 ]; then set -- 4194304 8000000; fi
OPENBLAS_NUM_THREADS=1 exec ".build/probes/$name" "$@"
