// What the probes share: a clock, a comparison for qsort, and the AVX2 pieces that the
// package's kernels use (16-byte non-temporal stores, lane sums in Double).
#ifndef PROBE_H
#define PROBE_H

#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define AVX2 __attribute__((target("avx2,fma")))

static inline double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}

// Reads "ROWSxCOLS" into *rows and *cols: 1, or 0 after saying why on stderr unless both
// are positive and COLS is a multiple of `multiple`.
static inline int parse_shape(const char *text, long *rows, long *cols, long multiple) {
  if (sscanf(text, "%ldx%ld", rows, cols) == 2 && *rows > 0 && *cols > 0 && *cols % multiple == 0)
    return 1;
  fprintf(stderr, "shapes are ROWSxCOLS with COLS a multiple of %ld, not %s\n", multiple, text);
  return 0;
}

static inline int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static inline AVX2 void stream(float *p, __m256 v) {
  _mm_stream_ps(p, _mm256_castps256_ps128(v));
  _mm_stream_ps(p + 4, _mm256_extractf128_ps(v, 1));
}

static inline AVX2 double lane_sum(__m256 v) {
  const __m256d d = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                                  _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  const __m128d p = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));
  return _mm_cvtsd_f64(_mm_add_sd(p, _mm_unpackhi_pd(p, p)));
}

#endif
