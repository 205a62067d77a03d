// Vector kernels for the elementwise passes of the layer norm, compiled for AVX2+FMA with
// a function-level target attribute and chosen at run time, so that the package builds for
// baseline x86-64 (no unsafe flags) and still uses 256-bit vectors where the CPU has them
// (and 512-bit ones for some of the loops where it has AVX-512F, with the same bits).
//
// Internal to LayerNormalization: the underscore marks it public for technical reasons only.
#ifndef LAYERNORMALIZATION_KERNELS_H
#define LAYERNORMALIZATION_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the running CPU has AVX2 and FMA (and the kernels below may be called), else 0.
int lnk_has_avx2_fma(void);

/// Where the CPU has AVX-512F, the forward's writes of rows that stay in cache and of
/// streamed rows of 768 bytes to 3 KiB, and the backward of rows whose input gradient stays
/// in cache or that are 256 bytes to 1 KiB long, take 512-bit vectors (unless the
/// environment variable LAYERNORMALIZATION_NO_AVX512 is set), with the same bits as the
/// 256-bit loops. This turns them on
/// (`enabled` != 0, where the CPU has them) or off and returns the previous setting, so that
/// tests can compare the two in one process.
int lnk_select_avx512(int enabled);

/// Sum and sum of squares of `x[i] - shift` for `i < n`, in Double. `next` (may be NULL)
/// is memory the caller reads next: the first half of its n elements is prefetched along
/// the way (the hardware prefetcher finds the rest).
void lnk_moments_f32(const float *x, float shift, ptrdiff_t n, double *sum, double *squares,
                     const float *next);
void lnk_moments_f64(const double *x, double shift, ptrdiff_t n, double *sum, double *squares,
                     const double *next);

/// y[i] = ((x[i] - shift) - center) * rstd * w[i] + b[i]; w or b may be NULL (ones, zeros).
/// `streaming` != 0 writes y with non-temporal stores (call lnk_store_fence before reading).
/// `ahead`, when not NULL, is memory read next: half as many bytes of it as of x are fetched
/// into cache along the way (a line per 128 bytes of x).
void lnk_normalize_f32(const float *x, float *y, ptrdiff_t n, float shift, float center,
                       float rstd, const float *w, const float *b, int streaming,
                       const void *ahead);
void lnk_normalize_f64(const double *x, double *y, ptrdiff_t n, double shift, double center,
                       double rstd, const double *w, const double *b, int streaming,
                       const void *ahead);

/// Two rows of n elements, each exactly as lnk_normalize computes it (x0 -> y0 with shift0,
/// center0, rstd0; x1 -> y1 with shift1, center1, rstd1), the weight and bias loaded once
/// for both.
void lnk_normalize_pair_f32(const float *x0, float *y0, float shift0, float center0,
                            float rstd0, const float *x1, float *y1, float shift1,
                            float center1, float rstd1, ptrdiff_t n, const float *w,
                            const float *b, int streaming);
void lnk_normalize_pair_f64(const double *x0, double *y0, double shift0, double center0,
                            double rstd0, const double *x1, double *y1, double shift1,
                            double center1, double rstd1, ptrdiff_t n, const double *w,
                            const double *b, int streaming);

/// y[i] = a[i] + b[i]; when `copy` is not NULL the same values also go to `copy` with
/// non-temporal stores (it must be 16-byte aligned; call lnk_store_fence before reading).
/// `ahead` > 0 also prefetches a[i + ahead] and b[i + ahead] along the way (the next block).
void lnk_add_f32(const float *a, const float *b, float *y, ptrdiff_t n, float *copy,
                 ptrdiff_t ahead);
void lnk_add_f64(const double *a, const double *b, double *y, ptrdiff_t n, double *copy,
                 ptrdiff_t ahead);

/// LayerNorm rows handed no sums take their moments about a rough shift, the mean of their
/// first 32 elements, and again about the rounded mean only where the rough shift
/// lies too far from it (see lnk_rough_shift in KernelTemplate.h): a pass fewer than a
/// first-pass sum. Defined since the Swift layer hands lnk_finish_rows no sums for any
/// LayerNorm row (the probes read it).
#define LNK_ROUGH_SHIFTS 1

/// A LayerNorm row's moments exactly as lnk_finish_rows takes them for a row handed no
/// sum: *sum = sum(x - *shift), *squares = sum((x - *shift)^2) in Double, with *shift the
/// rough shift or the rounded mean (see LNK_ROUGH_SHIFTS). A row of fewer than 32 elements
/// (which lnk_finish_rows never sees) is shifted by its rounded mean, from a sum first.
/// `next` (may be NULL): n elements read next, whose first half is fetched along the way,
/// as lnk_moments fetches.
void lnk_row_moments_f32(const float *x, ptrdiff_t n, const float *next, float *shift,
                         double *sum, double *squares);
void lnk_row_moments_f64(const double *x, ptrdiff_t n, const double *next, double *shift,
                         double *sum, double *squares);

/// Finishes `rows` rows of `n` elements whose first-pass reductions are in `sums`:
/// centered (LayerNorm): sums[r] = sum(x_r), m0 = (T)(sums[r] / n), or with `sums` NULL
/// (centered only, n >= 32) m0 a rough shift (see LNK_ROUGH_SHIFTS); moments of x - m0,
/// mean = m0 + c, var = q - c^2, rstd = 1 / sqrt(var + eps),
/// y = ((x - m0) - c) * rstd * w + b.  Not centered (RMSNorm): sums[r] = sum(x_r^2),
/// rstd = 1 / sqrt(sums[r] / n + eps), y = x * rstd * w. mean and rstd may be NULL.
/// Rows are `n` apart in x and y. A row whose moments are not finite, or whose mean
/// square is below 2^-80 (float) or 2^-900 (double), where the vector lanes lose digits, is
/// left unwritten and its index stored in `extreme`; the count of such rows is returned.
/// `next` (may be NULL) is `next_bytes` the caller reads next, and `also_next` (may be
/// NULL) as many more (the fused add's two inputs): they are prefetched along the rows'
/// passes (one region, rows under 256 bytes or a shorter next block: a share at the start
/// of each row), so memory streams while this block computes from cache. `in_cache` != 0
/// says the caller's whole input stays in cache (the next block comes from L3, not memory),
/// which lets LayerNorm rows up to 2 KiB take their statistics four at a time (the same
/// bits; not with `also_next`; RMSNorm rows are always taken one at a time).
ptrdiff_t lnk_finish_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n,
                              const double *sums, double eps, int centered, const float *w,
                              const float *b, float *mean, float *rstd, int streaming,
                              int in_cache, const void *next, const void *also_next,
                              ptrdiff_t next_bytes, ptrdiff_t *extreme);
ptrdiff_t lnk_finish_rows_f64(const double *x, double *y, ptrdiff_t rows, ptrdiff_t n,
                              const double *sums, double eps, int centered, const double *w,
                              const double *b, double *mean, double *rstd, int streaming,
                              int in_cache, const void *next, const void *also_next,
                              ptrdiff_t next_bytes, ptrdiff_t *extreme);

/// Whole layer norm (centered) or RMSNorm of `rows` short rows (n < 32), several rows per
/// vector, with the statistics in T (a short row loses nothing to it); rows of exactly 8
/// elements are transposed in registers, 8 (Float) or 4 (Double) at a time. Rows the lanes
/// cannot represent are reported in `extreme` as by lnk_finish_rows (they may have been
/// written; the caller writes them again).
ptrdiff_t lnk_short_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n, double eps,
                             int centered, const float *w, const float *b, float *mean,
                             float *rstd, int streaming, ptrdiff_t *extreme);
ptrdiff_t lnk_short_rows_f64(const double *x, double *y, ptrdiff_t rows, ptrdiff_t n,
                             double eps, int centered, const double *w, const double *b,
                             double *mean, double *rstd, int streaming, ptrdiff_t *extreme);

/// The backward of `rows` rows, each with its statistics. For a row, xhat = ((x - shift[r]) -
/// center[r]) * rstd[r] and g = dy * w (dy when w is NULL). Pass 1: a = sum(g),
/// b = sum(g * xhat); dw[i] = sum over the rows of dy[i] * xhat[i] and db[i] = sum of dy[i]
/// where those are not NULL (written, not added into: the first row stores its terms, the
/// others add theirs in row order). Pass 2, when dx is not NULL: dx = rstd * ((g - a / n) - xhat * b / n)
/// (centered, LayerNorm) or dx = rstd * (g - xhat * b / n) (RMSNorm). dx may alias dy or x;
/// `streaming` writes it with non-temporal stores. Rows of exactly 8 floats, and of 4 or 8
/// doubles, are done several at a time in registers. `centered` 2 is LayerNorm with every
/// center[r] +0 (the forward's saved statistics: the mean as the shift), which lets the
/// kernels leave the centers out (the same bits).
void lnk_backward_rows_f32(const float *dy, const float *x, float *dx, ptrdiff_t rows,
                           ptrdiff_t n, const float *shift, const float *center,
                           const float *rstd, int centered, const float *w, float *dw,
                           float *db, int streaming);
void lnk_backward_rows_f64(const double *dy, const double *x, double *dx, ptrdiff_t rows,
                           ptrdiff_t n, const double *shift, const double *center,
                           const double *rstd, int centered, const double *w, double *dw,
                           double *db, int streaming);

/// out[j] = (T) sum over b < blocks of (double)partials[b * stride + j], for j < count: the
/// blocks added in order in Double, column by column (the same bits as a scalar loop).
void lnk_add_blocks_f32(const float *partials, ptrdiff_t blocks, ptrdiff_t stride,
                        ptrdiff_t count, float *out);
void lnk_add_blocks_f64(const double *partials, ptrdiff_t blocks, ptrdiff_t stride,
                        ptrdiff_t count, double *out);

/// Orders the non-temporal stores before what follows.
void lnk_store_fence(void);

/// Runs body(context, part) for every part in 0..<parts on the calling thread and the
/// package's worker threads (at most one fewer than the processors online, started on first
/// use; after each call they keep looking for the next one for 50 us, then sleep) and
/// returns 1 once all are done. Returns 0 without running anything while the workers serve
/// another thread's call (or when `parts` is not in 1...65535).
int lnk_run_parallel(ptrdiff_t parts, void (*body)(void *context, ptrdiff_t part),
                     void *context);

#ifdef __cplusplus
}
#endif

#endif
