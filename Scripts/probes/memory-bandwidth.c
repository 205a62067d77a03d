// The memory yardsticks the README compares the kernels with: one thread copying, reading,
// and reading while writing with ordinary or non-temporal stores, over arrays of N floats.
//
//   Scripts/probe.sh memory-bandwidth [N ...]
//
// (default: 4194304 and 8000000 floats, the benchmark's 32768x128 and 1000000x8).
//
// Prints the median of repeated runs of each loop and the bytes moved per second (reads
// plus writes). Built with -O2 and an AVX2 function attribute, as the package's kernels.
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe.h"

static AVX2 void scale_streaming(const float *x, float *y, size_t n) {
  const __m256 a = _mm256_set1_ps(1.5f), b = _mm256_set1_ps(0.5f);
  for (size_t i = 0; i < n; i += 8) _mm256_stream_ps(y + i, _mm256_fmadd_ps(_mm256_load_ps(x + i), a, b));
  _mm_sfence();
}

static AVX2 void scale_ordinary(const float *x, float *y, size_t n) {
  const __m256 a = _mm256_set1_ps(1.5f), b = _mm256_set1_ps(0.5f);
  for (size_t i = 0; i < n; i += 8) _mm256_store_ps(y + i, _mm256_fmadd_ps(_mm256_load_ps(x + i), a, b));
}

static AVX2 float read_only(const float *x, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  for (size_t i = 0; i < n; i += 16) {
    s0 = _mm256_add_ps(s0, _mm256_load_ps(x + i));
    s1 = _mm256_add_ps(s1, _mm256_load_ps(x + i + 8));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(s0, s1));
  return lanes[0];
}

int main(int argc, char **argv) {
  const int repeats = 30;
  for (int arg = 1; arg < argc; arg++) {
    const size_t n = (size_t)atol(argv[arg]) / 16 * 16;
    float *x = aligned_alloc(64, n * 4), *y = aligned_alloc(64, n * 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 17), y[i] = 0;
    const char *names[] = {"memcpy", "read only", "read + ordinary stores", "read + non-temporal stores"};
    for (int k = 0; k < 4; k++) {
      double times[repeats];
      volatile float sink = 0;
      for (int r = 0; r < repeats; r++) {
        const double start = now_us();
        if (k == 0) memcpy(y, x, n * 4);
        else if (k == 1) sink += read_only(x, n);
        else if (k == 2) scale_ordinary(x, y, n);
        else scale_streaming(x, y, n);
        times[r] = now_us() - start;
      }
      qsort(times, repeats, sizeof(double), by_value);
      const double median = times[repeats / 2];
      const double bytes = (k == 1 ? 4.0 : 8.0) * (double)n;
      printf("%-28s %9zu floats  median %8.0f us  %5.1f GB/s\n", names[k], n, median, bytes / median / 1e3);
    }
    free(x);
    free(y);
  }
  return 0;
}
