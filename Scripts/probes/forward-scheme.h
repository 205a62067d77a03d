// The package's forward over blocks of rows, for the probes that time it (kernel-ab,
// forward-vs-torch): as forwardRows in Sources/LayerNormalization/Kernels/ForwardKernel.swift
// drives it for rows of 32 elements to 128 KiB, a BLAS sum per row over a block of 8192
// elements (none for rows up to KERNEL_SUM_BYTES, whose moments the kernel takes alone),
// then lnk_finish_rows over the block, fetching the next block when the input outgrows L2
// (512 KiB). Long rows, short rows, the careful path and threads are the callers' (or
// left out).
#ifndef FORWARD_SCHEME_H
#define FORWARD_SCHEME_H

#include <stddef.h>

#include "_LayerNormKernels.h"

// Defines `static ptrdiff_t forward_finish_SUFFIX(...)`: this tree's lnk_finish_rows as
// FORWARD_BLOCKS calls it (eps 1e-5, centered, no second region).
#define FORWARD_FINISH(T, SUFFIX)                                                             \
  static ptrdiff_t forward_finish_##SUFFIX(const T *x, T *y, ptrdiff_t rows, ptrdiff_t n,    \
                                           const double *sums, const T *w, const T *b, T *m, \
                                           T *r, int s, int c, const void *next,             \
                                           ptrdiff_t bytes, ptrdiff_t *e) {                   \
    return lnk_finish_rows_##SUFFIX(x, y, rows, n, sums, 1e-5, 1, w, b, m, r, s, c, next,     \
                                    NULL, bytes, e);                                          \
  }

// Defines `static long NAME(x, y, rows, n, w, b, mean, rstd, streaming)`, returning the
// count of rows left for the careful path. SUM(n, row, 1) is the BLAS sum (cblas_ssum or
// cblas_dsum), skipped (sums NULL) for rows of up to KERNEL_SUM_BYTES (THIS_TREE_SUM_BYTES
// for this tree: every row); FINISH(x, y, rows, n, sums, w, b, mean, rstd, streaming,
// in_cache, next, next_bytes, extreme) calls a build of lnk_finish_rows (eps 1e-5, centered, no second
// region); in_cache is set for an input under 8 MiB, as the package sets it.
// This tree's lnk_finish_rows takes every LayerNorm row's moments alone (LNK_ROUGH_SHIFTS).
#define THIS_TREE_SUM_BYTES (1L << 40)

#define FORWARD_BLOCKS(NAME, T, SUM, KERNEL_SUM_BYTES, FINISH)                                \
  static long NAME(const T *x, T *y, long rows, long n, const T *w, const T *b, T *mean,    \
                   T *rstd, int streaming) {                                                  \
    long block = 8192 / n;                                                                    \
    block = block < 1 ? 1 : block;                                                            \
    const int fetch = rows * n * (long)sizeof(T) > (1 << 19);                                 \
    const int in_cache = rows * n * (long)sizeof(T) < (8 << 20);                              \
    double sums[8192];                                                                        \
    ptrdiff_t extreme[8192];                                                                  \
    long extremes = 0;                                                                        \
    for (long start = 0; start < rows; start += block) {                                      \
      const long count = rows - start < block ? rows - start : block;                         \
      const int in_kernel = n * (long)sizeof(T) <= (KERNEL_SUM_BYTES);                        \
      for (long r = 0; r < count && !in_kernel; r++) sums[r] = SUM(n, x + (start + r) * n, 1); \
      const long next = start + count, next_count = rows - next < block ? rows - next : block; \
      const int ahead = fetch && next_count > 0;                                              \
      extremes += FINISH(x + start * n, y + start * n, count, n, in_kernel ? NULL : sums, w,  \
                         b, mean + start,                                                     \
                         rstd + start, streaming, in_cache, ahead ? x + next * n : NULL,      \
                         ahead ? next_count * n * (long)sizeof(T) : 0, extreme);              \
    }                                                                                         \
    return extremes;                                                                          \
  }

#endif
