// The package's worker threads. A call's parts run on the calling thread and on workers
// that keep looking for the next call for a short while after each one before they sleep,
// so that calls coming one after another find them awake: handing a part to a sleeping
// thread costs this VM tens of microseconds (Dispatch: two threads made Float 64x768
// slower than one), to a spinning one well under a microsecond.

#include "_LayerNormKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LNK_PAUSE() _mm_pause()
#else
#define LNK_PAUSE() ((void)0)
#endif

// How long an idle worker keeps looking for the next call before it sleeps.
#define LNK_SPIN_NANOSECONDS 50000
// At most this many workers besides the calling thread, and never more than the processors
// online minus one: a spinning worker without a core of its own only delays the others.
#define LNK_MAX_WORKERS 63

// `state` holds the current call: its generation (bits 32-63), its number of parts (bits
// 16-31) and the next part not yet claimed (bits 0-15). A thread claims a part by
// compare-and-swap on the whole word, so no part of an earlier call can be claimed once a
// later call is published.
#define LNK_STATE(generation, parts) (((uint64_t)(generation) << 32) | ((uint64_t)(parts) << 16))
#define LNK_GENERATION(state) ((uint32_t)((state) >> 32))
#define LNK_PARTS(state) ((uint32_t)(((state) >> 16) & 0xffff))
#define LNK_NEXT(state) ((uint32_t)((state) & 0xffff))

static struct {
  pthread_mutex_t call;  // held by the thread whose call the workers serve
  pthread_mutex_t park;  // with `wake`: where idle workers sleep
  pthread_cond_t wake;
  long online;           // processors online (read once: sysconf reads a file each time)
  long workers;          // started so far (both only under `call`)
  _Atomic uint64_t state;
  _Atomic long done;     // parts of the current call finished
  _Atomic int sleepers;  // workers asleep or about to be
  // The current call, written before its state is published and read only by a thread
  // that has claimed one of its parts (the call cannot end before that part is done).
  void (*body)(void *context, ptrdiff_t part);
  void *context;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static uint64_t lnk_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

// Claims and runs parts of the call of `generation` until none is left.
static void lnk_run_parts(uint32_t generation) {
  uint64_t state = atomic_load_explicit(&pool.state, memory_order_acquire);
  for (;;) {
    if (LNK_GENERATION(state) != generation || LNK_NEXT(state) >= LNK_PARTS(state)) return;
    if (!atomic_compare_exchange_weak_explicit(&pool.state, &state, state + 1,
                                               memory_order_acq_rel, memory_order_acquire))
      continue;
    pool.body(pool.context, (ptrdiff_t)LNK_NEXT(state));
    atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    state = atomic_load_explicit(&pool.state, memory_order_acquire);
  }
}

static void *lnk_worker(void *unused) {
  (void)unused;
  uint32_t seen = LNK_GENERATION(atomic_load(&pool.state));
  for (;;) {
    // Look for the next call for a while, then sleep until one is published.
    uint64_t state = atomic_load_explicit(&pool.state, memory_order_acquire);
    const uint64_t until = lnk_now() + LNK_SPIN_NANOSECONDS;
    for (unsigned spins = 1; LNK_GENERATION(state) == seen; spins++) {
      // Now and then the processor is offered to any other thread: a worker that the
      // scheduler put on its caller's processor (a new thread starts there) would otherwise
      // take half of the caller's time until it is moved.
      if (spins % 256 == 0) sched_yield();
      else LNK_PAUSE();
      if (spins % 64 == 0 && lnk_now() > until) break;
      state = atomic_load_explicit(&pool.state, memory_order_acquire);
    }
    if (LNK_GENERATION(state) == seen) {
      pthread_mutex_lock(&pool.park);
      atomic_fetch_add(&pool.sleepers, 1);
      while (LNK_GENERATION(state = atomic_load(&pool.state)) == seen)
        pthread_cond_wait(&pool.wake, &pool.park);
      atomic_fetch_sub(&pool.sleepers, 1);
      pthread_mutex_unlock(&pool.park);
    }
    seen = LNK_GENERATION(state);
    lnk_run_parts(seen);
  }
  return NULL;
}

int lnk_run_parallel(ptrdiff_t parts, void (*body)(void *context, ptrdiff_t part),
                     void *context) {
  if (parts < 1 || parts > 0xffff) return 0;
  // One call at a time: another thread's call (or a part calling in) gets 0 back.
  if (pthread_mutex_trylock(&pool.call) != 0) return 0;
  if (pool.online == 0) pool.online = sysconf(_SC_NPROCESSORS_ONLN);
  long wanted = parts - 1;
  if (wanted > pool.online - 1) wanted = pool.online - 1;
  if (wanted > LNK_MAX_WORKERS) wanted = LNK_MAX_WORKERS;
  while (pool.workers < wanted) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, lnk_worker, NULL) != 0) break;  // the caller runs
    pthread_detach(thread);                                           // what none claims
    pool.workers++;
  }
  pool.body = body;
  pool.context = context;
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  const uint32_t generation = LNK_GENERATION(atomic_load(&pool.state)) + 1;
  atomic_store(&pool.state, LNK_STATE(generation, parts));
  if (atomic_load(&pool.sleepers) > 0) {
    pthread_mutex_lock(&pool.park);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.park);
  }
  lnk_run_parts(generation);
  // Parts claimed by workers may still be running.
  while (atomic_load_explicit(&pool.done, memory_order_acquire) < parts) LNK_PAUSE();
  pthread_mutex_unlock(&pool.call);
  return 1;
}
