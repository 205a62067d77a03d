// Where the Float forward's time goes on rows of up to 512 bytes, against a plain kernel
// that has none of the package's safeguards, run interleaved in one process (the order
// rotated every repetition, so the machine's drift hits them alike):
//
//   stream               a read and a 512-bit streamed write of the same bytes: the floor
//   plain kernel         per row: moments about x[0] in Float (two 512-bit chains), Float
//                        statistics, the write streamed from 512-bit vectors. Its error
//                        grows with (x[0] - mean)^2 / variance, and nothing catches a row
//                        that overflows or a row of Inf
//   + Double sums        the same with the lane sums added in Double (the package's
//                        lnk_moments_f32 about x[0]) and the statistics in Double
//   + rough shift        the same with the package's row moments (lnk_row_moments_f32: the
//                        rough shift, the Double sums, the check that takes the moments
//                        again far from the mean)
//   package              the package's forward over its blocks (forward-scheme.h: groups
//                        of sixteen rows, the next block fetched along, the extreme rows
//                        found)
//
// An input that fits in L2 (1024x128) shows what the arithmetic costs; a large one what
// is left of it once memory is the other bound. Needs AVX-512F.
//
//   Scripts/probe.sh forward-floor [ROWSxCOLS ...]   (default 32768x128 1024x128 65536x64)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forward-scheme.h"
#include "probe.h"

#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define VARIANTS 5
#define REPEATS 41

// FORWARD_BLOCKS names a BLAS sum for rows it hands no sums; this tree hands none.
static float cblas_ssum_unused(long n, const float *x, long stride) {
  (void)n, (void)x, (void)stride;
  abort();
}
FORWARD_FINISH(float, f32)
FORWARD_BLOCKS(package_forward, float, cblas_ssum_unused, THIS_TREE_SUM_BYTES, forward_finish_f32)

static AVX512 void stream_only(const float *x, float *y, long count) {
  const __m512 a = _mm512_set1_ps(1.5f), c = _mm512_set1_ps(0.5f);
  for (long i = 0; i < count; i += 16)
    _mm512_stream_ps(y + i, _mm512_fmadd_ps(_mm512_load_ps(x + i), a, c));
}

// y = ((x - shift) - center) * rstd * w + b, streamed (n a multiple of 16, rows on lines).
static inline AVX512 void write_row(const float *x, float *y, long n, float shift, float center,
                                    float rstd, const float *w, const float *b) {
  const __m512 s = _mm512_set1_ps(shift), c = _mm512_set1_ps(center), r = _mm512_set1_ps(rstd);
  for (long i = 0; i < n; i += 16) {
    __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(_mm512_load_ps(x + i), s), c), r);
    v = _mm512_add_ps(_mm512_mul_ps(v, _mm512_load_ps(w + i)), _mm512_load_ps(b + i));
    _mm512_stream_ps(y + i, v);
  }
}

// The moments of x - shift in Float, two chains of 16 lanes (n a multiple of 32).
static inline AVX512 void float_moments(const float *x, long n, float shift, float *sum,
                                        float *squares) {
  const __m512 s = _mm512_set1_ps(shift);
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, q0 = a0, q1 = a0;
  for (long i = 0; i < n; i += 32) {
    const __m512 d0 = _mm512_sub_ps(_mm512_load_ps(x + i), s);
    const __m512 d1 = _mm512_sub_ps(_mm512_load_ps(x + i + 16), s);
    a0 = _mm512_add_ps(a0, d0), a1 = _mm512_add_ps(a1, d1);
    q0 = _mm512_fmadd_ps(d0, d0, q0), q1 = _mm512_fmadd_ps(d1, d1, q1);
  }
  *sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  *squares = _mm512_reduce_add_ps(_mm512_add_ps(q0, q1));
}

// variant 1: plain; 2: Double sums about x[0]; 3: the package's row moments.
static AVX512 void rows(int variant, const float *x, float *y, long count, long n,
                        const float *w, const float *b) {
  for (long r = 0; r < count; r++) {
    const float *row = x + r * n;
    if (variant == 1) {
      float sum, squares;
      float_moments(row, n, row[0], &sum, &squares);
      const float c = sum / n, variance = squares / n - c * c;
      write_row(row, y + r * n, n, row[0], c, 1 / sqrtf(fmaxf(variance, 0) + 1e-5f), w, b);
    } else {
      float shift = row[0];
      double sum, squares;
      if (variant == 2) lnk_moments_f32(row, shift, n, &sum, &squares, NULL);
      else lnk_row_moments_f32(row, n, NULL, &shift, &sum, &squares);
      const double c = sum / n, variance = squares / n - c * c;
      write_row(row, y + r * n, n, shift, (float)c, (float)(1 / sqrt(fmax(variance, 0) + 1e-5)),
                w, b);
    }
  }
}

int main(int argc, char **argv) {
  if (!__builtin_cpu_supports("avx512f")) {
    fprintf(stderr, "forward-floor needs AVX-512F\n");
    return 2;
  }
  const char *fallback[] = {"32768x128", "1024x128", "65536x64"};
  const int shapes = argc > 1 ? argc - 1 : 3;
  const char *names[VARIANTS] = {"stream", "plain kernel", "+ Double sums", "+ rough shift",
                                 "package"};
  for (int k = 0; k < shapes; k++) {
    long count = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &count, &n, 32)) return 2;
    if (n > 128) { fprintf(stderr, "rows of at most 128 elements (the groups of 16)\n"); return 2; }
    const size_t bytes = count * n * sizeof(float);
    float *x = aligned_alloc(64, bytes), *y = aligned_alloc(64, bytes);
    float *w = aligned_alloc(64, n * sizeof(float)), *b = aligned_alloc(64, n * sizeof(float));
    float *mean = malloc(count * sizeof(float)), *rstd = malloc(count * sizeof(float));
    for (long i = 0; i < count * n; i++) x[i] = (float)(i * 7919 % 1000) / 100;
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * (i % 100), b[i] = 0.01f * (i % 7);
    memset(y, 0, bytes);
    // An input that fits in L2 is run several times a repetition (about 4 MiB in all).
    const int calls = bytes < (1 << 20) ? (int)((4 << 20) / bytes) : 1;
    double times[VARIANTS][REPEATS];
    for (int r = 0; r < REPEATS; r++)
      for (int turn = 0; turn < VARIANTS; turn++) {
        const int v = (turn + r) % VARIANTS;
        const double start = now_us();
        for (int c = 0; c < calls; c++) {
          if (v == 0) stream_only(x, y, count * n);
          else if (v < 4) rows(v, x, y, count, n, w, b);
          else package_forward(x, y, count, n, w, b, mean, rstd, 1);
          _mm_sfence();
        }
        times[v][r] = (now_us() - start) / calls;
      }
    for (int v = 0; v < VARIANTS; v++) {
      qsort(times[v], REPEATS, sizeof(double), by_value);
      printf("%ldx%-5ld %-16s median %8.1f us  %6.1f ns a row\n", count, n, names[v],
             times[v][REPEATS / 2], times[v][REPEATS / 2] * 1000 / count);
    }
    free(x), free(y), free(w), free(b), free(mean), free(rstd);
  }
  return 0;
}
