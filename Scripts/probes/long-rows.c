// Long rows (128 KiB and more): the forward's row-at-a-time scheme (a BLAS sum of the row,
// then lnk_finish_rows with the next row fetched along) against the long-row scheme the
// package uses for them: statistics a 16 KiB chunk at a time while the chunk is in L1
// (its BLAS sum, then its moments, fetching the next chunk), merged in Double, and a write
// pass that goes column chunk by column chunk over a 1 MiB group of rows, two rows a call,
// so that weight and bias are read once per pair of rows of a group, not once per row.
// Also: the long-row scheme writing a row a call, with one row per group, and the floor
// (one read, one write). Built with the package's own kernels (Sources/_LayerNormKernels)
// and OpenBLAS; the variants run interleaved in one process, the order rotated every
// repetition.
//
//   Scripts/probe.sh long-rows [ROWSxCOLS ...]   (default 16x65536 32x32768 256x65536)
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe.h"
#include "_LayerNormKernels.h"

enum { CHUNK = 4096, GROUP_BYTES = 1 << 20, VARIANTS = 5 };

typedef struct { float shift, center, rstd; } stats;

static void row_at_a_time(const float *x, float *y, long rows, long n, const float *w,
                           const float *b, int streaming) {
  ptrdiff_t extreme[1];
  for (long r = 0; r < rows; r++) {
    const double sum = cblas_ssum(n, x + r * n, 1);
    const float *next = r + 1 < rows ? x + (r + 1) * n : NULL;
    lnk_finish_rows_f32(x + r * n, y + r * n, 1, n, &sum, 1e-5, 1, w, b, NULL, NULL, streaming, 0,
                        next, NULL, next ? n * 4 : 0, extreme);
  }
}

// As chunkedLayerStatistics in Sources/LayerNormalization/Kernels/RowStatistics.swift.
static stats chunked_statistics(const float *x, long n, int fetch) {
  double reference = 0, merged = 0, offset = 0, squares = 0;
  for (long start = 0; start < n; start += CHUNK) {
    const long length = n - start < CHUNK ? n - start : CHUNK;
    const double count = (double)length;
    const float m = (float)(cblas_ssum(length, x + start, 1) / count);
    if (start == 0) reference = m;
    double c, q;
    lnk_moments_f32(x + start, m, length, &c, &q,
                    fetch && start + 2 * CHUNK <= n ? x + start + CHUNK : NULL);
    const double total = merged + count, delta = ((m - reference) + c / count) - offset;
    offset += delta * (count / total);
    squares += fmax(q - c * (c / count), 0) + delta * delta * (merged * count / total);
    merged = total;
  }
  const float shift = (float)(reference + offset);
  return (stats){shift, (float)((reference - shift) + offset), (float)(1 / sqrt(squares / n + 1e-5))};
}

// `pairs`: the write takes two rows a call (lnk_normalize_pair_f32), as the package does.
static void long_rows(const float *x, float *y, long rows, long n, const float *w,
                       const float *b, int streaming, long group, int fetch,
                      int pairs) {
  stats s[64];
  for (long g = 0; g < rows; g += group) {
    const long count = rows - g < group ? rows - g : group;
    for (long r = 0; r < count; r++) s[r] = chunked_statistics(x + (g + r) * n, n, fetch);
    for (long start = 0; start < n; start += CHUNK) {
      const long length = n - start < CHUNK ? n - start : CHUNK;
      long r = 0;
      for (; pairs && r + 2 <= count; r += 2) {
        const long at = (g + r) * n + start;
        lnk_normalize_pair_f32(x + at, y + at, s[r].shift, s[r].center, s[r].rstd, x + at + n,
                               y + at + n, s[r + 1].shift, s[r + 1].center, s[r + 1].rstd,
                               length, w + start, b + start, streaming);
      }
      for (; r < count; r++) {
        const long at = (g + r) * n + start;
        lnk_normalize_f32(x + at, y + at, length, s[r].shift, s[r].center, s[r].rstd,
                          w + start, b + start, streaming, NULL);
      }
    }
  }
}

static AVX2 void floor_loop(const float *x, float *y, long count, int streaming) {
  const __m256 a = _mm256_set1_ps(0.5f);
  for (long i = 0; i < count; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), a);
    if (streaming) stream(y + i, v); else _mm256_storeu_ps(y + i, v);
  }
}

int main(int argc, char **argv) {
  const char *fallback[] = {"16x65536", "32x32768", "256x65536"};
  const int shapes = argc > 1 ? argc - 1 : 3;
  const int repeats = 21;
  const char *names[VARIANTS] = {"row at a time", "long-row scheme (package)",
                                 "long-row scheme, a row a call", "long-row scheme, 1-row groups",
                                 "floor: 1 read, 1 write"};
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 16)) return 2;
    float *x = aligned_alloc(64, rows * n * 4), *y = aligned_alloc(64, rows * n * 4);
    float *w = aligned_alloc(64, n * 4), *b = aligned_alloc(64, n * 4);
    for (long i = 0; i < rows * n; i++) x[i] = (float)(i * 7919 % 1000) / 100, y[i] = 0;
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * (i % 100), b[i] = 0.1f;
    const int streaming = rows * n * 4 >= (8 << 20);  // as the package decides
    long group = GROUP_BYTES / (n * 4);
    group = group < 1 ? 1 : group > 64 ? 64 : group;
    double times[VARIANTS][64];
    for (int r = 0; r < repeats; r++)
      for (int turn = 0; turn < VARIANTS; turn++) {
        const int v = (turn + r) % VARIANTS;
        const double start = now_us();
        switch (v) {
        case 0: row_at_a_time(x, y, rows, n, w, b, streaming); break;
        case 1: long_rows(x, y, rows, n, w, b, streaming, group, 1, 1); break;
        case 2: long_rows(x, y, rows, n, w, b, streaming, group, 1, 0); break;
        case 3: long_rows(x, y, rows, n, w, b, streaming, 1, 1, 0); break;
        default: floor_loop(x, y, rows * n, streaming);
        }
        _mm_sfence();
        times[v][r] = now_us() - start;
      }
    for (int v = 0; v < VARIANTS; v++) {
      qsort(times[v], repeats, sizeof(double), by_value);
      printf("%ldx%-6ld %-34s median %7.0f us\n", rows, n, names[v], times[v][repeats / 2]);
    }
    free(x), free(y), free(w), free(b);
  }
  return 0;
}
