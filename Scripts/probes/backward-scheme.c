// The package's backward over its blocks of rows in one C call, for
// Scripts/probes/backward-vs-torch.py (backward-scheme.h): a ctypes call a block cost about
// 3 µs, 0.4 ms of the 32768x128 backward's 128 blocks.
#include <stddef.h>

#include "backward-scheme.h"

BACKWARD_BLOCKS(float, f32)
BACKWARD_BLOCKS(double, f64)

long probe_backward_block_rows(long rows, long n) { return backward_block_rows(rows, n); }

// Every gradient; dw and db hold a row of partial sums per block (probe_backward_block_rows
// rows a block), the output streamed when it is 8 MiB or more (shouldStream).
#define BACKWARD_SCHEME(T, SUFFIX)                                                              \
  void probe_backward_##SUFFIX(const T *dy, const T *x, T *dx, long rows, long n,              \
                               const T *shift, const T *center, const T *rstd, const T *w,     \
                               T *dw, T *db) {                                                  \
    const int streaming = rows * n * (long)sizeof(T) >= (8 << 20);                             \
    backward_blocks_##SUFFIX(lnk_backward_rows_##SUFFIX, dy, x, dx, rows, n, shift, center,    \
                             rstd, w, dw, db, n, streaming, 0);                                 \
  }
BACKWARD_SCHEME(float, f32)
BACKWARD_SCHEME(double, f64)
