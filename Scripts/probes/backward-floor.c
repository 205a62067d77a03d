// How close the backward can get to memory speed: the package's backward row scheme in
// plain C (pass 1: sum(g), sum(g * xhat) and the weight/bias partials; pass 2: dx streamed
// out, prefetching the next row), the package's own kernel (lnk_backward_rows_f32, built
// from Sources/_LayerNormKernels), the scheme without the prefetch, and the floor: reading
// two arrays and streaming one out. Runs interleaved in one process, the order rotated
// every repetition, so the machine's drift and the order hit them alike.
//
//   Scripts/probe.sh backward-floor [ROWSxCOLS ...]   (default 32768x128 8192x1024)
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "probe.h"
#include "_LayerNormKernels.h"

static AVX2 void backward_row(const float *dy, const float *x, float *dx, long n, float mean,
                              float rstd, const float *w, float *dw, float *db,
                              const float *next_dy, const float *next_x) {
  const __m256 shift = _mm256_set1_ps(mean), r = _mm256_set1_ps(rstd);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
  for (long i = 0; i < n; i += 16) {
    const __m256 xh0 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), shift), r);
    const __m256 xh1 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), shift), r);
    const __m256 d0 = _mm256_loadu_ps(dy + i), d1 = _mm256_loadu_ps(dy + i + 8);
    const __m256 g0 = _mm256_mul_ps(d0, _mm256_loadu_ps(w + i));
    const __m256 g1 = _mm256_mul_ps(d1, _mm256_loadu_ps(w + i + 8));
    a0 = _mm256_add_ps(a0, g0);
    a1 = _mm256_add_ps(a1, g1);
    b0 = _mm256_fmadd_ps(g0, xh0, b0);
    b1 = _mm256_fmadd_ps(g1, xh1, b1);
    if (dw) {
      _mm256_storeu_ps(dw + i, _mm256_fmadd_ps(d0, xh0, _mm256_loadu_ps(dw + i)));
      _mm256_storeu_ps(dw + i + 8, _mm256_fmadd_ps(d1, xh1, _mm256_loadu_ps(dw + i + 8)));
      _mm256_storeu_ps(db + i, _mm256_add_ps(_mm256_loadu_ps(db + i), d0));
      _mm256_storeu_ps(db + i + 8, _mm256_add_ps(_mm256_loadu_ps(db + i + 8), d1));
    }
  }
  const __m256 ca = _mm256_set1_ps((float)(lane_sum(_mm256_add_ps(a0, a1)) / n));
  const __m256 cb = _mm256_set1_ps((float)(lane_sum(_mm256_add_ps(b0, b1)) / n));
  for (long i = 0; i < n; i += 8) {
    if (next_dy && (i * 4 & 63) == 0) {
      _mm_prefetch((const char *)(next_dy + i), _MM_HINT_T0);
      _mm_prefetch((const char *)(next_x + i), _MM_HINT_T0);
    }
    const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), shift), r);
    const __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(w + i));
    stream(dx + i, _mm256_mul_ps(r, _mm256_sub_ps(_mm256_sub_ps(g, ca), _mm256_mul_ps(xh, cb))));
  }
}

static AVX2 void floor_loop(const float *a, const float *b, float *y, long count) {
  for (long i = 0; i < count; i += 8) stream(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
}

int main(int argc, char **argv) {
  const char *fallback[] = {"32768x128", "8192x1024"};
  const int shapes = argc > 1 ? argc - 1 : 2;
  const int repeats = 20;
  const char *names[] = {"scheme in plain C", "package kernel", "without prefetch", "floor: 2 reads, 1 streamed write"};
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 16)) return 2;
    float *dy = aligned_alloc(64, rows * n * 4), *x = aligned_alloc(64, rows * n * 4);
    float *dx = aligned_alloc(64, rows * n * 4), *w = aligned_alloc(64, n * 4);
    float *dw = aligned_alloc(64, n * 4), *db = aligned_alloc(64, n * 4);
    for (long i = 0; i < rows * n; i++) dy[i] = (float)(i % 13) / 10, x[i] = (float)(i * 7919 % 1000) / 100, dx[i] = 0;
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * i;
    float shift[256], center[256], rstd[256];
    for (int k = 0; k < 256; k++) shift[k] = 5, center[k] = 0, rstd[k] = 0.3f;
    double times[4][64];
    for (int r = 0; r < repeats; r++)
      for (int turn = 0; turn < 4; turn++) {
        const int v = (turn + r) % 4;
        const double start = now_us();
        if (v == 3) {
          floor_loop(dy, x, dx, rows * n);
        } else if (v == 1) {
          for (long s = 0; s < rows; s += 256) {
            const long count = rows - s < 256 ? rows - s : 256;  // writes dw, db: no zeroing
            lnk_backward_rows_f32(dy + s * n, x + s * n, dx + s * n, count, n, shift, center, rstd,
                                  1, w, dw, db, 1);
          }
        } else {
          for (long s = 0; s < rows; s += 256) {  // blocks of 256 rows, partials zeroed per block
            for (long j = 0; j < n; j++) dw[j] = db[j] = 0;
            for (long q = s; q < s + 256 && q < rows; q++) {
              const int fetch = q + 1 < rows && v != 2;
              backward_row(dy + q * n, x + q * n, dx + q * n, n, 5, 0.3f, w, dw, db,
                           fetch ? dy + (q + 1) * n : NULL, fetch ? x + (q + 1) * n : NULL);
            }
          }
        }
        _mm_sfence();
        times[v][r] = now_us() - start;
      }
    for (int v = 0; v < 4; v++) {
      qsort(times[v], repeats, sizeof(double), by_value);
      printf("%ldx%-6ld %-34s median %7.0f us\n", rows, n, names[v], times[v][repeats / 2]);
    }
    free(dy), free(x), free(dx), free(w), free(dw), free(db);
  }
  return 0;
}
