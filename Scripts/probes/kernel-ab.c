// The package's kernels (built from Sources/_LayerNormKernels) against the same kernels
// from an earlier commit (their symbols renamed old_*), interleaved in one process, 31
// repetitions, the order alternating: the way to tell a few per cent on this machine,
// where separate runs drift by more than that. Two schemes, in Float and in Double, each as
// the package drives it: the forward (a BLAS sum per row, then lnk_finish_rows over blocks
// of 8192 elements, fetching the next block when the input outgrows L2) and the backward
// (lnk_backward_rows over the package's blocks of rows). An input under
// 4 MiB is run several times back to back per repetition (about 4 MiB in all), so that a
// shape that fits in cache is timed in cache; times are per call. Both builds write the
// same output buffers while timed (with an output each, identical code timed 2-11 % apart
// at 2048x4096 and 3-5 % at Double 32768x128 in three runs: where a buffer lands matters);
// each then runs once into its own outputs, and the report says whether the two builds
// give the same bits. The rows' buffers start KERNEL_AB_OFFSET bytes past a page
// boundary (default 48, where a large Swift array's elements start; 0 for 32-byte-aligned);
// the outputs (y, dx) KERNEL_AB_OUTPUT_AFTER bytes further (default 0), so that they can sit
// just after the inputs modulo 4096 (see lnk_near_after).
//
//   Scripts/probe.sh kernel-ab REV [ROWSxCOLS ...]   (default 64x768 512x16384 2048x4096 32768x128)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "_LayerNormKernels.h"
#include "backward-scheme.h"
#include "forward-scheme.h"

void old_lnk_backward_rows_f32(const float *dy, const float *x, float *dx, ptrdiff_t rows,
                               ptrdiff_t n, const float *shift, const float *center,
                               const float *rstd, int centered, const float *w, float *dw,
                               float *db, int streaming);
void old_lnk_backward_rows_f64(const double *dy, const double *x, double *dx, ptrdiff_t rows,
                               ptrdiff_t n, const double *shift, const double *center,
                               const double *rstd, int centered, const double *w, double *dw,
                               double *db, int streaming);
// lnk_finish_rows gained `also_next` (a second region to prefetch) for the fused add, then
// `in_cache` (the input stays in cache); probe.sh sets OLD_HAS_ALSO_NEXT and OLD_HAS_IN_CACHE
// when REV's header has them. Both builds are called without a second region; a build
// without `in_cache` ignores it.
#if OLD_HAS_IN_CACHE
#define OLD_FINISH_DECLARATION(T, SUFFIX)                                                     \
  ptrdiff_t old_lnk_finish_rows_##SUFFIX(const T *x, T *y, ptrdiff_t rows, ptrdiff_t n,       \
                                         const double *sums, double eps, int centered,        \
                                         const T *w, const T *b, T *mean, T *rstd,            \
                                         int streaming, int in_cache, const void *next,       \
                                         const void *also_next, ptrdiff_t next_bytes,         \
                                         ptrdiff_t *extreme);
#define OLD_FINISH_CALL(SUFFIX, x, y, rows, n, sums, w, b, m, r, s, c, next, bytes, e) \
  old_lnk_finish_rows_##SUFFIX(x, y, rows, n, sums, 1e-5, 1, w, b, m, r, s, c, next, NULL, bytes, e)
#elif OLD_HAS_ALSO_NEXT
#define OLD_FINISH_DECLARATION(T, SUFFIX)                                                     \
  ptrdiff_t old_lnk_finish_rows_##SUFFIX(const T *x, T *y, ptrdiff_t rows, ptrdiff_t n,       \
                                         const double *sums, double eps, int centered,        \
                                         const T *w, const T *b, T *mean, T *rstd,            \
                                         int streaming, const void *next,                     \
                                         const void *also_next, ptrdiff_t next_bytes,         \
                                         ptrdiff_t *extreme);
#define OLD_FINISH_CALL(SUFFIX, x, y, rows, n, sums, w, b, m, r, s, c, next, bytes, e) \
  old_lnk_finish_rows_##SUFFIX(x, y, rows, n, sums, 1e-5, 1, w, b, m, r, s, next, NULL, bytes, e)
#else
#define OLD_FINISH_DECLARATION(T, SUFFIX)                                                     \
  ptrdiff_t old_lnk_finish_rows_##SUFFIX(const T *x, T *y, ptrdiff_t rows, ptrdiff_t n,       \
                                         const double *sums, double eps, int centered,        \
                                         const T *w, const T *b, T *mean, T *rstd,            \
                                         int streaming, const void *next,                     \
                                         ptrdiff_t next_bytes, ptrdiff_t *extreme);
#define OLD_FINISH_CALL(SUFFIX, x, y, rows, n, sums, w, b, m, r, s, c, next, bytes, e) \
  old_lnk_finish_rows_##SUFFIX(x, y, rows, n, sums, 1e-5, 1, w, b, m, r, s, next, bytes, e)
#endif
#ifndef OLD_ADDS_INTO
#define OLD_ADDS_INTO 0  // REV's lnk_backward_rows writes dw and db (probe.sh sets it when not)
#endif
OLD_FINISH_DECLARATION(float, f32)
OLD_FINISH_DECLARATION(double, f64)

enum { REPEATS = 31 };

static long offset = 48, output_after = 0;
// `bytes` at `offset` bytes past a page boundary; free with release().
static void *placed(size_t bytes) { return (char *)aligned_alloc(4096, bytes + 4096) + offset; }
static void release(void *p) { free((char *)p - offset); }
// An output's `bytes`, `output_after` bytes past where placed() puts them; free with
// release_output().
static void *placed_output(size_t bytes) {
  return (char *)aligned_alloc(4096, bytes + 8192) + offset + output_after;
}
static void release_output(void *p) { free((char *)p - offset - output_after); }

// Prints both builds' median times for one scheme and whether their outputs agree.
static void report(const char *name, long rows, long n, double times[2][REPEATS], int same) {
  for (int v = 0; v < 2; v++) qsort(times[v], REPEATS, sizeof(double), by_value);
  printf("%ldx%-6ld %s: this tree %8.1f us, earlier commit %8.1f us (medians); same bits: %s\n",
         rows, n, name, times[0][REPEATS / 2], times[1][REPEATS / 2], same ? "yes" : "NO");
}

// The forward over all rows (forward-scheme.h) with this tree's kernel (old == 0) or REV's
// (old == 1, its lnk_finish_rows called as FORWARD_FINISH calls this tree's).
#define OLD_FINISH(T, SUFFIX)                                                                 \
  static ptrdiff_t old_finish_##SUFFIX(const T *x, T *y, ptrdiff_t rows, ptrdiff_t n,        \
                                       const double *sums, const T *w, const T *b, T *m,     \
                                       T *r, int s, int c, const void *next,                 \
                                       ptrdiff_t bytes, ptrdiff_t *e) {                       \
    return OLD_FINISH_CALL(SUFFIX, x, y, rows, n, sums, w, b, m, r, s, c, next, bytes, e);   \
  }
FORWARD_FINISH(float, f32)
FORWARD_FINISH(double, f64)
OLD_FINISH(float, f32)
OLD_FINISH(double, f64)
FORWARD_BLOCKS(new_forward_f32, float, cblas_ssum, THIS_TREE_SUM_BYTES, forward_finish_f32)
FORWARD_BLOCKS(old_forward_f32, float, cblas_ssum, OLD_KERNEL_SUM_ROW_BYTES, old_finish_f32)
FORWARD_BLOCKS(new_forward_f64, double, cblas_dsum, THIS_TREE_SUM_BYTES, forward_finish_f64)
FORWARD_BLOCKS(old_forward_f64, double, cblas_dsum, OLD_KERNEL_SUM_ROW_BYTES, old_finish_f64)
#define FORWARD(T, SUFFIX)                                                                    \
  static void forward_##SUFFIX(int old, const T *x, T *y, long rows, long n, const T *w,     \
                               const T *b, T *mean, T *rstd, int streaming) {                 \
    (old ? old_forward_##SUFFIX : new_forward_##SUFFIX)(x, y, rows, n, w, b, mean, rstd,      \
                                                        streaming);                           \
    _mm_sfence();                                                                             \
  }
FORWARD(float, f32)
FORWARD(double, f64)

// Times both builds of the forward in type T on rows x n, `calls` calls a repetition.
#define COMPARE_FORWARD(T, SUFFIX, NAME)                                                      \
  static void compare_forward_##SUFFIX(long rows, long n, int calls) {                        \
    const size_t bytes = rows * n * sizeof(T);                                                \
    T *x = placed(bytes), *y[2] = {placed_output(bytes), placed_output(bytes)};               \
    T *w = malloc(n * sizeof(T)), *b = malloc(n * sizeof(T));                                 \
    T *mean[2] = {malloc(rows * sizeof(T)), malloc(rows * sizeof(T))};                        \
    T *rstd[2] = {malloc(rows * sizeof(T)), malloc(rows * sizeof(T))};                        \
    for (long i = 0; i < rows * n; i++) x[i] = (T)(i * 7919 % 1000) / 100;                    \
    for (long i = 0; i < n; i++) w[i] = 1 + (T)0.01 * (i % 100), b[i] = (T)0.01 * (i % 7); \
    const int streaming = bytes >= (8 << 20);                                                 \
    double times[2][REPEATS];                                                                 \
    for (int r = 0; r < REPEATS; r++)                                                         \
      for (int turn = 0; turn < 2; turn++) {                                                  \
        const int v = (turn + r) % 2;                                                         \
        const double start = now_us();                                                        \
        for (int c = 0; c < calls; c++)                                                       \
          forward_##SUFFIX(v, x, y[0], rows, n, w, b, mean[0], rstd[0], streaming);            \
        times[v][r] = (now_us() - start) / calls;                                             \
      }                                                                                       \
    /* The timed calls wrote y[0]: cleared, so that a build that writes nothing fails. */    \
    memset(y[0], 0xff, bytes), memset(mean[0], 0xff, rows * sizeof(T));                       \
    memset(rstd[0], 0xff, rows * sizeof(T));                                                  \
    for (int v = 0; v < 2; v++)                                                               \
      forward_##SUFFIX(v, x, y[v], rows, n, w, b, mean[v], rstd[v], streaming);               \
    report(NAME, rows, n, times,                                                              \
           !memcmp(y[0], y[1], bytes) && !memcmp(mean[0], mean[1], rows * sizeof(T)) &&       \
               !memcmp(rstd[0], rstd[1], rows * sizeof(T)));                                  \
    release(x), release_output(y[0]), release_output(y[1]), free(w), free(b);                 \
    free(mean[0]), free(mean[1]), free(rstd[0]), free(rstd[1]);                               \
  }
COMPARE_FORWARD(float, f32, "forward f32 ")
COMPARE_FORWARD(double, f64, "forward f64 ")

BACKWARD_BLOCKS(float, f32)
BACKWARD_BLOCKS(double, f64)

// Times both builds of the backward in type T on rows x n over the package's blocks of
// rows, every gradient asked for, `calls` calls a repetition.
#define COMPARE_BACKWARD(T, SUFFIX, NAME)                                                      \
  static void compare_backward_##SUFFIX(long rows, long n, int calls) {                        \
    const size_t bytes = rows * n * sizeof(T);                                                 \
    T *dy = placed(bytes), *x = placed(bytes);                                                 \
    T *dx[2] = {placed_output(bytes), placed_output(bytes)};                                   \
    T *w = aligned_alloc(64, n * sizeof(T));                                                   \
    T *dw[2] = {aligned_alloc(64, n * sizeof(T)), aligned_alloc(64, n * sizeof(T))};           \
    T *db[2] = {aligned_alloc(64, n * sizeof(T)), aligned_alloc(64, n * sizeof(T))};           \
    T *shift = malloc(rows * sizeof(T)), *center = malloc(rows * sizeof(T));                   \
    T *rstd = malloc(rows * sizeof(T));                                                        \
    for (long i = 0; i < rows * n; i++)                                                        \
      dy[i] = (T)(i * 37 % 13) / 10 - (T)0.5, x[i] = (T)(i * 7919 % 1000) / 100;               \
    for (long i = 0; i < n; i++) w[i] = 1 + (T)0.01 * (i % 100);                               \
    for (long r = 0; r < rows; r++) shift[r] = 5, center[r] = 0, rstd[r] = (T)0.3;           \
    const int streaming = bytes >= (8 << 20);                                                  \
    const backward_kernel_##SUFFIX kernels[2] = {lnk_backward_rows_##SUFFIX,                   \
                                                 old_lnk_backward_rows_##SUFFIX};             \
    double times[2][REPEATS];                                                                  \
    for (int r = 0; r < REPEATS; r++)                                                          \
      for (int turn = 0; turn < 2; turn++) {                                                   \
        const int v = (turn + r) % 2;                                                          \
        const double start = now_us();                                                         \
        for (int c = 0; c < calls; c++)                                                        \
          backward_blocks_##SUFFIX(kernels[v], dy, x, dx[0], rows, n, shift, center, rstd, w,   \
                                   dw[0], db[0], 0, streaming, v == 1 && OLD_ADDS_INTO);       \
        times[v][r] = (now_us() - start) / calls;                                              \
      }                                                                                        \
    /* The timed calls wrote dx[0]: cleared, so that a build that writes nothing fails. */    \
    memset(dx[0], 0xff, bytes), memset(dw[0], 0xff, n * sizeof(T));                            \
    memset(db[0], 0xff, n * sizeof(T));                                                        \
    for (int v = 0; v < 2; v++)                                                                \
      backward_blocks_##SUFFIX(kernels[v], dy, x, dx[v], rows, n, shift, center, rstd, w,      \
                               dw[v], db[v], 0, streaming, v == 1 && OLD_ADDS_INTO);           \
    report(NAME, rows, n, times,                                                               \
           !memcmp(dx[0], dx[1], bytes) && !memcmp(dw[0], dw[1], n * sizeof(T)) &&            \
               !memcmp(db[0], db[1], n * sizeof(T)));                                         \
    release(dy), release(x), release_output(dx[0]), release_output(dx[1]);                     \
    free(w), free(dw[0]), free(dw[1]);                                                         \
    free(db[0]), free(db[1]), free(shift), free(center), free(rstd);                           \
  }
COMPARE_BACKWARD(float, f32, "backward f32")
COMPARE_BACKWARD(double, f64, "backward f64")

int main(int argc, char **argv) {
  if (getenv("KERNEL_AB_OFFSET")) offset = atol(getenv("KERNEL_AB_OFFSET"));
  if (getenv("KERNEL_AB_OUTPUT_AFTER")) output_after = atol(getenv("KERNEL_AB_OUTPUT_AFTER"));
  const char *fallback[] = {"64x768", "512x16384", "2048x4096", "32768x128"};
  const int shapes = argc > 1 ? argc - 1 : 4;
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 1)) return 2;
    const long bytes = rows * n * 4;
    const int calls = bytes < (4 << 20) ? (int)((4 << 20) / bytes) : 1;
    compare_forward_f32(rows, n, calls);
    compare_forward_f64(rows, n, calls > 1 ? calls / 2 : 1);
    compare_backward_f32(rows, n, calls);
    compare_backward_f64(rows, n, calls > 1 ? calls / 2 : 1);
  }
  return 0;
}
