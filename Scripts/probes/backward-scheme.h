// The package's backward over blocks of rows, for the probes that time it (kernel-ab,
// backward-vs-torch): as runBackward in Sources/LayerNormalization/Kernels/BackwardKernel.swift
// drives lnk_backward_rows on one thread, every gradient asked for, each block of rows
// writing its own weight and bias partial sums. Adding the partials up, the checks and
// threads are the Swift layer's (left out).
#ifndef BACKWARD_SCHEME_H
#define BACKWARD_SCHEME_H

#include <string.h>

#include "_LayerNormKernels.h"

// backwardBlockRows in BackwardKernel.swift: up to 256 rows and about 4 MiB of Float input
// a block, and at least 4 blocks from 65536 elements on.
static inline long backward_block_rows(long rows, long n) {
  long block = (1 << 20) / n;
  block = block > 256 ? 256 : block < 1 ? 1 : block;
  if (rows * n >= (1 << 16) && block > (rows + 3) / 4) block = (rows + 3) / 4;
  return block;
}

// Defines `static void backward_blocks_SUFFIX(kernel, dy, x, dx, rows, n, shift, center,
// rstd, w, dw, db, partial_stride, streaming, zero_first)`: block k's partials at dw and db
// plus k * partial_stride elements (a stride of 0 reuses one pair), the stores fenced after.
// The centers must be +0, as the package's are from the forward's saved statistics (the
// mean as the shift), and are passed as such (`centered` 2).
// With zero_first the partials are zeroed before the kernel runs, for kernels from before
// 2026-11-28 that added into them (kernel-ab's older revisions).
#define BACKWARD_BLOCKS(T, SUFFIX)                                                              \
  typedef void (*backward_kernel_##SUFFIX)(const T *, const T *, T *, ptrdiff_t, ptrdiff_t,    \
                                           const T *, const T *, const T *, int, const T *,    \
                                           T *, T *, int);                                     \
  static void backward_blocks_##SUFFIX(backward_kernel_##SUFFIX kernel, const T *dy,          \
                                       const T *x, T *dx, long rows, long n, const T *shift,   \
                                       const T *center, const T *rstd, const T *w, T *dw,      \
                                       T *db, long partial_stride, int streaming,              \
                                       int zero_first) {                                       \
    const long block = backward_block_rows(rows, n);                                            \
    for (long b = 0, k = 0; b < rows; b += block, k++) {                                        \
      const long count = rows - b < block ? rows - b : block;                                   \
      T *dwk = dw + k * partial_stride, *dbk = db + k * partial_stride;                         \
      if (zero_first) {                                                                         \
        memset(dwk, 0, n * sizeof(T));                                                          \
        memset(dbk, 0, n * sizeof(T));                                                          \
      }                                                                                         \
      kernel(dy + b * n, x + b * n, dx + b * n, count, n, shift + b, center + b, rstd + b, 2, w, \
             dwk, dbk, streaming);                                                              \
    }                                                                                           \
    lnk_store_fence();                                                                          \
  }

#endif
