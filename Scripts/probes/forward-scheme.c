// The package's forward scheme in one C call, for Scripts/probes/forward-vs-torch.py: as
// forwardRows in Sources/LayerNormalization/Kernels/ForwardKernel.swift drives it for rows
// of 32 to 128 KiB (a BLAS sum per row over a block of 8192 elements, then lnk_finish_rows,
// which fetches the next block when the input outgrows L2 and streams the output when it is
// 8 MiB or more) and for rows under 32 elements (lnk_short_rows). Long rows (128 KiB and
// more), the careful path for extreme rows, threads and the Swift layer's checks are left
// out: the probe's inputs are ordinary rows, and one ctypes call stands for the Swift API.
#include <cblas.h>
#include <stddef.h>
#include <stdint.h>

#include "_LayerNormKernels.h"

#define FORWARD_SCHEME(T, SUFFIX, SUM)                                                        \
  long probe_forward_##SUFFIX(const T *x, T *y, long rows, long n, const T *w, const T *b,   \
                              T *mean, T *rstd) {                                             \
    const long bytes = rows * n * (long)sizeof(T);                                            \
    const int streaming = bytes >= (8 << 20) && (uintptr_t)y % 16 == 0 &&                    \
                          n * (long)sizeof(T) % 16 == 0;                                      \
    long block = 8192 / n;                                                                    \
    block = block < 1 ? 1 : block;                                                            \
    const int fetch = bytes > (1 << 19);                                                      \
    double sums[8192];                                                                        \
    ptrdiff_t extreme[8192];                                                                  \
    long extremes = 0;                                                                        \
    for (long start = 0; start < rows; start += block) {                                      \
      const long count = rows - start < block ? rows - start : block;                         \
      const T *xs = x + start * n;                                                            \
      T *ys = y + start * n;                                                                  \
      if (n < 32) {                                                                           \
        extremes += lnk_short_rows_##SUFFIX(xs, ys, count, n, 1e-5, 1, w, b, mean + start,    \
                                            rstd + start, streaming, extreme);                \
        continue;                                                                             \
      }                                                                                       \
      for (long r = 0; r < count; r++) sums[r] = SUM(n, xs + r * n, 1);                       \
      const long next = start + count, next_count = rows - next < block ? rows - next : block; \
      const int ahead = fetch && next_count > 0;                                              \
      extremes += lnk_finish_rows_##SUFFIX(                                                   \
          xs, ys, count, n, sums, 1e-5, 1, w, b, mean + start, rstd + start, streaming,       \
          ahead ? x + next * n : NULL, NULL, ahead ? next_count * n * (long)sizeof(T) : 0,    \
          extreme);                                                                           \
    }                                                                                         \
    if (streaming) lnk_store_fence();                                                         \
    return extremes;                                                                          \
  }
FORWARD_SCHEME(float, f32, cblas_ssum)
FORWARD_SCHEME(double, f64, cblas_dsum)
