// Streamed (non-temporal) stores against the loads that follow them, with the output
// placed at different offsets after the inputs modulo 4096 bytes. A streamed store holds
// up any later load whose address matches it in the low 12 bits until the store drains
// (4K aliasing); an output 16-112 bytes after an input puts such a load a few vectors
// after every store. Two arrays allocated one after the other easily sit so.
//
//   forward write   the package's lnk_normalize_f32 (streamed, its loads 128 bytes ahead of
//                   its stores) against a plain streamed loop, the same arithmetic one
//                   vector at a time, over whole arrays (y after x, weight and bias)
//   backward        the package's backward kernel (lnk_backward_rows_f32 over its blocks of
//                   rows, dx after x and dy), with ordinary and with streamed stores
//   fused add       the fused add's first pass, x + residual into a block-sized scratch
//                   and streamed to the sum output (lnk_add_f32 a block at a time, the sum
//                   after x and the residual), against a plain loop streaming each vector
//
// The variants run interleaved in one process.
//
//   Scripts/probe.sh store-aliasing [ROWSxCOLS ...]   (default 4096x768 32768x128)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "_LayerNormKernels.h"

enum { REPEATS = 9 };
static const long offsets[] = {0, 16, 32, 48, 64, 96, 112, 128, 192, 2048, 4080};
enum { OFFSETS = sizeof offsets / sizeof offsets[0] };

// The package's write before it loaded ahead: each vector loaded, computed and streamed.
static AVX2 void plain_streamed_row(const float *x, float *y, long n, float shift, float center,
                                    float rstd, const float *w, const float *b) {
  const __m256 s = _mm256_set1_ps(shift), c = _mm256_set1_ps(center), r = _mm256_set1_ps(rstd);
  for (long i = 0; i < n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), s), c), r);
    v = _mm256_add_ps(_mm256_mul_ps(v, _mm256_loadu_ps(w + i)), _mm256_loadu_ps(b + i));
    stream(y + i, v);
  }
}

static void forward_write(long rows, long n, char *base, const float *w, const float *b) {
  const long bytes = rows * n * 4;
  const float *x = (const float *)(base + 2048);
  double times[OFFSETS][2][REPEATS];
  for (int r = 0; r < REPEATS; r++)
    for (int v = 0; v < OFFSETS; v++)
      for (int plain = 0; plain < 2; plain++) {
        float *y = (float *)(base + bytes + 4096 + 2048 + offsets[v]);
        const double start = now_us();
        for (long k = 0; k < rows; k++) {
          if (plain) plain_streamed_row(x + k * n, y + k * n, n, 0.1f, 0, 1.1f, w, b);
          else lnk_normalize_f32(x + k * n, y + k * n, n, 0.1f, 0, 1.1f, w, b, 1, NULL);
        }
        _mm_sfence();
        times[v][plain][r] = now_us() - start;
      }
  for (int v = 0; v < OFFSETS; v++) {
    for (int p = 0; p < 2; p++) qsort(times[v][p], REPEATS, sizeof(double), by_value);
    printf("%ldx%-6ld forward write, y %4ld bytes after x (mod 4096): package %7.0f us, "
           "plain streamed loop %7.0f us\n", rows, n, offsets[v], times[v][0][REPEATS / 2],
           times[v][1][REPEATS / 2]);
  }
}

static void backward(long rows, long n, char *base, const float *w) {
  const long bytes = rows * n * 4;
  float *dw = aligned_alloc(64, n * 4), *db = aligned_alloc(64, n * 4);
  float *shift = malloc(rows * 4), *center = malloc(rows * 4), *rstd = malloc(rows * 4);
  for (long r = 0; r < rows; r++) shift[r] = 0.1f, center[r] = 0, rstd[r] = 1;
  float *dy = (float *)(base + 2048), *x = (float *)(base + bytes + 4096 + 2048);
  // As backwardBlockRows in Sources/LayerNormalization/Kernels/BackwardKernel.swift.
  long block = (1 << 20) / n;
  block = block > 256 ? 256 : block < 1 ? 1 : block;
  if (rows * n >= 2 * (1 << 15) && block > (rows + 3) / 4) block = (rows + 3) / 4;
  double times[OFFSETS][2][REPEATS];
  for (int r = 0; r < REPEATS; r++)
    for (int v = 0; v < OFFSETS; v++)
      for (int streaming = 0; streaming < 2; streaming++) {
        float *dx = (float *)(base + 2 * bytes + 8192 + 2048 + offsets[v]);
        const double start = now_us();
        for (long b = 0; b < rows; b += block) {
          lnk_backward_rows_f32(dy + b * n, x + b * n, dx + b * n, rows - b < block ? rows - b : block,
                                n, shift + b, center + b, rstd + b, 1, w, dw, db, streaming);
        }
        _mm_sfence();
        times[v][streaming][r] = now_us() - start;
      }
  for (int v = 0; v < OFFSETS; v++) {
    for (int s = 0; s < 2; s++) qsort(times[v][s], REPEATS, sizeof(double), by_value);
    printf("%ldx%-6ld backward, dx %4ld bytes after x and dy (mod 4096): ordinary stores %7.0f us, "
           "streaming %7.0f us\n", rows, n, offsets[v], times[v][0][REPEATS / 2],
           times[v][1][REPEATS / 2]);
  }
  free(dw), free(db), free(shift), free(center), free(rstd);
}

static float scratch[8192] __attribute__((aligned(64)));

static AVX2 void plain_add(const float *a, const float *b, float *y, long n, float *copy) {
  for (long i = 0; i < n; i += 8) {
    const __m256 v = _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    _mm256_storeu_ps(y + i, v);
    stream(copy + i, v);
  }
}

static void fused_add(long rows, long n, char *base) {
  const long bytes = rows * n * 4, total = rows * n;
  const float *x = (const float *)(base + 2048), *r = (const float *)(base + bytes + 4096 + 2048);
  double times[OFFSETS][2][REPEATS];
  for (int k = 0; k < REPEATS; k++)
    for (int v = 0; v < OFFSETS; v++)
      for (int plain = 0; plain < 2; plain++) {
        float *sum = (float *)(base + 2 * bytes + 8192 + 2048 + offsets[v]);
        const double start = now_us();
        for (long at = 0; at < total; at += 8192) {
          const long count = total - at < 8192 ? total - at : 8192;
          if (plain) plain_add(x + at, r + at, scratch, count, sum + at);
          else lnk_add_f32(x + at, r + at, scratch, count, sum + at, 0);
        }
        _mm_sfence();
        times[v][plain][k] = now_us() - start;
      }
  for (int v = 0; v < OFFSETS; v++) {
    for (int p = 0; p < 2; p++) qsort(times[v][p], REPEATS, sizeof(double), by_value);
    printf("%ldx%-6ld fused add, sum %4ld bytes after x and residual (mod 4096): package %7.0f us, "
           "plain streamed loop %7.0f us\n", rows, n, offsets[v], times[v][0][REPEATS / 2],
           times[v][1][REPEATS / 2]);
  }
}

int main(int argc, char **argv) {
  const char *fallback[] = {"4096x768", "32768x128"};
  const int shapes = argc > 1 ? argc - 1 : 2;
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 8)) return 2;
    const long bytes = rows * n * 4;
    char *base = aligned_alloc(4096, 3 * bytes + 3 * 8192);
    memset(base, 0, 3 * bytes + 3 * 8192);
    float *w = aligned_alloc(64, n * 4), *b = aligned_alloc(64, n * 4);
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * (i % 100), b[i] = 0.1f;
    forward_write(rows, n, base, w, b);
    backward(rows, n, base, w);
    fused_add(rows, n, base);
    free(base), free(w), free(b);
  }
  return 0;
}
