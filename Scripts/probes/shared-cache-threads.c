// What a second thread can add: one thread and two threads (a half each) doing the traffic
// of the package's long-row forward on an input that stays in L3 (the input read twice, the
// output written with ordinary stores), a plain copy (read once, write once), and the
// traffic of the forward beyond L3 (read once, the output written with non-temporal
// stores), interleaved in one process, 41 repetitions. On this project's VM the two vCPUs
// share the L3 bandwidth: two threads are at times no faster than one. With 8388608
// elements (32 MiB in, 32 MiB out: the benchmark's 8192x1024, 2048x4096 and 512x16384 in
// Float) the last line is the memory floor of a two-thread forward.
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
  int streamed;
} Job;

// Reads x `reads` times in all (the last read beside the write), writes y (past the caches
// when `streamed`, then a store fence).
static AVX2 void run_job(const Job *job) {
  __m256 total = _mm256_setzero_ps();
  for (int pass = 0; pass < job->reads - 1; pass++)
    for (long i = 0; i < job->count; i += 8) total = _mm256_add_ps(total, _mm256_loadu_ps(job->x + i));
  const __m256 scale = _mm256_set1_ps(1.0001f);
  if (job->streamed) {
    for (long i = 0; i < job->count; i += 8)
      _mm256_stream_ps(job->y + i, _mm256_mul_ps(_mm256_add_ps(_mm256_load_ps(job->x + i), total), scale));
    _mm_sfence();
    return;
  }
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
    // Variants: read twice and written; copied; copied with streamed stores.
    for (int variant = 0; variant < 3; variant++) {
      const int reads = variant == 0 ? 2 : 1, streamed = variant == 2;
      double one[REPEATS], two[REPEATS];
      for (int r = 0; r < REPEATS; r++) {
        const Job all = {x, y, count, reads, streamed};
        double start = now_us();
        run_job(&all);
        one[r] = now_us() - start;
        const Job first = {x, y, count / 2, reads, streamed};
        second = (Job){x + count / 2, y + count / 2, count - count / 2, reads, streamed};
        start = now_us();
        pthread_barrier_wait(&barrier);
        run_job(&first);
        pthread_barrier_wait(&barrier);
        two[r] = now_us() - start;
      }
      qsort(one, REPEATS, sizeof(double), by_value);
      qsort(two, REPEATS, sizeof(double), by_value);
      const char *names[] = {"read twice, written   ", "copied                ",
                             "copied, streamed write"};
      const double bytes = (double)(reads + 1) * count * sizeof(float);
      printf("%ld floats, %s: one thread %7.0f us (%5.1f GB/s), two threads %7.0f us "
             "(%5.1f GB/s, %.2fx)\n", count, names[variant], one[REPEATS / 2],
             bytes / one[REPEATS / 2] / 1e3, two[REPEATS / 2], bytes / two[REPEATS / 2] / 1e3,
             one[REPEATS / 2] / two[REPEATS / 2]);
    }
    free(x), free(y);
  }
  finished = 1;
  pthread_barrier_wait(&barrier);
  pthread_join(thread, NULL);
  return 0;
}
