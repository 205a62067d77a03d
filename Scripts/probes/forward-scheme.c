// The package's forward scheme in one C call, for Scripts/probes/forward-vs-torch.py: the
// blocks of forward-scheme.h for rows of 32 elements to 128 KiB, lnk_short_rows over the
// same blocks for shorter rows, the output streamed when it is 8 MiB or more and every row
// starts on a 16-byte boundary (shouldStream). Long rows (128 KiB and more), the careful
// path for extreme rows, threads and the Swift layer's checks are left out: the probe's
// inputs are ordinary rows, and one ctypes call stands for the Swift API.
#include <cblas.h>
#include <stddef.h>
#include <stdint.h>

#include "_LayerNormKernels.h"
#include "forward-scheme.h"

FORWARD_FINISH(float, f32)
FORWARD_FINISH(double, f64)
FORWARD_BLOCKS(blocks_f32, float, cblas_ssum, THIS_TREE_SUM_BYTES, forward_finish_f32)
FORWARD_BLOCKS(blocks_f64, double, cblas_dsum, THIS_TREE_SUM_BYTES, forward_finish_f64)

#define FORWARD_SCHEME(T, SUFFIX)                                                             \
  long probe_forward_##SUFFIX(const T *x, T *y, long rows, long n, const T *w, const T *b,   \
                              T *mean, T *rstd) {                                             \
    const int streaming = rows * n * (long)sizeof(T) >= (8 << 20) && (uintptr_t)y % 16 == 0 && \
                          n * (long)sizeof(T) % 16 == 0;                                      \
    long extremes = 0;                                                                        \
    if (n >= 32) {                                                                            \
      extremes = blocks_##SUFFIX(x, y, rows, n, w, b, mean, rstd, streaming);                 \
    } else {                                                                                  \
      ptrdiff_t extreme[8192];                                                                \
      const long block = 8192 / n;                                                            \
      for (long start = 0; start < rows; start += block) {                                    \
        const long count = rows - start < block ? rows - start : block;                       \
        extremes += lnk_short_rows_##SUFFIX(x + start * n, y + start * n, count, n, 1e-5, 1,  \
                                            w, b, mean + start, rstd + start, streaming,      \
                                            extreme);                                         \
      }                                                                                       \
    }                                                                                         \
    if (streaming) lnk_store_fence();                                                         \
    return extremes;                                                                          \
  }
FORWARD_SCHEME(float, f32)
FORWARD_SCHEME(double, f64)
