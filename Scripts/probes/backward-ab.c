// The package's backward kernel (lnk_backward_rows_f32, built from Sources/_LayerNormKernels)
// against the same kernel from an earlier commit (its symbols renamed old_*), interleaved
// in one process, 31 repetitions, the order alternating: the way to tell a few per cent
// on this machine, where separate runs drift by more than that. Also checks that the two
// give the same bits (dx, dweight, dbias). Blocks of rows as the package hands them over.
//
//   Scripts/probe.sh backward-ab REV [ROWSxCOLS ...]   (default 512x16384 2048x4096 32768x128)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "_LayerNormKernels.h"

void old_lnk_backward_rows_f32(const float *dy, const float *x, float *dx, ptrdiff_t rows,
                               ptrdiff_t n, const float *shift, const float *center,
                               const float *rstd, int centered, const float *w, float *dw,
                               float *db, int streaming);

typedef void (*kernel)(const float *, const float *, float *, ptrdiff_t, ptrdiff_t,
                       const float *, const float *, const float *, int, const float *,
                       float *, float *, int);

enum { REPEATS = 31 };

int main(int argc, char **argv) {
  const char *fallback[] = {"512x16384", "2048x4096", "32768x128"};
  const int shapes = argc > 1 ? argc - 1 : 3;
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (sscanf(argc > 1 ? argv[k + 1] : fallback[k], "%ldx%ld", &rows, &n) != 2) {
      fprintf(stderr, "shapes are ROWSxCOLS\n");
      return 2;
    }
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
    const kernel kernels[2] = {lnk_backward_rows_f32, old_lnk_backward_rows_f32};
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
    printf("%ldx%-6ld this tree %7.0f us, earlier commit %7.0f us (medians); same bits: %s\n",
           rows, n, times[0][REPEATS / 2], times[1][REPEATS / 2],
           !memcmp(dx[0], dx[1], rows * n * 4) && !memcmp(dw[0], dw[1], n * 4) &&
                   !memcmp(db[0], db[1], n * 4) ? "yes" : "NO");
    free(dy), free(x), free(dx[0]), free(dx[1]), free(w), free(dw[0]), free(dw[1]);
    free(db[0]), free(db[1]), free(shift), free(center), free(rstd);
  }
  return 0;
}
