// The package's kernels (built from Sources/_LayerNormKernels) against the same kernels
// from an earlier commit (their symbols renamed old_*), interleaved in one process, 31
// repetitions, the order alternating: the way to tell a few per cent on this machine,
// where separate runs drift by more than that. Two schemes, each as the package drives it:
// the forward (a BLAS sum per row, then lnk_finish_rows_f32 over blocks of 8192 elements,
// fetching the next block when the input outgrows L2) and the backward
// (lnk_backward_rows_f32 over the package's blocks of rows). Reports whether the two
// builds give the same bits.
//
//   Scripts/probe.sh kernel-ab REV [ROWSxCOLS ...]   (default 64x768 512x16384 2048x4096 32768x128)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "_LayerNormKernels.h"

void old_lnk_backward_rows_f32(const float *dy, const float *x, float *dx, ptrdiff_t rows,
                               ptrdiff_t n, const float *shift, const float *center,
                               const float *rstd, int centered, const float *w, float *dw,
                               float *db, int streaming);
// lnk_finish_rows gained `also_next` (a second region to prefetch) for the fused add; probe.sh
// sets OLD_HAS_ALSO_NEXT when REV's header has it. Both kernels are called without one.
#if OLD_HAS_ALSO_NEXT
ptrdiff_t old_lnk_finish_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n,
                                  const double *sums, double eps, int centered, const float *w,
                                  const float *b, float *mean, float *rstd, int streaming,
                                  const void *next, const void *also_next, ptrdiff_t next_bytes,
                                  ptrdiff_t *extreme);
#define OLD_FINISH(x, y, rows, n, sums, eps, c, w, b, m, r, s, next, bytes, e) \
  old_lnk_finish_rows_f32(x, y, rows, n, sums, eps, c, w, b, m, r, s, next, NULL, bytes, e)
#else
ptrdiff_t old_lnk_finish_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n,
                                  const double *sums, double eps, int centered, const float *w,
                                  const float *b, float *mean, float *rstd, int streaming,
                                  const void *next, ptrdiff_t next_bytes, ptrdiff_t *extreme);
#define OLD_FINISH old_lnk_finish_rows_f32
#endif

typedef void (*backward_kernel)(const float *, const float *, float *, ptrdiff_t, ptrdiff_t,
                                const float *, const float *, const float *, int,
                                const float *, float *, float *, int);
typedef ptrdiff_t (*finish_kernel)(const float *, float *, ptrdiff_t, ptrdiff_t, const double *,
                                   double, int, const float *, const float *, float *, float *,
                                   int, const void *, ptrdiff_t, ptrdiff_t *);

enum { REPEATS = 31 };

static ptrdiff_t new_finish(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n,
                            const double *sums, double eps, int centered, const float *w,
                            const float *b, float *mean, float *rstd, int streaming,
                            const void *next, ptrdiff_t next_bytes, ptrdiff_t *extreme) {
  return lnk_finish_rows_f32(x, y, rows, n, sums, eps, centered, w, b, mean, rstd, streaming,
                             next, NULL, next_bytes, extreme);
}
static ptrdiff_t old_finish(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n,
                            const double *sums, double eps, int centered, const float *w,
                            const float *b, float *mean, float *rstd, int streaming,
                            const void *next, ptrdiff_t next_bytes, ptrdiff_t *extreme) {
  return OLD_FINISH(x, y, rows, n, sums, eps, centered, w, b, mean, rstd, streaming, next,
                    next_bytes, extreme);
}

static void forward(finish_kernel finish, const float *x, float *y, long rows, long n,
                    const float *ones, const float *w, const float *b, float *mean,
                    float *rstd, int streaming) {
  long block = 8192 / n;
  block = block < 1 ? 1 : block;
  const int fetch = rows * n * 4 > (1 << 19);
  double sums[8192];
  ptrdiff_t extreme[8192];
  for (long start = 0; start < rows; start += block) {
    const long count = rows - start < block ? rows - start : block;
    for (long r = 0; r < count; r++) sums[r] = cblas_sdot(n, x + (start + r) * n, 1, ones, 1);
    const long next = start + count, next_count = rows - next < block ? rows - next : block;
    const int ahead = fetch && next_count > 0;
    finish(x + start * n, y + start * n, count, n, sums, 1e-5, 1, w, b, mean + start,
           rstd + start, streaming, ahead ? x + next * n : NULL, ahead ? next_count * n * 4 : 0,
           extreme);
  }
  _mm_sfence();
}

int main(int argc, char **argv) {
  const char *fallback[] = {"64x768", "512x16384", "2048x4096", "32768x128"};
  const int shapes = argc > 1 ? argc - 1 : 4;
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 1)) return 2;
    float *dy = aligned_alloc(64, rows * n * 4), *x = aligned_alloc(64, rows * n * 4);
    float *dx[2] = {aligned_alloc(64, rows * n * 4), aligned_alloc(64, rows * n * 4)};
    float *w = aligned_alloc(64, n * 4);
    float *dw[2] = {aligned_alloc(64, n * 4), aligned_alloc(64, n * 4)};
    float *db[2] = {aligned_alloc(64, n * 4), aligned_alloc(64, n * 4)};
    float *shift = malloc(rows * 4), *center = malloc(rows * 4), *rstd = malloc(rows * 4);
    for (long i = 0; i < rows * n; i++) dy[i] = (float)(i * 37 % 13) / 10 - 0.5f, x[i] = (float)(i * 7919 % 1000) / 100;
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * (i % 100);
    for (long r = 0; r < rows; r++) shift[r] = 5, center[r] = 0.001f, rstd[r] = 0.3f;
    // As backwardBlockRows in Sources/LayerNormalization/Kernels/BackwardKernel.swift.
    long block = (1 << 18) / n;
    block = block > 256 ? 256 : block < 1 ? 1 : block;
    const int streaming = rows * n * 4 >= (8 << 20);
    const backward_kernel kernels[2] = {lnk_backward_rows_f32, old_lnk_backward_rows_f32};
    const finish_kernel finishes[2] = {new_finish, old_finish};
    float *y[2] = {aligned_alloc(64, rows * n * 4), aligned_alloc(64, rows * n * 4)};
    float *ones = aligned_alloc(64, n * 4), *bias = aligned_alloc(64, n * 4);
    float *mean[2] = {malloc(rows * 4), malloc(rows * 4)}, *sd[2] = {malloc(rows * 4), malloc(rows * 4)};
    for (long i = 0; i < n; i++) ones[i] = 1, bias[i] = 0.01f * (i % 7);
    double forward_times[2][REPEATS];
    for (int r = 0; r < REPEATS; r++)
      for (int turn = 0; turn < 2; turn++) {
        const int v = (turn + r) % 2;
        const double start = now_us();
        forward(finishes[v], x, y[v], rows, n, ones, w, bias, mean[v], sd[v], streaming);
        forward_times[v][r] = now_us() - start;
      }
    for (int v = 0; v < 2; v++) qsort(forward_times[v], REPEATS, sizeof(double), by_value);
    printf("%ldx%-6ld forward:  this tree %8.1f us, earlier commit %8.1f us (medians); same bits: %s\n",
           rows, n, forward_times[0][REPEATS / 2], forward_times[1][REPEATS / 2],
           !memcmp(y[0], y[1], rows * n * 4) && !memcmp(mean[0], mean[1], rows * 4) &&
                   !memcmp(sd[0], sd[1], rows * 4) ? "yes" : "no");
    double times[2][REPEATS];
    for (int r = 0; r < REPEATS; r++)
      for (int turn = 0; turn < 2; turn++) {
        const int v = (turn + r) % 2;
        const double start = now_us();
        for (long b = 0; b < rows; b += block) {
          const long count = rows - b < block ? rows - b : block;
          memset(dw[v], 0, n * 4);
          memset(db[v], 0, n * 4);
          kernels[v](dy + b * n, x + b * n, dx[v] + b * n, count, n, shift + b, center + b,
                     rstd + b, 1, w, dw[v], db[v], streaming);
        }
        _mm_sfence();
        times[v][r] = now_us() - start;
      }
    for (int v = 0; v < 2; v++) qsort(times[v], REPEATS, sizeof(double), by_value);
    printf("%ldx%-6ld backward: this tree %8.1f us, earlier commit %8.1f us (medians); same bits: %s\n",
           rows, n, times[0][REPEATS / 2], times[1][REPEATS / 2],
           !memcmp(dx[0], dx[1], rows * n * 4) && !memcmp(dw[0], dw[1], n * 4) &&
                   !memcmp(db[0], db[1], n * 4) ? "yes" : "NO");
    free(dy), free(x), free(dx[0]), free(dx[1]), free(w), free(dw[0]), free(dw[1]);
    free(db[0]), free(db[1]), free(shift), free(center), free(rstd), free(y[0]), free(y[1]);
    free(ones), free(bias), free(mean[0]), free(mean[1]), free(sd[0]), free(sd[1]);
  }
  return 0;
}
