// The fused add-and-normalize as the package drives it for large inputs: each block of rows
// (8192 elements) is added into a scratch block (with a sum output, the sum also streamed
// out), summed per row with BLAS, and finished with lnk_finish_rows_f32 (output streamed).
// Two places to fetch the next block's two inputs: during the add, or in passes 2 and 3
// (lnk_finish_rows spreads them along the rows, into L2: the package's choice for
// LayerNorm); each with and without the sum output; and one pass that reads two arrays and
// streams two out, for scale. Built with the package's own kernels and OpenBLAS; the
// variants run interleaved in one process, the order rotated every repetition.
//
//   Scripts/probe.sh fused-add-fetch [ROWSxCOLS ...]   (default 32768x128 16384x256 8192x512 4096x768)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe.h"
#include "_LayerNormKernels.h"

enum { BLOCK = 8192, VARIANTS = 5, REPEATS = 25 };

static float scratch[BLOCK] __attribute__((aligned(64)));

static void fused_add(const float *x, const float *res, float *sum, float *y, long rows, long n,
                      const float *w, const float *b, int in_passes) {
  long block = BLOCK / n;
  block = block < 1 ? 1 : block;
  double sums[BLOCK];
  ptrdiff_t extreme[BLOCK];
  for (long start = 0; start < rows; start += block) {
    const long count = rows - start < block ? rows - start : block, at = start * n;
    const long next = start + count, next_count = rows - next < block ? rows - next : block;
    const int ahead = !in_passes && start + 2 * count <= rows;
    lnk_add_f32(x + at, res + at, scratch, count * n, sum ? sum + at : NULL, ahead ? count * n : 0);
    for (long r = 0; r < count; r++) sums[r] = cblas_ssum(n, scratch + r * n, 1);
    const int fetch = in_passes && next_count > 0;
    lnk_finish_rows_f32(scratch, y + at, count, n, sums, 1e-5, 1, w, b, NULL, NULL, 1, 0,
                        fetch ? x + next * n : NULL, fetch ? res + next * n : NULL,
                        fetch ? next_count * n * 4 : 0, extreme);
  }
  _mm_sfence();
}

static AVX2 void floor_loop(const float *x, const float *res, float *sum, float *y, long count) {
  for (long i = 0; i < count; i += 8) {
    const __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(res + i));
    stream(sum + i, v);
    stream(y + i, _mm256_mul_ps(v, v));
  }
  _mm_sfence();
}

int main(int argc, char **argv) {
  const char *fallback[] = {"32768x128", "16384x256", "8192x512", "4096x768"};
  const int shapes = argc > 1 ? argc - 1 : 4;
  const char *names[VARIANTS] = {"sum out, fetch during the add", "sum out, fetch in passes 2 and 3",
                                 "one pass: 2 reads, 2 streamed writes",
                                 "no sum, fetch during the add", "no sum, fetch in passes 2 and 3"};
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 16)) return 2;
    if (n > BLOCK) { fprintf(stderr, "rows of at most %d elements\n", BLOCK); return 2; }
    const long total = rows * n;
    float *x = aligned_alloc(64, total * 4), *res = aligned_alloc(64, total * 4);
    float *sum = aligned_alloc(64, total * 4), *y = aligned_alloc(64, total * 4);
    float *w = aligned_alloc(64, n * 4), *b = aligned_alloc(64, n * 4);
    for (long i = 0; i < total; i++) x[i] = (float)(i % 1000) / 100, res[i] = (float)(i % 77) / 10, sum[i] = y[i] = 0;
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * (i % 100), b[i] = 0.1f;
    double times[VARIANTS][REPEATS];
    for (int r = 0; r < REPEATS; r++)
      for (int turn = 0; turn < VARIANTS; turn++) {
        const int v = (turn + r) % VARIANTS;
        const double start = now_us();
        if (v == 2) floor_loop(x, res, sum, y, total);
        else fused_add(x, res, v < 2 ? sum : NULL, y, rows, n, w, b, v == 1 || v == 4);
        times[v][r] = now_us() - start;
      }
    for (int v = 0; v < VARIANTS; v++) {
      qsort(times[v], REPEATS, sizeof(double), by_value);
      printf("%ldx%-6ld %-36s median %7.0f us\n", rows, n, names[v], times[v][REPEATS / 2]);
    }
    free(x), free(res), free(sum), free(y), free(w), free(b);
  }
  return 0;
}
