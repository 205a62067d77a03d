// The fused add-and-normalize as the package drives it for large inputs: each block of rows
// is added into a scratch block (with a sum output, the sum also streamed out), summed per
// row with BLAS, and finished with lnk_finish_rows_f32 (output streamed). With a sum output
// the blocks are 8192 elements (32 KiB); without one the package takes 4 KiB blocks (at
// least a row) that fetch the inputs 16 KiB on (ForwardKernel.swift, fusedAddScratchBytes).
// Places to fetch later inputs: during the add, or in passes 2 and 3 (lnk_finish_rows
// spreads them along the rows, into L2: the package's choice for LayerNorm); each with and
// without the sum output, and the block sizes and distances beside each other. For scale,
// one pass that reads two arrays and streams one or two out, and the one-stream pass that
// also stores each sum into a ring in L1 of 32 or 4 KiB (the cost of a scratch block that
// the reads push out of L1). Built with the package's own kernels and OpenBLAS; the
// variants run interleaved in one process, the order rotated every repetition.
//
//   Scripts/probe.sh fused-add-fetch [ROWSxCOLS ...]   (default 32768x128 16384x256 8192x512 4096x768)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe.h"
#include "_LayerNormKernels.h"

enum { BLOCK = 8192, SMALL_BYTES = 4096, AHEAD_BYTES = 16384, VARIANTS = 10, REPEATS = 25 };

static float scratch[BLOCK] __attribute__((aligned(64)));

// `block_elements` a block (at least one row); the inputs `distance` blocks on are fetched
// during the add or (`in_passes`) in passes 2 and 3.
static void fused_add(const float *x, const float *res, float *sum, float *y, long rows, long n,
                      const float *w, const float *b, long block_elements, long distance,
                      int in_passes) {
  long block = block_elements / n;
  block = block < 1 ? 1 : block;
  double sums[BLOCK];
  ptrdiff_t extreme[BLOCK];
  for (long start = 0; start < rows; start += block) {
    const long count = rows - start < block ? rows - start : block, at = start * n;
    const long next = start + distance * count;
    const long next_count = next >= rows ? 0 : rows - next < block ? rows - next : block;
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

// One pass: the sum streamed to `sum` (when not NULL) and its square to y; with `ring`
// (a power of two, in elements) the sum is also stored into scratch, `ring` elements
// round.
static AVX2 void floor_loop(const float *x, const float *res, float *sum, float *y, long count,
                            long ring) {
  for (long i = 0; i < count; i += 8) {
    const __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(res + i));
    if (ring) _mm256_store_ps(scratch + (i & (ring - 1)), v);
    if (sum) stream(sum + i, v);
    stream(y + i, _mm256_mul_ps(v, v));
  }
  _mm_sfence();
}

int main(int argc, char **argv) {
  const char *fallback[] = {"32768x128", "16384x256", "8192x512", "4096x768"};
  const int shapes = argc > 1 ? argc - 1 : 4;
  const char *names[VARIANTS] = {"sum out, 32 KiB blocks, fetch during the add",
                                 "sum out, 32 KiB blocks, fetch in passes 2 and 3",
                                 "one pass: 2 reads, 2 streamed writes",
                                 "no sum, 32 KiB blocks, fetch during the add",
                                 "no sum, 32 KiB blocks, next block in passes 2, 3",
                                 "no sum, 4 KiB blocks, 16 KiB on in passes 2, 3",
                                 "no sum, 4 KiB blocks, next block in passes 2, 3",
                                 "one pass: 2 reads, 1 streamed write",
                                 "one pass, 1 write, sums into a 32 KiB ring",
                                 "one pass, 1 write, sums into a 4 KiB ring"};
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
    const long small = (SMALL_BYTES / 4 / n > 0 ? SMALL_BYTES / 4 / n : 1) * n;
    const long small_distance = AHEAD_BYTES / (small * 4) > 0 ? AHEAD_BYTES / (small * 4) : 1;
    double times[VARIANTS][REPEATS];
    for (int r = 0; r < REPEATS; r++)
      for (int turn = 0; turn < VARIANTS; turn++) {
        const int v = (turn + r) % VARIANTS;
        const double start = now_us();
        if (v == 2) floor_loop(x, res, sum, y, total, 0);
        else if (v >= 7) floor_loop(x, res, NULL, y, total, v == 7 ? 0 : v == 8 ? BLOCK : SMALL_BYTES / 4);
        else if (v >= 5) fused_add(x, res, NULL, y, rows, n, w, b, small, v == 5 ? small_distance : 1, 1);
        else fused_add(x, res, v < 2 ? sum : NULL, y, rows, n, w, b, BLOCK, 1, v == 1 || v == 4);
        times[v][r] = now_us() - start;
      }
    for (int v = 0; v < VARIANTS; v++) {
      qsort(times[v], REPEATS, sizeof(double), by_value);
      printf("%ldx%-6ld %-48s median %7.0f us\n", rows, n, names[v], times[v][REPEATS / 2]);
    }
    free(x), free(res), free(sum), free(y), free(w), free(b);
  }
  return 0;
}
