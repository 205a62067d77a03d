#!/usr/bin/env bash
# Builds and runs one of the C probes in Scripts/probes/: small stand-alone programs that
# measure the yardsticks the README and the issue notes compare the package with.
#
#   Scripts/probe.sh memory-bandwidth [N ...]         one thread's memcpy, read, and
#                                                      read-while-writing bandwidth
#   Scripts/probe.sh blas-pass-cost [ROWSxCOLS ...]   the forward's separate BLAS pass
#   Scripts/probe.sh backward-floor [ROWSxCOLS ...]   the backward against memory speed
#   Scripts/probe.sh long-rows [ROWSxCOLS ...]        long rows: chunked statistics and a
#                                                      column-blocked write
#   Scripts/probe.sh kernel-ab REV [ROWSxCOLS ...]    the forward and backward kernels
#                                                      against their version at git
#                                                      revision REV, in one process
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: Scripts/probe.sh memory-bandwidth|blas-pass-cost|backward-floor|long-rows|kernel-ab [args]}
shift
source=Scripts/probes/$name.c
[ -f "$source" ] || { echo "no probe $source" >&2; exit 2; }
CC=${CC:-$(command -v clang || command -v cc)}
flags=(-O2)
if [ "$name" = blas-pass-cost ] || [ "$name" = long-rows ] || [ "$name" = kernel-ab ]; then
  Scripts/install-dependencies.sh
  read -r -a blas <<< "$(pkg-config --cflags --libs openblas)"
  flags+=("${blas[@]}")
fi
sources=("$source")
if [ "$name" = backward-floor ] || [ "$name" = long-rows ]; then  # beside the package's own kernel
  sources+=(Sources/_LayerNormKernels/Kernels.c)
  flags+=(-ISources/_LayerNormKernels/include)
fi
mkdir -p .build/probes
if [ "$name" = kernel-ab ]; then
  # The kernels at revision REV, compiled with their exported symbols renamed old_*.
  rev=${1:?usage: Scripts/probe.sh kernel-ab REV [ROWSxCOLS ...]}
  shift
  old=.build/probes/old-kernels
  rm -rf "$old" && mkdir -p "$old"
  git archive "$rev" Sources/_LayerNormKernels | tar -x -C "$old"
  "$CC" -O2 -c "$old/Sources/_LayerNormKernels/Kernels.c" \
    -I"$old/Sources/_LayerNormKernels/include" -o "$old/kernels.o"
  nm "$old/kernels.o" | awk '$2 == "T" { print $3, "old_" $3 }' > "$old/renames"
  objcopy --redefine-syms="$old/renames" "$old/kernels.o" "$old/renamed.o"
  sources+=(Sources/_LayerNormKernels/Kernels.c "$old/renamed.o")
  flags+=(-ISources/_LayerNormKernels/include)
fi
"$CC" -o ".build/probes/$name" "${sources[@]}" "${flags[@]}" -lm
if [ "$name" = memory-bandwidth ] && [ $# -eq 0 ]; then set -- 4194304 8000000; fi
OPENBLAS_NUM_THREADS=1 exec ".build/probes/$name" "$@"
