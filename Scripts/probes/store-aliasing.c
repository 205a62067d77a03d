// The backward kernel (lnk_backward_rows_f32 over the package's blocks of rows) with its
// input gradient dx placed at different offsets after x and dy modulo 4096 bytes, written
// with ordinary and with non-temporal stores. When a streamed store of dx matches a load
// of x or dy a few vectors ahead in the low 12 bits (4K aliasing), the load waits for the
// store to drain; the package writes dx with ordinary stores at the offsets where that
// costs more than streaming saves (Sources/LayerNormalization/Scalars/VectorKernels.swift).
// x and dy sit at the same offset; the variants run interleaved in one process.
//
//   Scripts/probe.sh store-aliasing [ROWSxCOLS ...]   (default 4096x768 32768x128)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "_LayerNormKernels.h"

enum { REPEATS = 9 };

int main(int argc, char **argv) {
  const char *fallback[] = {"4096x768", "32768x128"};
  const int shapes = argc > 1 ? argc - 1 : 2;
  const long offsets[] = {0, 16, 32, 48, 64, 96, 112, 128, 192, 2048, 4080};
  const int count = sizeof offsets / sizeof offsets[0];
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 8)) return 2;
    const long bytes = rows * n * 4;
    char *base = aligned_alloc(4096, 3 * bytes + 3 * 8192);
    memset(base, 0, 3 * bytes + 3 * 8192);
    float *w = aligned_alloc(64, n * 4), *dw = aligned_alloc(64, n * 4), *db = aligned_alloc(64, n * 4);
    float *shift = malloc(rows * 4), *center = malloc(rows * 4), *rstd = malloc(rows * 4);
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * (i % 100);
    for (long r = 0; r < rows; r++) shift[r] = 0.1f, center[r] = 0, rstd[r] = 1;
    float *dy = (float *)(base + 2048), *x = (float *)(base + bytes + 4096 + 2048);
    // As backwardBlockRows in Sources/LayerNormalization/Kernels/BackwardKernel.swift.
    long block = (1 << 18) / n;
    block = block > 256 ? 256 : block < 1 ? 1 : block;
    double times[16][2][REPEATS];
    for (int r = 0; r < REPEATS; r++)
      for (int v = 0; v < count; v++)
        for (int streaming = 0; streaming < 2; streaming++) {
          float *dx = (float *)(base + 2 * bytes + 8192 + 2048 + offsets[v]);
          const double start = now_us();
          for (long b = 0; b < rows; b += block) {
            memset(dw, 0, n * 4);
            memset(db, 0, n * 4);
            lnk_backward_rows_f32(dy + b * n, x + b * n, dx + b * n, rows - b < block ? rows - b : block,
                                  n, shift + b, center + b, rstd + b, 1, w, dw, db, streaming);
          }
          _mm_sfence();
          times[v][streaming][r] = now_us() - start;
        }
    for (int v = 0; v < count; v++) {
      for (int s = 0; s < 2; s++) qsort(times[v][s], REPEATS, sizeof(double), by_value);
      printf("%ldx%-6ld dx %4ld bytes after x and dy (mod 4096): ordinary stores %7.0f us, "
             "streaming %7.0f us\n", rows, n, offsets[v], times[v][0][REPEATS / 2],
             times[v][1][REPEATS / 2]);
    }
    free(base), free(w), free(dw), free(db), free(shift), free(center), free(rstd);
  }
  return 0;
}
