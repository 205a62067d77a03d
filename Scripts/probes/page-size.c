// The package's forward and backward (Float, one thread, over the package's blocks as
// forward-scheme.h and backward-scheme.h drive them) on buffers of 4 KiB pages against the
// same on 2 MiB pages (madvise(MADV_HUGEPAGE) before the first touch: this machine's
// transparent huge pages are "madvise"), interleaved in one process. NumPy advises huge
// pages for its arrays of 4 MiB or more, so PyTorch's inputs in shared/bench sit on them;
// Swift arrays, and the package's benchmark, do not.
//
//   Scripts/probe.sh page-size [ROWSxCOLS ...]   (default 32768x128 8192x1024 2048x4096)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "probe.h"
#include "backward-scheme.h"
#include "forward-scheme.h"

enum { REPEATS = 31 };

BACKWARD_BLOCKS(float, f32)

FORWARD_FINISH(float, f32)
FORWARD_BLOCKS(forward_f32, float, cblas_ssum, THIS_TREE_SUM_BYTES, forward_finish_f32)

// `count` floats 48 bytes into a 2 MiB-aligned region (where a large Swift array's elements
// start within its page), on huge pages when `huge`, filled with a pattern times `scale`.
static float *buffer(long count, int huge, float scale) {
  const size_t bytes = count * sizeof(float) + (2 << 20);
  char *p = aligned_alloc(2 << 20, bytes);
  if (huge) madvise(p, bytes, MADV_HUGEPAGE);
  float *f = (float *)(p + 48);
  for (long i = 0; i < count; i++) f[i] = scale * (float)(i * 7919 % 1000) / 100;
  return f;
}

static long huge_kib(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

int main(int argc, char **argv) {
  const char *fallback[] = {"32768x128", "8192x1024", "2048x4096"};
  const int shapes = argc > 1 ? argc - 1 : 3;
  for (int k = 0; k < shapes; k++) {
    long rows = 0, n = 0;
    if (!parse_shape(argc > 1 ? argv[k + 1] : fallback[k], &rows, &n, 8)) return 2;
    const long count = rows * n;
    const long before = huge_kib();
    float *x[2], *dy[2], *y[2];
    for (int h = 0; h < 2; h++)
      x[h] = buffer(count, h, 1), dy[h] = buffer(count, h, 0.1f), y[h] = buffer(count, h, 0);
    const long advised = huge_kib() - before;
    float *w = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    float *dw = malloc((count / n + 1) * n * sizeof(float)), *db = malloc((count / n + 1) * n * sizeof(float));
    float *mean = malloc(rows * sizeof(float)), *rstd = malloc(rows * sizeof(float));
    float *center = calloc(rows, sizeof(float));
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * (i % 7), b[i] = 0.01f * (i % 5);
    const int streaming = count * (long)sizeof(float) >= (8 << 20);
    double times[2][2][REPEATS];
    for (int r = 0; r < REPEATS; r++)
      for (int turn = 0; turn < 2; turn++) {
        const int h = (r + turn) % 2;
        double start = now_us();
        forward_f32(x[h], y[h], rows, n, w, b, mean, rstd, streaming);
        lnk_store_fence();
        times[0][h][r] = now_us() - start;
        start = now_us();
        backward_blocks_f32(lnk_backward_rows_f32, dy[h], x[h], y[h], rows, n, mean, center, rstd,
                            w, dw, db, n, streaming, 0);
        times[1][h][r] = now_us() - start;
      }
    printf("%ldx%ld (AnonHugePages grew by %ld MiB; the advised buffers span %ld MiB)\n", rows,
           n, advised >> 10, 3 * (count * (long)sizeof(float) + (2 << 20)) >> 20);
    for (int op = 0; op < 2; op++) {
      for (int h = 0; h < 2; h++) qsort(times[op][h], REPEATS, sizeof(double), by_value);
      const double small = times[op][0][REPEATS / 2], large = times[op][1][REPEATS / 2];
      printf("  %-8s 4 KiB pages %8.0f us, 2 MiB pages %8.0f us (medians): %.2fx\n",
             op ? "backward" : "forward", small, large, small / large);
    }
  }
  return 0;
}
