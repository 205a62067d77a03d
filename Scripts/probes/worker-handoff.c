// The package's worker threads (lnk_run_parallel, Sources/_LayerNormKernels/Workers.c):
// what handing work to them costs, and what a second thread gains on small inputs.
//
//   empty call      a call of two parts that do nothing, the worker awake (spinning)
//   per shape       the forward as the package drives it (a BLAS sum per row, then
//                   lnk_finish_rows over blocks of 8192 elements) over all rows on the
//                   calling thread, over half of them, and in two parts through the workers
//
// The variants run interleaved in one process; medians of 31 repetitions.
//
//   Scripts/probe.sh worker-handoff [ROWSxCOLS ...]   (default 16x768 64x768 256x768 16x65536)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe.h"
#include "_LayerNormKernels.h"

enum { REPEATS = 31 };

struct problem { const float *x, *w, *b; float *y; long rows, n; };

// The forward over rows [first, last), in blocks of 8192 elements, as the package runs it.
static void forward_rows(const struct problem *p, long first, long last) {
  long block = 8192 / p->n;
  block = block < 1 ? 1 : block;
  double sums[8192];
  float mean[8192], rstd[8192];
  ptrdiff_t extreme[8192];
  for (long start = first; start < last; start += block) {
    const long count = last - start < block ? last - start : block;
    for (long r = 0; r < count; r++) sums[r] = cblas_ssum(p->n, p->x + (start + r) * p->n, 1);
    lnk_finish_rows_f32(p->x + start * p->n, p->y + start * p->n, count, p->n, sums, 1e-5, 1,
                        p->w, p->b, mean, rstd, 0, p->rows * p->n * 4 < (8 << 20), NULL, NULL, 0,
                        extreme);
  }
}

static void forward_half(void *context, ptrdiff_t part) {
  const struct problem *p = context;
  forward_rows(p, p->rows * part / 2, p->rows * (part + 1) / 2);
}

static void nothing(void *context, ptrdiff_t part) { (void)context, (void)part; }

int main(int argc, char **argv) {
  static char *defaults[] = {"16x768", "64x768", "256x768", "16x65536"};
  char **shapes = argc > 1 ? argv + 1 : defaults;
  const int count = argc > 1 ? argc - 1 : 4;
  double empty[REPEATS];
  for (int r = 0; r < REPEATS; r++) {
    lnk_run_parallel(2, nothing, NULL);  // wakes the worker
    const double start = now_us();
    for (int c = 0; c < 1000; c++) lnk_run_parallel(2, nothing, NULL);
    empty[r] = (now_us() - start) / 1000;
  }
  qsort(empty, REPEATS, sizeof(double), by_value);
  printf("empty call of two parts: %.3f us (median)\n", empty[REPEATS / 2]);
  for (int k = 0; k < count; k++) {
    long rows, n;
    if (!parse_shape(shapes[k], &rows, &n, 1)) return 2;
    float *x = malloc(rows * n * sizeof(float)), *y = malloc(rows * n * sizeof(float));
    float *w = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    for (long i = 0; i < rows * n; i++) x[i] = (float)(i * 7919 % 1000) / 100;
    for (long i = 0; i < n; i++) w[i] = 1 + 0.01f * (i % 100), b[i] = 0.1f;
    struct problem p = {x, w, b, y, rows, n};
    const long calls = 1 + 4000000 / (rows * n);
    double t[3][REPEATS];
    for (int r = 0; r < REPEATS; r++)
      for (int v = 0; v < 3; v++) {
        const double start = now_us();
        for (long c = 0; c < calls; c++) {
          if (v == 0) forward_rows(&p, 0, rows);
          else if (v == 1) forward_rows(&p, 0, rows / 2);
          else lnk_run_parallel(2, forward_half, &p);
        }
        t[v][r] = (now_us() - start) / calls;
      }
    for (int v = 0; v < 3; v++) qsort(t[v], REPEATS, sizeof(double), by_value);
    printf("%-10s one thread %9.2f us, half the rows %9.2f us, two parts on the workers %9.2f us\n",
           shapes[k], t[0][REPEATS / 2], t[1][REPEATS / 2], t[2][REPEATS / 2]);
    free(x), free(y), free(w), free(b);
  }
  return 0;
}
