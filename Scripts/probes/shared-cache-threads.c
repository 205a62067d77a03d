// What a second thread can add on an input that stays in L3: one thread and two threads (a
// half each) doing the traffic of the package's long-row forward there (the input read
// twice, the output written with ordinary stores), and a plain copy (read once, write once),
// interleaved in one process, 41 repetitions. On this project's VM the two vCPUs share the
// L3 bandwidth: two threads are at times no faster than one.
//
//   Scripts/probe.sh shared-cache-threads [ELEMENTS ...]   (default 1048576: 4 MiB of Float)
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe.h"

enum { REPEATS = 41 };

typedef struct {
  const float *x;
  float *y;
  long count;
  int reads;
} Job;

// Reads x `reads` times in all (the last read beside the write), writes y.
static AVX2 void run_job(const Job *job) {
  __m256 total = _mm256_setzero_ps();
  for (int pass = 0; pass < job->reads - 1; pass++)
    for (long i = 0; i < job->count; i += 8) total = _mm256_add_ps(total, _mm256_loadu_ps(job->x + i));
  const __m256 scale = _mm256_set1_ps(1.0001f);
  for (long i = 0; i < job->count; i += 8)
    _mm256_storeu_ps(job->y + i, _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(job->x + i), total), scale));
}

static pthread_barrier_t barrier;
static Job second;
static int finished;

static void *helper(void *unused) {
  (void)unused;
  for (;;) {
    pthread_barrier_wait(&barrier);
    if (finished) return NULL;
    run_job(&second);
    pthread_barrier_wait(&barrier);
  }
}

int main(int argc, char **argv) {
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_t thread;
  pthread_create(&thread, NULL, helper, NULL);
  const int counts = argc > 1 ? argc - 1 : 1;
  for (int c = 0; c < counts; c++) {
    const long count = argc > 1 ? atol(argv[c + 1]) / 16 * 16 : 1048576;
    if (count < 16) { fprintf(stderr, "at least 16 elements\n"); return 2; }
    float *x = aligned_alloc(64, count * sizeof(float)), *y = aligned_alloc(64, count * sizeof(float));
    for (long i = 0; i < count; i++) x[i] = (float)(i % 13), y[i] = 0;
    for (int reads = 2; reads >= 1; reads--) {
      double one[REPEATS], two[REPEATS];
      for (int r = 0; r < REPEATS; r++) {
        const Job all = {x, y, count, reads};
        double start = now_us();
        run_job(&all);
        one[r] = now_us() - start;
        const Job first = {x, y, count / 2, reads};
        second = (Job){x + count / 2, y + count / 2, count - count / 2, reads};
        start = now_us();
        pthread_barrier_wait(&barrier);
        run_job(&first);
        pthread_barrier_wait(&barrier);
        two[r] = now_us() - start;
      }
      qsort(one, REPEATS, sizeof(double), by_value);
      qsort(two, REPEATS, sizeof(double), by_value);
      printf("%ld floats, %s: one thread %7.0f us, two threads %7.0f us (%.2fx)\n", count,
             reads == 2 ? "read twice, written" : "copied             ", one[REPEATS / 2],
             two[REPEATS / 2], one[REPEATS / 2] / two[REPEATS / 2]);
    }
    free(x), free(y);
  }
  finished = 1;
  pthread_barrier_wait(&barrier);
  pthread_join(thread, NULL);
  return 0;
}
