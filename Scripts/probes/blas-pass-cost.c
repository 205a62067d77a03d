// What the BLAS first pass costs the forward, measured in one process with the variants'
// runs interleaved (so the machine's drift hits them alike):
//
//   blas sum + finish    the package's scheme in plain C: per 32 KiB block, a cblas_ssum
//                        per row (the mean), then per row the moments of x - mean and the
//                        write, prefetching the next block while the block computes
//   blas dot + finish    the same with the mean from cblas_sdot against a vector of ones
//                        (the package before ssum: two streams read instead of one)
//   c sum + finish       the same with the row sum in C, fused per row
//   one read moments     no first pass: the moments of x - x[0] in one read of the row
//                        (not the package: its error grows with (x[0] - mean)^2 / var)
//   stream only          a read and a non-temporal write of the same bytes: the floor
//
//   Scripts/probe.sh blas-pass-cost [ROWSxCOLS ...]   (default 32768x128 16384x256 5461x768)
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "probe.h"

// Moments of x - shift, then y = ((x - shift) - c) * rstd * w + b, streamed out.
static AVX2 void finish_row(const float *x, float *y, long n, float shift, const float *w,
                            const float *b) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, q0 = a0, q1 = a0;
  for (long i = 0; i < n; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), s);
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s);
    a0 = _mm256_add_ps(a0, d0);
    a1 = _mm256_add_ps(a1, d1);
    q0 = _mm256_fmadd_ps(d0, d0, q0);
    q1 = _mm256_fmadd_ps(d1, d1, q1);
  }
  const double c = lane_sum(_mm256_add_ps(a0, a1)) / n;
  double variance = lane_sum(_mm256_add_ps(q0, q1)) / n - c * c;
  if (variance < 0) variance = 0;
  const __m256 center = _mm256_set1_ps((float)c);
  const __m256 rstd = _mm256_set1_ps((float)(1 / sqrt(variance + 1e-5)));
  for (long i = 0; i < n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), s), center), rstd);
    v = _mm256_add_ps(_mm256_mul_ps(v, _mm256_loadu_ps(w + i)), _mm256_loadu_ps(b + i));
    stream(y + i, v);
  }
}

static AVX2 float row_sum(const float *x, long n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0;
  for (long i = 0; i < n; i += 16) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
  }
  return (float)lane_sum(_mm256_add_ps(a0, a1));
}

static AVX2 void stream_only(const float *x, float *y, long count) {
  const __m256 a = _mm256_set1_ps(1.5f), c = _mm256_set1_ps(0.5f);
  for (long i = 0; i < count; i += 8) stream(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), a, c));
}

static void prefetch(const void *p, long bytes) {
  for (long k = 0; k < bytes; k += 64) _mm_prefetch((const char *)p + k, _MM_HINT_T0);
}

static const float *ones;

static void run(int variant, const float *x, float *y, long rows, long n, const float *w,
                const float *b) {
  if (variant <= 1) {
    const long block = 8192 / n;
    float sums[1024];
    for (long s = 0; s < rows; s += block) {
      const long count = rows - s < block ? rows - s : block;
      for (long r = 0; r < count; r++) {
        const float *row = x + (s + r) * n;
        sums[r] = variant == 0 ? cblas_ssum((int)n, row, 1) : cblas_sdot((int)n, row, 1, ones, 1);
      }
      const int more = s + 2 * count <= rows;
      for (long r = 0; r < count; r++) {
        if (more) prefetch(x + (s + count + r) * n, n * 4);
        finish_row(x + (s + r) * n, y + (s + r) * n, n, sums[r] / n, w, b);
      }
    }
  } else if (variant == 2 || variant == 3) {
    const long ahead = n * 4 >= 2048 ? 1 : 2048 / (n * 4);
    for (long r = 0; r < rows; r++) {
      if (r + ahead < rows) prefetch(x + (r + ahead) * n, n * 4);
      const float *row = x + r * n;
      finish_row(row, y + r * n, n, variant == 2 ? row_sum(row, n) / n : row[0], w, b);
    }
  } else {
    stream_only(x, y, rows * n);
  }
  _mm_sfence();
}

int main(int argc, char **argv) {
  const char *fallback[] = {"32768x128", "16384x256", "5461x768"};
  const int shapes = argc > 1 ? argc - 1 : 3;
  const int repeats = 30;
  const char *names[] = {"blas sum + finish", "blas dot + finish", "c sum + finish",
                         "one read moments", "stream only"};
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 16)) return 2;
    float *x = aligned_alloc(64, rows * n * 4 + 64), *y = aligned_alloc(64, rows * n * 4 + 64);
    float *w = aligned_alloc(64, n * 4), *b = aligned_alloc(64, n * 4), *one = aligned_alloc(64, n * 4);
    for (long i = 0; i < n; i++) one[i] = 1, w[i] = 1 + 0.01f * i, b[i] = 0.1f;
    for (long i = 0; i < rows * n; i++) x[i] = (float)(i * 7919 % 1000) / 100, y[i] = 0;
    ones = one;
    double times[5][64];
    for (int r = 0; r < repeats; r++)
      for (int v = 0; v < 5; v++) {
        const double start = now_us();
        run(v, x, y, rows, n, w, b);
        times[v][r] = now_us() - start;
      }
    for (int v = 0; v < 5; v++) {
      qsort(times[v], repeats, sizeof(double), by_value);
      printf("%ldx%-6ld %-20s median %7.0f us\n", rows, n, names[v], times[v][repeats / 2]);
    }
    free(x), free(y), free(w), free(b), free(one);
  }
  return 0;
}
