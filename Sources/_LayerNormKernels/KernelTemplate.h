// One type-generic body for the AVX2 kernels (and their AVX-512 loops), included once per
// element type by Kernels.c with T, SUFFIX, LANES, the V* (256-bit) and Z* (512-bit)
// intrinsics defined. Not a public header.

#define LNK_CAT2(a, b) a##_##b
#define LNK_CAT(a, b) LNK_CAT2(a, b)
#define LNK_NAME(name) LNK_CAT(name, SUFFIX)

// Lane sums are flushed into Double every this many elements, so that Float lanes add at
// most 128 terms each.
#define LNK_FLUSH 1024

// The lanes of v added in Double, as a tree (a short dependency chain: it sits between a
// row's sums and its statistics).
static inline LNK_TARGET double LNK_NAME(lnk_hsum)(VEC v) { return VHSUM_DOUBLE(v); }

// `ahead`, when not NULL, is memory read next: the loops below fetch half as many bytes
// of it as they read of x, one line per 4 vectors (128 bytes) of x, so that a long row's
// successor streams in while the row is computed from cache. With `also` (a byte offset,
// not 0) the same line of a second region `ahead + also` too, both into L2 only: the fused
// add's next input and residual, which into L1 would push out the block being normalized
// (see lnk_finish_rows). One region goes where lnk_fetch_into_l2 says (`l2`, which each
// loop using this reads first).
#define LNK_AHEAD(i)                                                                   \
  do {                                                                                 \
    if (ahead) {                                                                       \
      const char *line = ahead + (i) * (ptrdiff_t)sizeof(T) / 2;                       \
      if (also) {                                                                      \
        _mm_prefetch(line, _MM_HINT_T1);                                               \
        _mm_prefetch(line + also, _MM_HINT_T1);                                        \
      } else {                                                                         \
        LNK_FETCH(line, l2);                                                           \
      }                                                                                \
    }                                                                                  \
  } while (0)

// A streamed (non-temporal) store holds up any later load whose address matches it in the
// low 12 bits until the store drains (4K aliasing). An output 16-112 bytes after an input
// modulo 4096 (two arrays allocated one after the other easily sit so) puts such a load a
// few vectors after every store: `Scripts/probe.sh store-aliasing`, the forward's write at
// 4096x768 1.9-2.3 against 1.5 ms, the backward 5.9-6.1 against 3.6-3.7 ms (commit
// 0ae4646). There the streamed loops load 128 bytes ahead of their stores instead, which
// elsewhere measured up to 5 % slower (backward rows of 4096 and 8192, kernel-ab), so only
// there. An output exactly 128 bytes after its input (numpy's arrays sat so in
// Scripts/probe.sh forward-vs-torch, where Double 32768x128 took 4.4 ms against 2.3, partly
// from the 512-bit partial lines of lnk_normalize_avx512) is still within the reach of the
// forward's and the fused add's loads, which run four vectors (128 bytes) ahead: kernel-ab
// e4e220f, 64-byte-aligned inputs, outputs 128 bytes after, two runs, the forward with
// look-ahead loads there: Float 32768x128 1281-1309 against 1339-1654 us, 4096x768 624-639
// against 745-762; Double 4096x768 1032-1131 against 1150-1300, 16384x256 1896-1897 against
// 1958-1963; rows 48 bytes into a line (16-byte halves), three runs: Float 32768x128
// 1366-1414 against 1824-1897, Double 2868-3060 against 4084-4170; but rows 32 bytes into a
// line (whole 32-byte stores): Double 32768x128 3059-3981 against 2831-3143 (Float
// 1317-1386 against 1360-1411). The backward, which goes down the row or loads ahead there
// (see lnk_backward_pipelined), ran its Float rows of up to 512 bytes 3-25 % slower at 128
// bytes (65536x64 2121-2234 against 1687-1773 us, 32768x128 1657-1810 against 1493-1709)
// and its Double rows 10-19 % faster (4096x768 2187-2296 against 2714-2790, 32768x128
// 3099-3389 against 3393-3722), so its rows under 1 KiB keep 112; rows of 1 KiB or more
// take 128 (kernel-ab fe49b19, outputs 128 bytes after, two runs: Float 16384x256 1417-1482
// against 1517-1608 us, 4096x768 1026-1030 against 1060-1070; Double 16384x256 3143-3145
// against 3729-3759, 4096x768 2033-2043 against 2466-2555, 32768x128 3138-3283 against
// 3210-3452). A 512-bit look-ahead loop (256 bytes ahead) for the rows that stream from
// 512-bit vectors was slower than the plain 512-bit loop at 128 and 192 bytes (Double
// 16384x256 2302-2526 against 1886-2006 us at 128, 32768x128 3555-4132 against 2611-3323 at
// 192; not kept). Whether `out` sits 1 to `reach` bytes after `in` modulo 4096:
static inline int LNK_NAME(lnk_near_after)(const void *out, const void *in, size_t reach) {
  const size_t offset = ((size_t)out - (size_t)in) & 4095;
  return offset > 0 && offset <= reach;
}
// The reach of the forward's and the fused add's look-ahead loads, and the backward's (by
// its row length).
#define LNK_LOOKAHEAD_REACH 128
#define LNK_BACKWARD_NEAR_REACH(row_bytes) ((row_bytes) >= 1024 ? 128 : 112)

// A streamed row that ends 16 bytes into a vector (4 Float, 2 Double left, at a 16-byte
// boundary) streams those too: an ordinary store into a line that streamed stores share
// made rows of 100 and 764 Float 4-6x and 1.7x slower than rows of 96 and 768 (the
// benchmark, forward, backward and fused add alike).
#define LNK_HALF_LEFT(p, i, n) ((n) - (i) == 16 / (ptrdiff_t)sizeof(T) && ((size_t)((p) + (i)) & 15) == 0)

// Streamed rows of this many bytes or more store their output (the forward's write, the
// backward's dx) in 16-byte halves even where it is 32-byte aligned: with page-aligned
// buffers such rows ran 5-20 % slower than 48 bytes into a line, where the halves were
// already taken. Why is not known. The backward, in a C driver of the package's blocks
// (x, dy and dx page-aligned, one thread, three runs, halves against whole 32-byte
// stores): Float 512x16384 2981-3150 against 3202-3488 us, 2048x8192 5742-5849 against
// 6317-6554, Double 2048x4096 5680-5896 against 6219-6469; shorter rows gained nothing or
// lost (Float 2048x4096 2772-2799 against 2755-2792, 8192x1024 2004-2082 against
// 1930-2001, 4096x768 704-717 against 656-686). The forward (kernel-ab with
// KERNEL_AB_OFFSET=0, two runs): Double 2048x4096 2879-2966 against 3105-3234 us, Float
// 512x16384 1427-1436 against 1492-1533, Float 2048x8192 2791-3057 against 3141-3460,
// Double 2048x8192 6669-7180 against 7063-7561; rows of 4 KiB unchanged. The loads keep
// part of the difference (rows of 32 KiB or more still ran up to 10 % faster 16 or 48
// bytes into a line), and cannot take it: the first pass's lanes are a function of the
// element index, not of the address. That was 32 KiB until 16 KiB rows were measured on
// this Zen 4 machine (kernel-ab 0027c9f with KERNEL_AB_OFFSET=0, two runs, halves from 16
// KiB against from 32 KiB): the forward Float 2048x4096 1961-2001 against 2206-2243 us
// (the benchmark had it at 1.83 ms 48 bytes into a line against 2.40 on lines), Double
// 4096x2048 4891-5206 against 5392-5615, 2048x2048 1961-2399 against 2189-2608; the
// backward Float 2048x4096 4462-4751 against 4693-4987, Double within 1 %. From 8 KiB,
// rows of 8 KiB gained nothing (Float 4096x2048 1414 against 1355, 2048x2048 692 against
// 668), and rows of 4 KiB and under keep whole stores (above).
#define LNK_HALVES_ROW_BYTES (16 * 1024)

// The end of a chunk of the moments loop, shared by the one-row and four-row loops so that
// they round alike: the last whole vectors (at most three) to the chains in rotation, the
// chains added, the last elements one at a time, and the lane sums added into SUM and
// SQUARES in Double. Uses the loop's names: i and end, the chains a0-a3 and q0-q3; ROW is
// the row, SV its shift as a vector and SHIFT as a scalar.
#define LNK_MOMENTS_END(ROW, SV, SHIFT, SUM, SQUARES)                        \
  do {                                                                      \
    if (i + LANES <= end) {                                                 \
      const VEC d = VSUB(VLOAD((ROW) + i), (SV));                           \
      a0 = VADD(a0, d);                                                     \
      q0 = VFMA(d, d, q0);                                                  \
      i += LANES;                                                           \
    }                                                                       \
    if (i + LANES <= end) {                                                 \
      const VEC d = VSUB(VLOAD((ROW) + i), (SV));                           \
      a1 = VADD(a1, d);                                                     \
      q1 = VFMA(d, d, q1);                                                  \
      i += LANES;                                                           \
    }                                                                       \
    if (i + LANES <= end) {                                                 \
      const VEC d = VSUB(VLOAD((ROW) + i), (SV));                           \
      a2 = VADD(a2, d);                                                     \
      q2 = VFMA(d, d, q2);                                                  \
      i += LANES;                                                           \
    }                                                                       \
    a0 = VADD(VADD(a0, a1), VADD(a2, a3));                                  \
    q0 = VADD(VADD(q0, q1), VADD(q2, q3));                                  \
    T tail_sum = 0, tail_squares = 0;                                       \
    for (; i < end; i++) {                                                  \
      T d = (ROW)[i] - (SHIFT);                                             \
      tail_sum += d;                                                        \
      tail_squares += d * d;                                                \
    }                                                                       \
    SUM += LNK_NAME(lnk_hsum)(a0) + (double)tail_sum;                       \
    SQUARES += LNK_NAME(lnk_hsum)(q0) + (double)tail_squares;               \
  } while (0)

static LNK_TARGET void LNK_NAME(lnk_moments_avx2)(const T *x, T shift, ptrdiff_t n,
                                                  double *sum_out, double *squares_out,
                                                  const char *ahead, ptrdiff_t also) {
  const int l2 = lnk_fetch_into_l2();
  const VEC s = VSET1(shift);
  double sum = 0, squares = 0;
  for (ptrdiff_t start = 0; start < n; start += LNK_FLUSH) {
    ptrdiff_t end = start + LNK_FLUSH < n ? start + LNK_FLUSH : n;
    // Four chains of each sum, one vector each a step: with two, the dependent adds and
    // FMAs bound the loop (Double 256x768 and Float 1024x256 in cache 14-16 % and 8 %
    // slower); the last whole vectors go to the chains in the same rotation.
    VEC a0 = VZERO(), a1 = VZERO(), a2 = VZERO(), a3 = VZERO();
    VEC q0 = VZERO(), q1 = VZERO(), q2 = VZERO(), q3 = VZERO();
    ptrdiff_t i = start;
    for (; i + 4 * LANES <= end; i += 4 * LANES) {
      LNK_AHEAD(i);
      const VEC d0 = VSUB(VLOAD(x + i), s), d1 = VSUB(VLOAD(x + i + LANES), s);
      const VEC d2 = VSUB(VLOAD(x + i + 2 * LANES), s), d3 = VSUB(VLOAD(x + i + 3 * LANES), s);
      a0 = VADD(a0, d0);
      a1 = VADD(a1, d1);
      a2 = VADD(a2, d2);
      a3 = VADD(a3, d3);
      q0 = VFMA(d0, d0, q0);
      q1 = VFMA(d1, d1, q1);
      q2 = VFMA(d2, d2, q2);
      q3 = VFMA(d3, d3, q3);
    }
    LNK_MOMENTS_END(x, s, shift, sum, squares);
  }
  *sum_out = sum;
  *squares_out = squares;
}

void LNK_NAME(lnk_moments)(const T *x, T shift, ptrdiff_t n, double *sum, double *squares,
                           const T *next) {
  LNK_NAME(lnk_moments_avx2)(x, shift, n, sum, squares, (const char *)next, 0);
}

// The moments of four consecutive rows (row k at x + k * n) at once, each exactly as
// lnk_moments_avx2 computes it: a 512-bit accumulator holds two of that loop's 256-bit
// chains side by side (lanes 0-7 chain 0 or 2, lanes 8-15 chain 1 or 3), which add the same
// elements in the same order, and the rest (the last whole vectors, the chains added, the
// single elements, the Double sums) runs on the 256-bit halves as there: the same bits. One
// row at a time the loop is bound by its chains (four dependent adds and FMAs per 4 vectors);
// four rows interleaved keep sixteen chains in flight. `rows_ahead`, when not NULL, is row
// 0's region to fetch (row k's at rows_ahead + k * n elements), each as LNK_AHEAD fetches.
static LNK_TARGET512 void LNK_NAME(lnk_moments4_avx512)(const T *x, ptrdiff_t n,
                                                        const T shift[4], double sum[4],
                                                        double squares[4],
                                                        const char *rows_ahead, ptrdiff_t also) {
  const int l2 = lnk_fetch_into_l2();
  const ptrdiff_t row_bytes = n * (ptrdiff_t)sizeof(T);
  ZVEC s[4];
  for (int k = 0; k < 4; k++) {
    s[k] = ZSET1(shift[k]);
    sum[k] = 0;
    squares[k] = 0;
  }
  for (ptrdiff_t start = 0; start < n; start += LNK_FLUSH) {
    const ptrdiff_t end = start + LNK_FLUSH < n ? start + LNK_FLUSH : n;
    ZVEC a01[4], a23[4], q01[4], q23[4];
    for (int k = 0; k < 4; k++) a01[k] = a23[k] = q01[k] = q23[k] = ZSETZERO();
    ptrdiff_t whole = start;  // the elements the 512-bit loop takes
    for (; whole + 4 * LANES <= end; whole += 4 * LANES) {
      for (int k = 0; k < 4; k++) {
        {
          const char *ahead = rows_ahead ? rows_ahead + k * row_bytes : NULL;
          LNK_AHEAD(whole);
        }
        const T *row = x + k * n;
        const ZVEC d01 = ZSUB(ZLOAD(row + whole), s[k]);
        const ZVEC d23 = ZSUB(ZLOAD(row + whole + 2 * LANES), s[k]);
        a01[k] = ZADD(a01[k], d01);
        a23[k] = ZADD(a23[k], d23);
        q01[k] = ZFMA(d01, d01, q01[k]);
        q23[k] = ZFMA(d23, d23, q23[k]);
      }
    }
    for (int k = 0; k < 4; k++) {
      const T *row = x + k * n;
      const VEC sv = VSET1(shift[k]);
      VEC a0 = ZLOW(a01[k]), a1 = ZHIGH(a01[k]), a2 = ZLOW(a23[k]), a3 = ZHIGH(a23[k]);
      VEC q0 = ZLOW(q01[k]), q1 = ZHIGH(q01[k]), q2 = ZLOW(q23[k]), q3 = ZHIGH(q23[k]);
      ptrdiff_t i = whole;
      LNK_MOMENTS_END(row, sv, shift[k], sum[k], squares[k]);
    }
  }
}

// One element, as the vector loop computes it (same operation order, so the head and tail
// round exactly like the body).
#define LNK_ONE(i)                                                      \
  do {                                                                  \
    T v = ((x[i] - shift) - center) * rstd;                             \
    if (w) v = v * w[i];                                                \
    if (b) v = v + b[i];                                                \
    y[i] = v;                                                           \
  } while (0)

// One vector's value at element `index` into `out`; WEXPR and BEXPR see it as `v` and `j`.
#define LNK_VECTOR_VALUE(out, index, WEXPR, BEXPR)                      \
  do {                                                                  \
    const ptrdiff_t j = (index);                                        \
    VEC v = VMUL(VSUB(VSUB(VLOAD(x + j), sh), ce), r);                  \
    WEXPR;                                                              \
    BEXPR;                                                              \
    out = v;                                                            \
  } while (0)

// One vector at element `index`, stored.
#define LNK_VECTOR_STEP(STORE, WEXPR, BEXPR, index)                     \
  do {                                                                  \
    VEC value;                                                          \
    LNK_VECTOR_VALUE(value, index, WEXPR, BEXPR);                       \
    STORE(y + (index), value);                                          \
  } while (0)

// Four vectors a step (one prefetch check per 128 bytes of x), then single vectors.
#define LNK_VECTOR_LOOP(STORE, WEXPR, BEXPR)                            \
  for (; i + 4 * LANES <= n; i += 4 * LANES) {                          \
    LNK_AHEAD(i);                                                       \
    for (ptrdiff_t k = i; k < i + 4 * LANES; k += LANES)                \
      LNK_VECTOR_STEP(STORE, WEXPR, BEXPR, k);                          \
  }                                                                     \
  for (; i + LANES <= n; i += LANES) LNK_VECTOR_STEP(STORE, WEXPR, BEXPR, i);

// Streamed stores with look-ahead loads (see lnk_near_after), for the forward's write and
// the backward's second pass: four vectors a step, each step's values (VALUE(v, index, ...)
// does all of a vector's loads) computed before the previous step's are stored at `out`;
// FETCH(i) once a step. Needs i + 4 * LANES <= n; leaves i after the last whole step.
#define LNK_LOOKAHEAD_STEPS(FETCH, STORE, out, VALUE, ...)               \
  {                                                                      \
    VEC c0, c1, c2, c3;                                                  \
    VALUE(c0, i, ##__VA_ARGS__);                                         \
    VALUE(c1, i + LANES, ##__VA_ARGS__);                                 \
    VALUE(c2, i + 2 * LANES, ##__VA_ARGS__);                             \
    VALUE(c3, i + 3 * LANES, ##__VA_ARGS__);                             \
    for (; i + 8 * LANES <= n; i += 4 * LANES) {                         \
      FETCH(i);                                                          \
      VEC n0, n1, n2, n3;                                                \
      VALUE(n0, i + 4 * LANES, ##__VA_ARGS__);                           \
      VALUE(n1, i + 5 * LANES, ##__VA_ARGS__);                           \
      VALUE(n2, i + 6 * LANES, ##__VA_ARGS__);                           \
      VALUE(n3, i + 7 * LANES, ##__VA_ARGS__);                           \
      STORE((out) + i, c0);                                              \
      STORE((out) + i + LANES, c1);                                      \
      STORE((out) + i + 2 * LANES, c2);                                  \
      STORE((out) + i + 3 * LANES, c3);                                  \
      c0 = n0, c1 = n1, c2 = n2, c3 = n3;                                \
    }                                                                    \
    FETCH(i);                                                            \
    STORE((out) + i, c0);                                                \
    STORE((out) + i + LANES, c1);                                        \
    STORE((out) + i + 2 * LANES, c2);                                    \
    STORE((out) + i + 3 * LANES, c3);                                    \
    i += 4 * LANES;                                                      \
  }

// The forward's write with look-ahead loads: the same values as LNK_VECTOR_LOOP.
#define LNK_STREAM_LOOP(STORE, WEXPR, BEXPR)                             \
  if (i + 4 * LANES <= n)                                                \
    LNK_LOOKAHEAD_STEPS(LNK_AHEAD, STORE, y, LNK_VECTOR_VALUE, WEXPR, BEXPR) \
  for (; i + LANES <= n; i += LANES) LNK_VECTOR_STEP(STORE, WEXPR, BEXPR, i);

// The write in 512-bit vectors, the last elements masked: per element the same operations
// as lnk_normalize_avx2 and LNK_ONE, so the same bits (the "Vector widths" tests compare
// the two). Streamed, a row's 16-byte pieces up to a 64-byte boundary and after its last
// whole vector are streamed 16 bytes at a time, whole lines in between. In cache (ordinary
// stores), against the 256-bit loop (kernel-ab against 986bdeb, two runs): Float 64x768
// 6.8-7.0 against 7.6-7.9 us, 128x1024 17.1-17.2 against 19.4-19.7; Double 64x768
// 11.8-12.7 against 13.7-14.7; in the benchmark the Float forward at 64x768 7.56-7.78
// against 8.85-8.93 us (three alternating runs). Streamed, it depends on the row's length,
// the same way in Float and Double (kernel-ab against 289791b, old/new time, two runs
// unless one value): rows from 768 bytes to 3 KiB 1.07-1.20x faster (Float 16384x192,
// 16384x224, 16384x256, 16384x320, 8192x384, 8192x448, 8192x512, 4096x768; Double
// 32768x128, 16384x192, 16384x224, 16384x256, 16384x320, 8192x384), rows of 256 and 512
// bytes 0.90-0.96x (Float 65536x64, 32768x128, Double 65536x64), rows of 3.5 KiB 0.98-1.13x,
// rows of 4 KiB and more 0.78-1.04x (Float 8192x1024 to 2048x4096, Double 8192x512 to
// 2048x4096). So only rows from 768 bytes to 3 KiB stream from 512-bit vectors. Why longer
// rows lose is not known: a plain streamed copy runs both widths alike beyond L3.
// Those measurements had rows on 64-byte boundaries. A row that starts elsewhere (48 bytes
// into a line, where a Swift array's elements start) streamed its partial lines 16 bytes at
// a time around 512-bit whole lines, and ran up to 1.7x slower than the 256-bit loop, whose
// 16-byte halves fill every line alike; so only rows that start on a 64-byte boundary
// stream from 512-bit vectors. Scripts/probe.sh kernel-ab fabc135 with buffers 48 bytes
// into a page, two runs: Double 32768x128 2797 against 4025 us, 16384x256 2308 against
// 3858, 16384x224 1851-2116 against 3255-3729, 16384x160 1696-1901 against 2011-2611,
// 8192x384 1556-1733 against 1988-1999; Float 8192x512 1069-1081 against 1198-1204, 8192x384
// 811-1004 against 834-878, other Float rows of 768 bytes to 3 KiB within 5 %, Double
// 8192x192 and 16384x96 0-5 % slower. With 64-byte-aligned buffers nothing changes (the same
// rows take the same loop). The fused add in the benchmark with --offset 48, two
// alternating pairs: Double 16384x256 6.7-7.1 against 10.2-10.5 ms, 32768x128 7.6-7.9
// against 9.9-10.9; Float 16384x256 2.06-2.17 against 2.95-3.08.
#define LNK_WIDE_STREAM_MIN_BYTES 768
#define LNK_WIDE_STREAM_MAX_BYTES 3072
static LNK_TARGET512 void LNK_NAME(lnk_normalize_avx512)(const T *x, T *y, ptrdiff_t n,
                                                         T shift, T center, T rstd,
                                                         const T *w, const T *b, int streaming,
                                                         const char *ahead, ptrdiff_t also) {
  const int l2 = lnk_fetch_into_l2();
  const ZVEC sh = ZSET1(shift), ce = ZSET1(center), r = ZSET1(rstd);
  const ptrdiff_t piece = 16 / (ptrdiff_t)sizeof(T);
  ptrdiff_t i = 0;
#define LNK_Z_MASKED(v, index, m)                                                     \
  do {                                                                                \
    v = ZMUL(ZSUB(ZSUB(ZMASKLOAD(x + (index), m), sh), ce), r);                       \
    if (w) v = ZMUL(v, ZMASKLOAD(w + (index), m));                                    \
    if (b) v = ZADD(v, ZMASKLOAD(b + (index), m));                                    \
  } while (0)
#define LNK_Z_STEP(STORE, index, WEXPR, BEXPR)                                        \
  do {                                                                                \
    const ptrdiff_t j = (index);                                                      \
    ZVEC v = ZMUL(ZSUB(ZSUB(ZLOAD(x + j), sh), ce), r);                               \
    WEXPR;                                                                            \
    BEXPR;                                                                            \
    STORE(y + j, v);                                                                  \
  } while (0)
  // As LNK_VECTOR_LOOP: one line of `ahead` per 128 bytes of x.
#define LNK_Z_LOOP(STORE, WEXPR, BEXPR)                                               \
  for (; i + 4 * ZLANES <= n; i += 4 * ZLANES) {                                      \
    LNK_AHEAD(i);                                                                     \
    LNK_AHEAD(i + 2 * ZLANES);                                                        \
    for (ptrdiff_t k = i; k < i + 4 * ZLANES; k += ZLANES)                            \
      LNK_Z_STEP(STORE, k, WEXPR, BEXPR);                                             \
  }                                                                                   \
  for (; i + ZLANES <= n; i += ZLANES) LNK_Z_STEP(STORE, i, WEXPR, BEXPR);
#define LNK_Z_LOOPS(STORE)                                                            \
  if (w && b) { LNK_Z_LOOP(STORE, v = ZMUL(v, ZLOAD(w + j)), v = ZADD(v, ZLOAD(b + j))) } \
  else if (w) { LNK_Z_LOOP(STORE, v = ZMUL(v, ZLOAD(w + j)), (void)0) }                \
  else if (b) { LNK_Z_LOOP(STORE, (void)0, v = ZADD(v, ZLOAD(b + j))) }                \
  else { LNK_Z_LOOP(STORE, (void)0, (void)0) }
  if (streaming) {
    while (i < n && ((size_t)(y + i) & 15) != 0) { LNK_ONE(i); i++; }
    const ZMASK first = (ZMASK)((1u << piece) - 1);
    while (i + piece <= n && ((size_t)(y + i) & 63) != 0) {
      ZVEC v;
      LNK_Z_MASKED(v, i, first);
      ZSTREAM_LOW(y + i, v);
      i += piece;
    }
    LNK_Z_LOOPS(ZSTREAM)
    for (; i + piece <= n; i += piece) {
      ZVEC v;
      LNK_Z_MASKED(v, i, first);
      ZSTREAM_LOW(y + i, v);
    }
    for (; i < n; i++) LNK_ONE(i);
  } else {
    LNK_Z_LOOPS(ZSTORE)
    if (i < n) {
      const ZMASK m = (ZMASK)((1u << (n - i)) - 1);
      ZVEC v;
      LNK_Z_MASKED(v, i, m);
      ZMASKSTORE(y + i, m, v);
    }
  }
#undef LNK_Z_LOOPS
#undef LNK_Z_LOOP
#undef LNK_Z_STEP
#undef LNK_Z_MASKED
}

// Four rows `n` apart written at once in cache (ordinary stores, 512-bit vectors), each
// vector of the weight and bias loaded once for the four: per element the operations of
// lnk_normalize_avx512, so the same bits. For LayerNorm groups of four whose input stays
// in cache with nothing to fetch (see lnk_finish_rows), where the one-row write was most
// of the time (Double 64x768: 60 % of a profile) at three loads to each store. kernel-ab
// 6eb50e5, 64-byte-aligned buffers, two runs: Float 64x768 6.1 against 7.1 us, 256x256
// 10.0 against 12.2-12.3, 128x384 7.1 against 7.7, 32x768 3.4-3.5 against 3.8, 64x512
// 4.1-4.7 against 4.8; Double 128x384 12.1-12.6 against 14.9-15.1, 256x256 18.9-19.4
// against 19.2-19.5. Four rows of 4 KiB or more (with their outputs, more than L1 holds)
// were slower (Double 64x512 11.2-11.4 against 7.8-9.1) or no faster (Double 64x768 14.7
// against 14.2-14.6), so those keep the one-row write.
#define LNK_WRITE4_ROW_BYTES 3072
static LNK_TARGET512 void LNK_NAME(lnk_normalize4_avx512)(const T *x, T *y, ptrdiff_t n,
                                                          const T shift[4], const double center[4],
                                                          const double rstd[4], const T *w,
                                                          const T *b) {
  ZVEC sh[4], ce[4], r[4];
  for (int k = 0; k < 4; k++) {
    sh[k] = ZSET1(shift[k]);
    ce[k] = ZSET1((T)center[k]);
    r[k] = ZSET1((T)rstd[k]);
  }
  ptrdiff_t i = 0;
#define LNK_Z4_STEP(LOAD, STORE, WEXPR, BEXPR)                                         \
  do {                                                                                 \
    const ZVEC wv = WEXPR, bv = BEXPR;                                                 \
    for (int k = 0; k < 4; k++) {                                                      \
      ZVEC v = ZMUL(ZSUB(ZSUB(LOAD(x + k * n + i), sh[k]), ce[k]), r[k]);               \
      if (w) v = ZMUL(v, wv);                                                          \
      if (b) v = ZADD(v, bv);                                                          \
      STORE(y + k * n + i, v);                                                         \
    }                                                                                  \
  } while (0)
#define LNK_Z4_LOAD(p) ZLOAD(p)
#define LNK_Z4_STORE(p, v) ZSTORE((p), (v))
  if (w && b) {
    for (; i + ZLANES <= n; i += ZLANES)
      LNK_Z4_STEP(LNK_Z4_LOAD, LNK_Z4_STORE, ZLOAD(w + i), ZLOAD(b + i));
  } else if (w) {
    for (; i + ZLANES <= n; i += ZLANES)
      LNK_Z4_STEP(LNK_Z4_LOAD, LNK_Z4_STORE, ZLOAD(w + i), ZSETZERO());
  } else if (b) {
    for (; i + ZLANES <= n; i += ZLANES)
      LNK_Z4_STEP(LNK_Z4_LOAD, LNK_Z4_STORE, ZSETZERO(), ZLOAD(b + i));
  } else {
    for (; i + ZLANES <= n; i += ZLANES)
      LNK_Z4_STEP(LNK_Z4_LOAD, LNK_Z4_STORE, ZSETZERO(), ZSETZERO());
  }
  if (i < n) {
    const ZMASK m = (ZMASK)((1u << (n - i)) - 1);
#define LNK_Z4_MASKED_LOAD(p) ZMASKLOAD(p, m)
#define LNK_Z4_MASKED_STORE(p, v) ZMASKSTORE((p), m, (v))
    LNK_Z4_STEP(LNK_Z4_MASKED_LOAD, LNK_Z4_MASKED_STORE, w ? ZMASKLOAD(w + i, m) : ZSETZERO(),
                b ? ZMASKLOAD(b + i, m) : ZSETZERO());
#undef LNK_Z4_MASKED_LOAD
#undef LNK_Z4_MASKED_STORE
  }
#undef LNK_Z4_LOAD
#undef LNK_Z4_STORE
#undef LNK_Z4_STEP
}

static LNK_TARGET void LNK_NAME(lnk_normalize_avx2)(const T *x, T *y, ptrdiff_t n, T shift,
                                                    T center, T rstd, const T *w, const T *b,
                                                    int streaming, const char *ahead,
                                                    ptrdiff_t also) {
  if (lnk_use_avx512() &&
      (!streaming || (n * (ptrdiff_t)sizeof(T) >= LNK_WIDE_STREAM_MIN_BYTES &&
                      n * (ptrdiff_t)sizeof(T) <= LNK_WIDE_STREAM_MAX_BYTES &&
                      ((size_t)y & 63) == 0 &&
                      !LNK_NAME(lnk_near_after)(y, x, LNK_LOOKAHEAD_REACH)))) {
    LNK_NAME(lnk_normalize_avx512)(x, y, n, shift, center, rstd, w, b, streaming, ahead, also);
    return;
  }
  const int l2 = lnk_fetch_into_l2();
  const VEC sh = VSET1(shift), ce = VSET1(center), r = VSET1(rstd);
  ptrdiff_t i = 0;
  if (streaming) {
    // Non-temporal stores need 16-byte alignment: finish any head one element at a time
    // (the caller streams only rows that start aligned, so this is normally empty).
    while (i < n && ((size_t)(y + i) & 15) != 0) { LNK_ONE(i); i++; }
    // The store's form (one 32-byte store or two 16-byte halves, see lnk_stream_f32) chosen
    // once a row: clang left VSTREAM's alignment test at every store of these loops.
#define LNK_STREAMED_LOOPS(STORE)                                                              \
    if (LNK_NAME(lnk_near_after)(y, x, LNK_LOOKAHEAD_REACH)) {                                 \
      if (w && b) { LNK_STREAM_LOOP(STORE, v = VMUL(v, VLOAD(w + j)), v = VADD(v, VLOAD(b + j))) } \
      else if (w) { LNK_STREAM_LOOP(STORE, v = VMUL(v, VLOAD(w + j)), (void)0) }               \
      else if (b) { LNK_STREAM_LOOP(STORE, (void)0, v = VADD(v, VLOAD(b + j))) }               \
      else { LNK_STREAM_LOOP(STORE, (void)0, (void)0) }                                        \
    }                                                                                          \
    else if (w && b) { LNK_VECTOR_LOOP(STORE, v = VMUL(v, VLOAD(w + j)), v = VADD(v, VLOAD(b + j))) } \
    else if (w) { LNK_VECTOR_LOOP(STORE, v = VMUL(v, VLOAD(w + j)), (void)0) }                 \
    else if (b) { LNK_VECTOR_LOOP(STORE, (void)0, v = VADD(v, VLOAD(b + j))) }                 \
    else { LNK_VECTOR_LOOP(STORE, (void)0, (void)0) }
    if (((size_t)(y + i) & 31) == 0 && n * (ptrdiff_t)sizeof(T) < LNK_HALVES_ROW_BYTES) {
      LNK_STREAMED_LOOPS(VSTREAM_WIDE)
    }
    else { LNK_STREAMED_LOOPS(VSTREAM_HALVES) }
#undef LNK_STREAMED_LOOPS
    if (LNK_HALF_LEFT(y, i, n)) {
      const VIMASK m = VTAILMASK(n - i);
      VEC v = VMUL(VSUB(VSUB(VMASKLOAD(x + i, m), sh), ce), r);
      if (w) v = VMUL(v, VMASKLOAD(w + i, m));
      if (b) v = VADD(v, VMASKLOAD(b + i, m));
      VSTREAM_LOW(y + i, v);
      i = n;
    }
  } else {
    if (w && b) { LNK_VECTOR_LOOP(VSTORE, v = VMUL(v, VLOAD(w + j)), v = VADD(v, VLOAD(b + j))) }
    else if (w) { LNK_VECTOR_LOOP(VSTORE, v = VMUL(v, VLOAD(w + j)), (void)0) }
    else if (b) { LNK_VECTOR_LOOP(VSTORE, (void)0, v = VADD(v, VLOAD(b + j))) }
    else { LNK_VECTOR_LOOP(VSTORE, (void)0, (void)0) }
  }
  for (; i < n; i++) LNK_ONE(i);
}

void LNK_NAME(lnk_normalize)(const T *x, T *y, ptrdiff_t n, T shift, T center, T rstd,
                             const T *w, const T *b, int streaming, const void *ahead) {
  LNK_NAME(lnk_normalize_avx2)(x, y, n, shift, center, rstd, w, b, streaming,
                               (const char *)ahead, 0);
}

// One vector of each of two rows at element `index`, sharing the loads of w and b.
#define LNK_PAIR_STEP(STORE, WEXPR, BEXPR, index)                       \
  do {                                                                  \
    const ptrdiff_t j = (index);                                        \
    VEC v0 = VMUL(VSUB(VSUB(VLOAD(x0 + j), sh0), ce0), r0);             \
    VEC v1 = VMUL(VSUB(VSUB(VLOAD(x1 + j), sh1), ce1), r1);             \
    WEXPR;                                                              \
    BEXPR;                                                              \
    STORE(y0 + j, v0);                                                  \
    STORE(y1 + j, v1);                                                  \
  } while (0)
#define LNK_PAIR_LOOP(STORE, WEXPR, BEXPR) \
  for (; i + LANES <= n; i += LANES) LNK_PAIR_STEP(STORE, WEXPR, BEXPR, i);
#define LNK_PAIR_W { const VEC wv = VLOAD(w + j); v0 = VMUL(v0, wv); v1 = VMUL(v1, wv); }
#define LNK_PAIR_B { const VEC bv = VLOAD(b + j); v0 = VADD(v0, bv); v1 = VADD(v1, bv); }

LNK_TARGET void LNK_NAME(lnk_normalize_pair)(const T *x0, T *y0, T shift0, T center0, T rstd0,
                                             const T *x1, T *y1, T shift1, T center1, T rstd1,
                                             ptrdiff_t n, const T *w, const T *b,
                                             int streaming) {
  if (streaming && (((size_t)y0 | (size_t)y1) & 15) != 0) {
    // A row that starts unaligned takes the single-row kernel's head loop.
    LNK_NAME(lnk_normalize_avx2)(x0, y0, n, shift0, center0, rstd0, w, b, streaming, NULL, 0);
    LNK_NAME(lnk_normalize_avx2)(x1, y1, n, shift1, center1, rstd1, w, b, streaming, NULL, 0);
    return;
  }
  const VEC sh0 = VSET1(shift0), ce0 = VSET1(center0), r0 = VSET1(rstd0);
  const VEC sh1 = VSET1(shift1), ce1 = VSET1(center1), r1 = VSET1(rstd1);
  ptrdiff_t i = 0;
  if (streaming) {
    if (w && b) { LNK_PAIR_LOOP(VSTREAM, LNK_PAIR_W, LNK_PAIR_B) }
    else if (w) { LNK_PAIR_LOOP(VSTREAM, LNK_PAIR_W, (void)0) }
    else if (b) { LNK_PAIR_LOOP(VSTREAM, (void)0, LNK_PAIR_B) }
    else { LNK_PAIR_LOOP(VSTREAM, (void)0, (void)0) }
  } else {
    if (w && b) { LNK_PAIR_LOOP(VSTORE, LNK_PAIR_W, LNK_PAIR_B) }
    else if (w) { LNK_PAIR_LOOP(VSTORE, LNK_PAIR_W, (void)0) }
    else if (b) { LNK_PAIR_LOOP(VSTORE, (void)0, LNK_PAIR_B) }
    else { LNK_PAIR_LOOP(VSTORE, (void)0, (void)0) }
  }
  // The last elements (fewer than a vector), as the single-row kernel finishes a row.
  if (i < n) {
    LNK_NAME(lnk_normalize_avx2)(x0 + i, y0 + i, n - i, shift0, center0, rstd0, w ? w + i : NULL,
                                 b ? b + i : NULL, streaming, NULL, 0);
    LNK_NAME(lnk_normalize_avx2)(x1 + i, y1 + i, n - i, shift1, center1, rstd1, w ? w + i : NULL,
                                 b ? b + i : NULL, streaming, NULL, 0);
  }
}

static LNK_TARGET void LNK_NAME(lnk_add_avx2)(const T *a, const T *b, T *y, ptrdiff_t n,
                                              T *copy, ptrdiff_t ahead) {
  const int l2 = lnk_fetch_into_l2();
  ptrdiff_t i = 0;
#define LNK_ADD_FETCH(i)                                                        \
  if (ahead && (((i) * (ptrdiff_t)sizeof(T)) & 63) == 0) {                      \
    LNK_FETCH(a + (i) + ahead, l2);                                             \
    LNK_FETCH(b + (i) + ahead, l2);                                             \
  }
  if (copy && i + 4 * LANES <= n &&
      (LNK_NAME(lnk_near_after)(copy, a, LNK_LOOKAHEAD_REACH) ||
       LNK_NAME(lnk_near_after)(copy, b, LNK_LOOKAHEAD_REACH))) {
    // The streamed copy just after an input (see lnk_near_after): each step's four sums
    // loaded before the previous step's are stored.
    VEC c[4], next[4];
    for (int k = 0; k < 4; k++) c[k] = VADD(VLOAD(a + i + k * LANES), VLOAD(b + i + k * LANES));
    for (; i + 8 * LANES <= n; i += 4 * LANES) {
      LNK_ADD_FETCH(i);
      LNK_ADD_FETCH(i + 2 * LANES);
      for (int k = 0; k < 4; k++)
        next[k] = VADD(VLOAD(a + i + (4 + k) * LANES), VLOAD(b + i + (4 + k) * LANES));
      for (int k = 0; k < 4; k++) {
        VSTORE(y + i + k * LANES, c[k]);
        VSTREAM(copy + i + k * LANES, c[k]);
        c[k] = next[k];
      }
    }
    LNK_ADD_FETCH(i);
    LNK_ADD_FETCH(i + 2 * LANES);
    for (int k = 0; k < 4; k++) {
      VSTORE(y + i + k * LANES, c[k]);
      VSTREAM(copy + i + k * LANES, c[k]);
    }
    i += 4 * LANES;
  }
  if (copy) {
    for (; i + LANES <= n; i += LANES) {
      LNK_ADD_FETCH(i);
      const VEC v = VADD(VLOAD(a + i), VLOAD(b + i));
      VSTORE(y + i, v);
      VSTREAM(copy + i, v);
    }
    if (LNK_HALF_LEFT(copy, i, n)) {
      // The last 16 bytes streamed too (see LNK_HALF_LEFT).
      const VIMASK m = VTAILMASK(n - i);
      const VEC v = VADD(VMASKLOAD(a + i, m), VMASKLOAD(b + i, m));
      VMASKSTORE(y + i, m, v);
      VSTREAM_LOW(copy + i, v);
      return;
    }
    for (; i < n; i++) y[i] = copy[i] = a[i] + b[i];
    return;
  }
  for (; i + LANES <= n; i += LANES) {
    LNK_ADD_FETCH(i);
    VSTORE(y + i, VADD(VLOAD(a + i), VLOAD(b + i)));
  }
  for (; i < n; i++) y[i] = a[i] + b[i];
#undef LNK_ADD_FETCH
}

void LNK_NAME(lnk_add)(const T *a, const T *b, T *y, ptrdiff_t n, T *copy, ptrdiff_t ahead) {
  LNK_NAME(lnk_add_avx2)(a, b, y, n, copy, ahead);
}

static inline int LNK_NAME(lnk_ordinary)(double sum, double squares, ptrdiff_t n) {
  return isfinite(sum) && isfinite(squares) && squares >= LNK_TINY_SQUARES * (double)n;
}

// LayerNorm rows handed no sums (every such row the Swift layer finishes) take their
// moments about a rough shift instead of the rounded mean from a first pass over the row:
// the mean of the row's first LNK_ROUGH_SHIFT_ELEMENTS elements (256-bit vectors at both
// widths, so the same bits), a few loads instead of a pass. About a shift s, var = q - c^2
// with c = mean - s and q the mean of (x - s)^2, and c^2 cancels digits of q: the rough
// shift is kept while c^2 <= var / 2 (q at most 1.5 var, so q's rounding weighs at most
// 1.5 times what it does about the mean); a row where it lies farther from the mean takes
// its moments again about s + c, the rounded mean a first pass would have given, with the
// same accuracy as before and one pass more. For independent normal values of standard
// deviation sigma, c has one below sigma / sqrt(32), and the bound sigma / sqrt(2) is four
// of those: about one row in 16000 pays the pass. Rows whose first elements differ from the
// rest (an outlier there, a sorted row) pay it too. Shorter rows take their rounded mean
// (lnk_first_shift).
#define LNK_ROUGH_SHIFT_ELEMENTS 32
static inline LNK_TARGET T LNK_NAME(lnk_rough_shift)(const T *x) {
  VEC a = VZERO(), b = VZERO();
  for (int i = 0; i < LNK_ROUGH_SHIFT_ELEMENTS; i += 4 * LANES) {
    a = VADD(a, VADD(VLOAD(x + i), VLOAD(x + i + LANES)));
    b = VADD(b, VADD(VLOAD(x + i + 2 * LANES), VLOAD(x + i + 3 * LANES)));
  }
  return (T)(LNK_NAME(lnk_hsum)(VADD(a, b)) / LNK_ROUGH_SHIFT_ELEMENTS);
}

// The sum of a row of fewer than LNK_ROUGH_SHIFT_ELEMENTS elements (for a backward that
// recomputes such a row's statistics, see lnk_row_moments): four accumulators of 256-bit
// vectors in T, added in Double with the last elements.
static inline LNK_TARGET double LNK_NAME(lnk_row_sum)(const T *x, ptrdiff_t n) {
  VEC a0 = VZERO(), a1 = VZERO(), a2 = VZERO(), a3 = VZERO();
  ptrdiff_t i = 0;
  for (; i + 4 * LANES <= n; i += 4 * LANES) {
    a0 = VADD(a0, VLOAD(x + i));
    a1 = VADD(a1, VLOAD(x + i + LANES));
    a2 = VADD(a2, VLOAD(x + i + 2 * LANES));
    a3 = VADD(a3, VLOAD(x + i + 3 * LANES));
  }
  for (; i + LANES <= n; i += LANES) a0 = VADD(a0, VLOAD(x + i));
  double s = LNK_NAME(lnk_hsum)(VADD(VADD(a0, a1), VADD(a2, a3)));
  for (; i < n; i++) s += (double)x[i];
  return s;
}

// The shift a LayerNorm row handed no sum takes its moments about first: the rough shift,
// or for a row too short for it (never one lnk_finish_rows is given) the rounded mean.
static inline LNK_TARGET T LNK_NAME(lnk_first_shift)(const T *x, ptrdiff_t n) {
  return n >= LNK_ROUGH_SHIFT_ELEMENTS ? LNK_NAME(lnk_rough_shift)(x)
                                       : (T)(LNK_NAME(lnk_row_sum)(x, n) / (double)n);
}

// The moments again about the rounded mean where the rough shift lies too far from it
// (see lnk_rough_shift). Not for moments that are not finite (the comparison is false):
// the careful path takes those rows.
static inline LNK_TARGET void LNK_NAME(lnk_reshift_if_far)(const T *x, ptrdiff_t n, T *shift,
                                                           double *sum, double *squares) {
  const double c = *sum / (double)n;
  if (3 * c * c > *squares / (double)n) {
    *shift = (T)((double)*shift + c);
    LNK_NAME(lnk_moments_avx2)(x, *shift, n, sum, squares, NULL, 0);
  }
}

// One row's moments about its first shift, taken again where that lies too far from the
// mean; `ahead` and `also` are fetched as lnk_moments_avx2 fetches them. lnk_finish_rows
// is compiled for the baseline CPU, so the AVX2 helpers are not inlined into it: one call
// per row here instead of three (the shift, the moments, the check), kernel-ab against
// f0e1df9, two runs, the same bits: Double 16384x256 1855-1957 against 1930-2033 us,
// 65536x64 2477-2513 against 2548-2562, other shapes within 2 %. lnk_finish_rows compiled
// for AVX2 instead was faster still (Double 16384x256 1722-1724 against 1949-1992 us) but
// changed the bits of Double rows of 6-8 KiB (4096x768, 8192x1024); the Swift layer's
// recomputed statistics must match the kernel's, so it stays as it is.
static LNK_TARGET void LNK_NAME(lnk_shifted_row_moments)(const T *x, ptrdiff_t n, T *shift,
                                                         double *sum, double *squares,
                                                         const char *ahead, ptrdiff_t also) {
  *shift = LNK_NAME(lnk_first_shift)(x, n);
  LNK_NAME(lnk_moments_avx2)(x, *shift, n, sum, squares, ahead, also);
  LNK_NAME(lnk_reshift_if_far)(x, n, shift, sum, squares);
}

LNK_TARGET void LNK_NAME(lnk_row_moments)(const T *x, ptrdiff_t n, const T *next, T *shift,
                                          double *sum, double *squares) {
  LNK_NAME(lnk_shifted_row_moments)(x, n, shift, sum, squares, (const char *)next, 0);
}

// lnk_first_shift and lnk_reshift_if_far over `rows` rows `n` apart: a group's, in one call
// each.
static LNK_TARGET void LNK_NAME(lnk_first_shifts)(const T *x, ptrdiff_t n, ptrdiff_t rows,
                                                  T *shift) {
  for (ptrdiff_t k = 0; k < rows; k++) shift[k] = LNK_NAME(lnk_first_shift)(x + k * n, n);
}

// `rows` (a multiple of 4, at most 16) rows' lnk_reshift_if_far, the test eight rows at once
// (lnk_far_rows8_avx512; the arrays hold 8 more past a group of 4, whose lanes are unused).
static LNK_TARGET512 void LNK_NAME(lnk_reshift_far_rows)(const T *x, ptrdiff_t n, ptrdiff_t rows,
                                                      T *shift, double *sum, double *squares) {
  for (ptrdiff_t k = 0; k < rows; k += 8) {
    unsigned far = lnk_far_rows8_avx512(sum + k, squares + k, (double)n);
    if (rows - k < 8) far &= (1u << (rows - k)) - 1;
    for (; far; far &= far - 1) {
      const ptrdiff_t r = k + __builtin_ctz(far);
      LNK_NAME(lnk_reshift_if_far)(x + r * n, n, &shift[r], &sum[r], &squares[r]);
    }
  }
}

// lnk_finish_rows, `group_rows` (16, 8, 4 or 1, a constant where inlined) rows at a time:
// their moments, then their statistics (eight or four together in lnk_statistics8 or
// lnk_statistics4), then their writes.
static inline __attribute__((always_inline)) ptrdiff_t LNK_NAME(lnk_finish_groups)(
    const T *x, T *y, ptrdiff_t rows, ptrdiff_t n, const double *sums, double eps, int centered,
    const T *w, const T *b, T *mean, T *rstd, int streaming, const void *next,
    const void *also_next, ptrdiff_t next_bytes, ptrdiff_t *extreme, const ptrdiff_t group_rows) {
  const double count = (double)n;
  const int l2 = lnk_fetch_into_l2();
  ptrdiff_t extremes = 0;
  // Rows of 256 bytes or more fetch their share of the next block (a row) along their two
  // passes, half in each, rather than asking for it all at once (kernel-ab against the
  // start of each row for rows under 1 KiB, three runs: Float 32768x128 6-9 % faster,
  // 43696x96 3-4 %, 65536x64 0-5 %; Double 65536x64 5-12 %, 43696x96 1-8 %, 131072x32
  // 6 %); shorter rows and a shorter next block ask at the start of each row. Two regions
  // (the fused add's next input and residual) are fetched along the passes at every row
  // length, into L2: with the block added into a 32 KiB scratch, fetching them into L1,
  // all at the start of each row or during the add left memory idle or pushed the scratch
  // out (throwaway harness, Float, the variants interleaved in one process, medians of 21:
  // 32768x128 6.1-6.5 ms during the add or a share per row, 5.0 along into L1, 4.7-5.0
  // into L2; 16384x256 5.6-6.4, 4.5-5.3, 4.2-5.1; 4096x768 4.0-4.4, 3.7, 3.4; 8192x1024
  // 10.2-10.9, 9.1-10.0, 9.5-9.8; 2048x4096 9.3-9.4, 9.0-9.6, 8.6-9.7; 4096x2048 8.7-8.8
  // all three). One region into L2 instead was 0-4 % slower.
  const ptrdiff_t row_bytes = n * (ptrdiff_t)sizeof(T);
  const int along = next && next_bytes == rows * row_bytes &&
                    (also_next ? centered : row_bytes >= 256);
  const ptrdiff_t also =
      along && also_next ? (ptrdiff_t)((size_t)also_next - (size_t)next) : 0;
  // A row's share of a region, whole lines (one division per block, not per row).
  const ptrdiff_t share = next ? ((next_bytes + rows - 1) / rows + 63) & ~(ptrdiff_t)63 : 0;
  ptrdiff_t fetched = 0;
  for (ptrdiff_t first = 0; first < rows; first += group_rows) {
    const ptrdiff_t group = rows - first < group_rows ? rows - first : group_rows;
    // Lanes past the last row of a short group keep these harmless moments; their
    // statistics are computed and never used.
    double sum[16] = {0}, squares[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    double center[16], scale[16];
    T shift[16] = {0};
    // A full group's moments four rows at once where the CPU has AVX-512 (the same bits;
    // groups are LayerNorm's only, see lnk_finish_rows).
    const int together = group_rows >= 4 && group == group_rows && lnk_use_avx512();
    // LayerNorm rows handed no sums: rough shifts (see lnk_rough_shift).
    if (centered && !sums && together) LNK_NAME(lnk_first_shifts)(x + first * n, n, group, shift);
    for (ptrdiff_t k = 0; k < group; k++) {
      const ptrdiff_t r = first + k;
      const char *ahead = along ? (const char *)next + r * row_bytes : NULL;
      if (next && !along) {
        // This row's share of each region, so that memory keeps streaming while the rows
        // of this block are computed from cache.
        const ptrdiff_t to = fetched + share < next_bytes ? fetched + share : next_bytes;
        for (; fetched < to; fetched += 64) {
          LNK_FETCH((const char *)next + fetched, l2);
          if (also_next) LNK_FETCH((const char *)also_next + fetched, l2);
        }
      }
      if (!centered) {
        // RMSNorm: the same statistics with a zero sum (c = 0, variance = sums[r] / n).
        squares[k] = sums[r];
      } else if (sums) {
        shift[k] = (T)(sums[r] / count);
        if (!together)
          LNK_NAME(lnk_moments_avx2)(x + r * n, shift[k], n, &sum[k], &squares[k], ahead, also);
      } else if (!together) {
        LNK_NAME(lnk_shifted_row_moments)(x + r * n, n, &shift[k], &sum[k], &squares[k], ahead,
                                          also);
      }
    }
    if (together)
      for (ptrdiff_t k = 0; k < group_rows; k += 4)
        LNK_NAME(lnk_moments4_avx512)(
            x + (first + k) * n, n, shift + k, sum + k, squares + k,
            along ? (const char *)next + (first + k) * row_bytes : NULL, also);
    if (centered && !sums && together)
      LNK_NAME(lnk_reshift_far_rows)(x + first * n, n, group, shift, sum, squares);
    if (group_rows >= 8) {
      for (ptrdiff_t k = 0; k < group_rows; k += 8)
        lnk_statistics8(sum + k, squares + k, count, eps, center + k, scale + k);
    } else if (group_rows == 4) {
      lnk_statistics4(sum, squares, count, eps, center, scale);
    } else {
      lnk_statistics1(sum[0], squares[0], count, eps, center, scale);
    }
    // Cached LayerNorm rows with nothing to fetch: four ordinary rows written at once (see
    // lnk_normalize4_avx512).
    ptrdiff_t k = 0;
    if (together && centered && !streaming && !next && row_bytes <= LNK_WRITE4_ROW_BYTES) {
      for (; k + 4 <= group; k += 4) {
        int ordinary = 1;
        for (int q = 0; q < 4; q++) ordinary &= LNK_NAME(lnk_ordinary)(sum[k + q], squares[k + q], n);
        if (!ordinary) break;
        for (int q = 0; q < 4; q++) {
          const ptrdiff_t r = first + k + q;
          if (rstd) rstd[r] = (T)scale[k + q];
          if (mean) mean[r] = (T)((double)shift[k + q] + center[k + q]);
        }
        LNK_NAME(lnk_normalize4_avx512)(x + (first + k) * n, y + (first + k) * n, n, shift + k,
                                        center + k, scale + k, w, b);
      }
    }
    for (; k < group; k++) {
      const ptrdiff_t r = first + k;
      if (!LNK_NAME(lnk_ordinary)(sum[k], squares[k], n)) { extreme[extremes++] = r; continue; }
      const char *ahead = along ? (const char *)next + r * row_bytes : NULL;
      const T *xr = x + r * n;
      T *yr = y + r * n;
      if (rstd) rstd[r] = (T)scale[k];
      if (centered) {
        if (mean) mean[r] = (T)((double)shift[k] + center[k]);
        LNK_NAME(lnk_normalize_avx2)(xr, yr, n, shift[k], (T)center[k], (T)scale[k], w, b,
                                     streaming, ahead ? ahead + row_bytes / 2 : NULL, also);
      } else {
        // RMSNorm has one pass here, which fetches the first half of the next row; the
        // hardware prefetcher finds the rest.
        LNK_NAME(lnk_normalize_avx2)(xr, yr, n, 0, 0, (T)scale[k], w, NULL, streaming, ahead, 0);
      }
    }
  }
  return extremes;
}

// LayerNorm rows of up to 512 bytes take their statistics in groups (four at a time at
// first; larger groups below). Four, kernel-ab against one at a time (same bits; old/new
// time, 3-4 runs): Float 65536x64 1.15-1.20, 32768x128 1.05-1.35, 43696x96 1.03-1.23,
// 87376x48 1.08-1.10, 131072x32 1.04-1.11, 256x128 (in cache) 1.09-1.21; Double
// 65536x64 1.01-1.12, 131072x32 1.06-1.15. Longer
// rows stay one at a time: four at a time made Double 32768x128 and 16384x256 (rows of 1
// and 2 KiB) 30 % slower and Float 16384x256 5 %, 4096x768 3 %.
// Rows up to LNK_GROUP_CACHED_BYTES of an input that stays in cache (nothing streamed,
// nothing fetched: no memory to keep busy) are grouped too, so that four rows' divisions
// and square roots overlap instead of each row's write waiting on its own (kernel-ab
// against 9233305, buffers 64-byte aligned, three runs): Float 64x768 6.0-6.2 against
// 6.3-6.9 us, 256x256 9.8-9.9 against 11.8-11.9, 128x1024 14.3-14.7 against 16.1-16.9,
// 64x512 3.7 against 4.6, 32x768 2.7 against 3.2; Double 256x256 15.2-15.6 against
// 18.0-18.5, 64x512 6.4 against 7.4, 64x768 (6 KiB rows) 10.1-10.4 against 10.7-10.9.
// Rows of 8 KiB gained nothing (Float 32x2048, Double 128x1024). Same bits: the four-row
// statistics are the one-row ones lane by lane (the same IEEE operations).
// Rows up to LNK_GROUP_L3_BYTES of a larger input that still stays in cache (`in_cache`:
// under the 8 MiB from which outputs are streamed; its next block is fetched from L3) are
// grouped as well (kernel-ab against f82b706, 64-byte aligned, three runs): Float 4096x256
// 167-173 against 197-205 us, 2048x512 128-133 against 153-158, 2048x256 78-80 against
// 97-100, 1024x384 52-54 against 65-66, 8192x192 275-285 against 324-336; Double 4096x128
// 154-156 against 170-173, 2048x256 132-134 against 141-146. Longer rows gained Float
// 1-5 % and cost Double 1-5 % (1024x768, 512x1536, 2048x512, 1024x1024; one run). The
// fused add's two fetched regions keep rows one at a time: grouped, its Float 2048x512 and
// Double 2048x256 ran 2-3 % slower (benchmark, two alternating runs).
// RMSNorm takes its rows one at a time at every length: it has no moments pass to run four
// rows together, and grouped, each row's write waits for four rows' statistics instead of
// overlapping the next row's. Benchmark, one thread, against grouping as LayerNorm does
// (four alternating runs, two fresh copies of each binary): Float 65536x64 1059-1093
// against 1195-1235 us, 4096x128 87-89 against 95-97, 256x256 7.5-7.7 against 7.8-8.0,
// 32768x128 754-768 against 756-787; Double 65536x64 1454-1513 against 1528-1614; Double
// rows of 1 KiB, 64x768 and 128x1024 within noise. Rows of 1-2 KiB in L3 grouped: Float
// 4096x256 142-144 against 136-138 us, 2048x256 72-73 against 68-69 (three runs).
// Larger groups, for fewer chains of divisions and square roots per row: rows up to
// LNK_GROUP_BYTES sixteen at a time (two lnk_statistics8, whose chains overlap), the
// cached rows up to LNK_GROUP8_BYTES eight at a time. kernel-ab against four at a time
// (28eebad, 64-byte aligned; eight rows, then sixteen against eight): Float 32768x128
// 856-901 against 903-939 us, then 837 against 867; 65536x64 1261-1265 against
// 1421-1451, then 1241 against 1272; 43696x96 1068 against 1150, then 993 against 1061;
// 131072x32 2279 against 2611, then 2169 against 2292; Double 65536x64 1687-1696 against
// 1747-1796, then 1650 against 1701; 131072x32 2570 against 2847, then 2379 against 2490.
// Cached rows eight at a time (two runs): Float 4096x256 146-153 against 157-163 us,
// 8192x192 261-269 against 280-289, 256x256 8.3-8.6 against 8.9-9.1, 64x512 3.1-3.2
// against 3.3-3.4; Double within 1-3 % either way; rows of 3 KiB and more no faster
// (Float 64x768 5.4-5.5 against 5.5, 128x1024 13.4 against 13.3) or slower (Float
// 32x1536 4.8 against 4.5: eight rows of 6 KiB outgrow L1). Thirty-two rows were no faster
// than sixteen (Float 32768x128 846 against 854, 131072x32 2143 against 2117), nor were
// cached rows of 1 KiB sixteen at a time (4096x256 147.0 against 147.5).
#define LNK_GROUP_BYTES 512
#define LNK_GROUP_CACHED_BYTES 6144
#define LNK_GROUP_L3_BYTES 2048
#define LNK_GROUP8_BYTES 2048

ptrdiff_t LNK_NAME(lnk_finish_rows)(const T *x, T *y, ptrdiff_t rows, ptrdiff_t n,
                                    const double *sums, double eps, int centered, const T *w,
                                    const T *b, T *mean, T *rstd, int streaming, int in_cache,
                                    const void *next, const void *also_next,
                                    ptrdiff_t next_bytes, ptrdiff_t *extreme) {
  const ptrdiff_t row_bytes = n * (ptrdiff_t)sizeof(T);
  const int cached =
      !streaming && (next ? in_cache && !also_next && row_bytes <= LNK_GROUP_L3_BYTES
                          : row_bytes <= LNK_GROUP_CACHED_BYTES);
  if (centered && row_bytes <= LNK_GROUP_BYTES)
    return LNK_NAME(lnk_finish_groups)(x, y, rows, n, sums, eps, centered, w, b, mean, rstd,
                                       streaming, next, also_next, next_bytes, extreme, 16);
  if (centered && cached && row_bytes <= LNK_GROUP8_BYTES)
    return LNK_NAME(lnk_finish_groups)(x, y, rows, n, sums, eps, centered, w, b, mean, rstd,
                                       streaming, next, also_next, next_bytes, extreme, 8);
  if (centered && cached)
    return LNK_NAME(lnk_finish_groups)(x, y, rows, n, sums, eps, centered, w, b, mean, rstd,
                                       streaming, next, also_next, next_bytes, extreme, 4);
  return LNK_NAME(lnk_finish_groups)(x, y, rows, n, sums, eps, centered, w, b, mean, rstd,
                                     streaming, next, also_next, next_bytes, extreme, 1);
}

// Short rows: LANES rows at a time. Each row is a few vectors (the last one masked); the
// per-row sums of LANES rows are reduced together by a horizontal-add tree into one vector
// (lane j = row j), so the statistics of LANES rows take one division and one square root.

static LNK_TARGET int LNK_NAME(lnk_short_group)(const T *x, T *y, ptrdiff_t n, double eps,
                                                int centered, const T *w, const T *b,
                                                T *mean, T *rstd, int streaming) {
  // A row is `full` whole vectors and, when n % LANES != 0, one masked vector. Masked
  // loads and stores are slow (microcoded stores on AMD), so whole vectors avoid them.
  const ptrdiff_t full = n / LANES;
  const ptrdiff_t rest = n % LANES;
  const VIMASK tail = VTAILMASK(rest);
  const VEC zero = VZERO();
  VEC partial[LANES];
  for (int j = 0; j < LANES; j++) {
    const T *xr = x + j * n;
    VEC acc = rest ? VMASKLOAD(xr + full * LANES, tail) : zero;
    for (ptrdiff_t k = 0; k < full; k++) acc = VADD(acc, VLOAD(xr + k * LANES));
    partial[j] = acc;
  }
  const VEC count = VSET1((T)n);
  T shift[LANES], center[LANES], scale[LANES], lane_sums[LANES], lane_squares[LANES];
  VEC partial_squares[LANES];
  if (centered) {
    const VEC m0 = VDIV(VHSUM_ROWS(partial), count);
    VSTORE(shift, m0);
    for (int j = 0; j < LANES; j++) {
      const T *xr = x + j * n;
      const VEC s = VSET1(shift[j]);
      VEC c = zero, q = zero;
      if (rest) {
        c = VMASKSUB(VMASKLOAD(xr + full * LANES, tail), s, tail);
        q = VMUL(c, c);
      }
      for (ptrdiff_t k = 0; k < full; k++) {
        const VEC d = VSUB(VLOAD(xr + k * LANES), s);
        c = VADD(c, d);
        q = VFMA(d, d, q);
      }
      partial[j] = c;
      partial_squares[j] = q;
    }
    const VEC sums = VHSUM_ROWS(partial);
    const VEC squares = VHSUM_ROWS(partial_squares);
    VSTORE(lane_sums, sums);
    VSTORE(lane_squares, squares);
    const VEC c = VDIV(sums, count);
    VEC variance = VSUB(VDIV(squares, count), VMUL(c, c));
    variance = VMAX(zero, variance);  // NaN stays NaN: maxps returns its second operand
    const VEC s = VDIV(VSET1(1), VSQRT(VADD(variance, VSET1((T)eps))));
    VSTORE(center, c);
    VSTORE(scale, s);
    if (mean) VSTORE(mean, VADD(m0, c));
    if (rstd) VSTORE(rstd, s);
  } else {
    for (int j = 0; j < LANES; j++) {
      const T *xr = x + j * n;
      VEC q = zero;
      if (rest) {
        const VEC v = VMASKLOAD(xr + full * LANES, tail);
        q = VMUL(v, v);
      }
      for (ptrdiff_t k = 0; k < full; k++) {
        const VEC v = VLOAD(xr + k * LANES);
        q = VFMA(v, v, q);
      }
      partial_squares[j] = q;
    }
    const VEC squares = VHSUM_ROWS(partial_squares);
    VSTORE(lane_squares, squares);
    for (int j = 0; j < LANES; j++) lane_sums[j] = 0;
    const VEC s = VDIV(VSET1(1), VSQRT(VADD(VDIV(squares, count), VSET1((T)eps))));
    VSTORE(shift, zero);
    VSTORE(center, zero);
    VSTORE(scale, s);
    if (rstd) VSTORE(rstd, s);
  }
  const T *bias = centered ? b : NULL;
  const int stream_rows = streaming && rest == 0;
  for (int j = 0; j < LANES; j++) {
    const T *xr = x + j * n;
    T *yr = y + j * n;
    const VEC sh = VSET1(shift[j]), ce = VSET1(center[j]), sc = VSET1(scale[j]);
    for (ptrdiff_t k = 0; k < full; k++) {
      const ptrdiff_t i = k * LANES;
      VEC v = VMUL(VSUB(VSUB(VLOAD(xr + i), sh), ce), sc);
      if (w) v = VMUL(v, VLOAD(w + i));
      if (bias) v = VADD(v, VLOAD(bias + i));
      if (stream_rows) VSTREAM(yr + i, v);
      else VSTORE(yr + i, v);
    }
    if (rest) {
      const ptrdiff_t i = full * LANES;
      VEC v = VMUL(VSUB(VSUB(VMASKLOAD(xr + i, tail), sh), ce), sc);
      if (w) v = VMUL(v, VMASKLOAD(w + i, tail));
      if (bias) v = VADD(v, VMASKLOAD(bias + i, tail));
      VMASKSTORE(yr + i, tail, v);
    }
  }
  int extreme_lanes = 0;
  for (int j = 0; j < LANES; j++) {
    if (!LNK_NAME(lnk_ordinary)((double)lane_sums[j], (double)lane_squares[j], n)) extreme_lanes |= 1 << j;
  }
  return extreme_lanes;
}

// Rows of exactly 8 elements (one vector of Float, two of Double), LANES rows at a time:
// each LANES x LANES block of the group is transposed in registers, so that lane j holds
// row j and vector i holds element i of every row. The statistics of the LANES rows are
// then plain vertical arithmetic (no horizontal sums, no per-row broadcasts), and the
// result is transposed back. `wb` holds 8 broadcast vectors of the weight, then 8 of the
// bias.
#define LNK_ROW8_BLOCKS (8 / LANES)

static inline LNK_TARGET VEC LNK_NAME(lnk_sum8)(const VEC *v) {
  return VADD(VADD(VADD(v[0], v[1]), VADD(v[2], v[3])), VADD(VADD(v[4], v[5]), VADD(v[6], v[7])));
}

static inline LNK_TARGET int LNK_NAME(lnk_rows_of_8_group)(const T *x, T *y, double eps,
                                                           int centered, const VEC *wb,
                                                           int has_w, int has_b, T *mean,
                                                           T *rstd, int streaming) {
  VEC e[8];
  for (int k = 0; k < LNK_ROW8_BLOCKS; k++) {
    VEC *block = e + k * LANES;
    for (int j = 0; j < LANES; j++) block[j] = VLOAD(x + j * 8 + k * LANES);
    VTRANSPOSE(block);
  }
  const VEC inverse_count = VSET1((T)0.125);  // exact
  const VEC zero = VZERO();
  VEC sums = zero, squares, center = zero, scale;
  VEC dd[8];
  if (centered) {
    // Shifted two-pass in registers: m0 = sum(x) / 8, then the moments of x - m0.
    const VEC m0 = VMUL(LNK_NAME(lnk_sum8)(e), inverse_count);
    for (int i = 0; i < 8; i++) e[i] = VSUB(e[i], m0);
    for (int i = 0; i < 8; i++) dd[i] = VMUL(e[i], e[i]);
    sums = LNK_NAME(lnk_sum8)(e);
    squares = LNK_NAME(lnk_sum8)(dd);
    center = VMUL(sums, inverse_count);
    VEC variance = VSUB(VMUL(squares, inverse_count), VMUL(center, center));
    variance = VMAX(zero, variance);  // NaN stays NaN: maxps returns its second operand
    scale = VDIV(VSET1(1), VSQRT(VADD(variance, VSET1((T)eps))));
    if (mean) VSTORE(mean, VADD(m0, center));
  } else {
    for (int i = 0; i < 8; i++) dd[i] = VMUL(e[i], e[i]);
    squares = LNK_NAME(lnk_sum8)(dd);
    scale = VDIV(VSET1(1), VSQRT(VADD(VMUL(squares, inverse_count), VSET1((T)eps))));
  }
  if (rstd) VSTORE(rstd, scale);
  for (int i = 0; i < 8; i++) {
    VEC v = VMUL(VSUB(e[i], center), scale);
    if (has_w) v = VMUL(v, wb[i]);  // skipped, not multiplied by 1 or added 0: -0 stays -0
    if (has_b) v = VADD(v, wb[8 + i]);
    e[i] = v;
  }
  for (int k = 0; k < LNK_ROW8_BLOCKS; k++) {
    VEC *block = e + k * LANES;
    VTRANSPOSE(block);
    for (int j = 0; j < LANES; j++) {
      if (streaming) VSTREAM(y + j * 8 + k * LANES, block[j]);
      else VSTORE(y + j * 8 + k * LANES, block[j]);
    }
  }
  return LANES_ALL & ~VORDINARY_LANES(sums, squares, (T)(LNK_TINY_SQUARES * 8));
}

static LNK_TARGET ptrdiff_t LNK_NAME(lnk_short_rows_avx2)(const T *x, T *y, ptrdiff_t rows,
                                                          ptrdiff_t n, double eps, int centered,
                                                          const T *w, const T *b, T *mean,
                                                          T *rstd, int streaming,
                                                          ptrdiff_t *extreme) {
  ptrdiff_t r = 0, extremes = 0;
  const ptrdiff_t group_bytes = LANES * n * (ptrdiff_t)sizeof(T);
  VEC wb[16];
  const int has_w = n == 8 && w != NULL, has_b = n == 8 && b != NULL && centered;
  for (int i = 0; n == 8 && i < 8; i++) {
    wb[i] = VSET1(has_w ? w[i] : 1);
    wb[8 + i] = VSET1(has_b ? b[i] : 0);
  }
#ifdef LNK_ROWS_OF_8_WIDE
  // Rows of 8 eight at a time in 512-bit vectors, where they are (Double; see
  // lnk_rows_of_8_wide_f64), streamed only to whole lines: with rows 48 bytes into a line,
  // each row's four 16-byte pieces streamed made the LayerNorm forward at 1000000x8 faster
  // (6.4-6.5 ms against 7.4-7.6, three alternating runs) but RMSNorm slower (4.9-5.0
  // against 4.4-4.5), so such rows keep the 256-bit kernel.
  if (n == 8 && lnk_use_avx512() && (!streaming || ((size_t)y & 63) == 0))
    r = LNK_ROWS_OF_8_WIDE(x, y, rows, eps, centered, w, b, mean, rstd, streaming, extreme,
                           &extremes);
#endif
  for (; r + LANES <= rows; r += LANES) {
    // Ask for the group 16 ahead (about one DRAM latency at this bandwidth): the short
    // loads of a group do not keep the prefetcher far enough ahead on their own.
    if (r + 17 * LANES <= rows) {
      const char *ahead = (const char *)(x + (r + 16 * LANES) * n);
      for (ptrdiff_t k = 0; k < group_bytes; k += 64) _mm_prefetch(ahead + k, _MM_HINT_T0);
    }
    const int lanes =
        n == 8
            ? LNK_NAME(lnk_rows_of_8_group)(x + r * n, y + r * n, eps, centered, wb, has_w,
                                              has_b, mean ? mean + r : NULL,
                                              rstd ? rstd + r : NULL, streaming)
            : LNK_NAME(lnk_short_group)(x + r * n, y + r * n, n, eps, centered, w, b,
                                        mean ? mean + r : NULL, rstd ? rstd + r : NULL,
                                        streaming);
    for (int j = 0; lanes && j < LANES; j++) {
      if (lanes & (1 << j)) extreme[extremes++] = r + j;
    }
  }
  if (r < rows) {
    // The last rows: copy them into a group padded with copies of its first row, so no
    // load reads past the input, and give them the same kernel as every other row.
    T in[LANES * 32], out[LANES * 32], m[LANES], s[LANES];
    const ptrdiff_t left = rows - r;
    for (ptrdiff_t k = 0; k < left * n; k++) in[k] = x[r * n + k];
    for (ptrdiff_t k = left * n; k < LANES * n; k++) in[k] = in[k % n];
    const int lanes =
        n == 8
            ? LNK_NAME(lnk_rows_of_8_group)(in, out, eps, centered, wb, has_w, has_b, m, s, 0)
            : LNK_NAME(lnk_short_group)(in, out, n, eps, centered, w, b, m, s, 0);
    for (ptrdiff_t k = 0; k < left * n; k++) y[r * n + k] = out[k];
    for (ptrdiff_t k = 0; k < left; k++) {
      if (mean) mean[r + k] = m[k];
      if (rstd) rstd[r + k] = s[k];
      if (lanes & (1 << k)) extreme[extremes++] = r + k;
    }
  }
  return extremes;
}

ptrdiff_t LNK_NAME(lnk_short_rows)(const T *x, T *y, ptrdiff_t rows, ptrdiff_t n, double eps,
                                   int centered, const T *w, const T *b, T *mean, T *rstd,
                                   int streaming, ptrdiff_t *extreme) {
  return LNK_NAME(lnk_short_rows_avx2)(x, y, rows, n, eps, centered, w, b, mean, rstd,
                                       streaming, extreme);
}

// The end of a chunk of the backward's first pass, shared by the 256-bit and 512-bit row
// kernels so that they round alike: the last whole vector (at most one) into a0 and b0,
// the two accumulators added, the last elements one at a time, and the lane sums added
// into `a` and `bsum` in Double. Uses the row kernel's names (sh, ce, r: the row's shift,
// center and rstd as vectors).
#define LNK_FIRST_PASS_END()                                                          \
  do {                                                                                \
    for (; i + LANES <= end; i += LANES) {                                            \
      const VEC xh = VMUL(VSUB(VSUB(VLOAD(x + i), sh), ce), r);                       \
      const VEC d = VLOAD(dy + i);                                                    \
      const VEC g = w ? VMUL(d, VLOAD(w + i)) : d;                                    \
      a0 = VADD(a0, g);                                                               \
      b0 = VFMA(g, xh, b0);                                                           \
      if (dw) VSTORE(dw + i, fresh ? VMUL(d, xh) : VFMA(d, xh, VLOAD(dw + i)));       \
      if (db) VSTORE(db + i, fresh ? d : VADD(VLOAD(db + i), d));                     \
    }                                                                                 \
    a0 = VADD(a0, a1);                                                                \
    b0 = VADD(b0, b1);                                                                \
    T ta = 0, tb = 0;                                                                 \
    for (; i < end; i++) {                                                            \
      const T xh = ((x[i] - shift) - center) * rstd;                                  \
      const T g = w ? dy[i] * w[i] : dy[i];                                           \
      ta += g;                                                                        \
      tb += g * xh;                                                                   \
      if (dw) dw[i] = fresh ? dy[i] * xh : dw[i] + dy[i] * xh;                        \
      if (db) db[i] = fresh ? dy[i] : db[i] + dy[i];                                  \
    }                                                                                 \
    a += LNK_NAME(lnk_hsum)(a0) + (double)ta;                                         \
    bsum += LNK_NAME(lnk_hsum)(b0) + (double)tb;                                      \
  } while (0)

// Inlined into each of its callers below, so that a caller whose arguments are known
// (every gradient asked for, streaming or not) gets loops without the per-vector tests.
// The row at next_dy/next_x (when given) is fetched during this one: all of it during the
// second pass, or with `split` its first half during the first pass and its second half
// during the second.
static inline __attribute__((always_inline)) LNK_TARGET void LNK_NAME(lnk_backward_row_avx2)(
    const T *dy, const T *x, T *dx, ptrdiff_t n, T shift, T center, T rstd, int centered,
    const T *w, T *dw, T *db, int streaming, const T *next_dy, const T *next_x,
    const int split, const int fresh) {
  const int l2 = lnk_fetch_into_l2();
  // With `split`, pass 1 at element i fetches the next row's line at i / 2, pass 2 the one
  // at half + i / 2: a line of each per 128 bytes of the row.
  const ptrdiff_t half = (n / 2) & ~(ptrdiff_t)(64 / sizeof(T) - 1);
  const VEC sh = VSET1(shift), ce = VSET1(center), r = VSET1(rstd);
  double a = 0, bsum = 0;
  for (ptrdiff_t start = 0; start < n; start += LNK_FLUSH) {
    const ptrdiff_t end = start + LNK_FLUSH < n ? start + LNK_FLUSH : n;
    // Two accumulators each: the add and FMA chains, not the loads, bound a short row.
    VEC a0 = VZERO(), b0 = VZERO(), a1 = VZERO(), b1 = VZERO();
    ptrdiff_t i = start;
    for (; i + 2 * LANES <= end; i += 2 * LANES) {
      if (split && next_dy && (((i >> 1) * (ptrdiff_t)sizeof(T)) & 63) == 0) {
        LNK_FETCH(next_dy + (i >> 1), l2);
        LNK_FETCH(next_x + (i >> 1), l2);
      }
      const VEC xh0 = VMUL(VSUB(VSUB(VLOAD(x + i), sh), ce), r);
      const VEC xh1 = VMUL(VSUB(VSUB(VLOAD(x + i + LANES), sh), ce), r);
      const VEC d0 = VLOAD(dy + i), d1 = VLOAD(dy + i + LANES);
      const VEC g0 = w ? VMUL(d0, VLOAD(w + i)) : d0;
      const VEC g1 = w ? VMUL(d1, VLOAD(w + i + LANES)) : d1;
      a0 = VADD(a0, g0);
      a1 = VADD(a1, g1);
      b0 = VFMA(g0, xh0, b0);
      b1 = VFMA(g1, xh1, b1);
      if (dw) {
        VSTORE(dw + i, fresh ? VMUL(d0, xh0) : VFMA(d0, xh0, VLOAD(dw + i)));
        VSTORE(dw + i + LANES, fresh ? VMUL(d1, xh1) : VFMA(d1, xh1, VLOAD(dw + i + LANES)));
      }
      if (db) {
        VSTORE(db + i, fresh ? d0 : VADD(VLOAD(db + i), d0));
        VSTORE(db + i + LANES, fresh ? d1 : VADD(VLOAD(db + i + LANES), d1));
      }
    }
    LNK_FIRST_PASS_END();
  }
  if (!dx) return;
  const T ca = centered ? (T)(a / (double)n) : 0;
  const T cb = (T)(bsum / (double)n);
  const VEC va = VSET1(ca), vb = VSET1(cb);
  // The row ahead's dy and x stream in while this pass computes from cache (see
  // lnk_backward_each_row): a line of each per 64 bytes of this row, or with `split` the
  // second half of the row, a line per 128 bytes.
#define LNK_FETCH_NEXT(i)                                                       \
  if (!next_dy) {                                                               \
  } else if (split) {                                                           \
    if (((((i) >> 1) * (ptrdiff_t)sizeof(T)) & 63) == 0) {                      \
      LNK_FETCH(next_dy + half + ((i) >> 1), l2);                               \
      LNK_FETCH(next_x + half + ((i) >> 1), l2);                                \
    }                                                                           \
  } else if ((((i) * (ptrdiff_t)sizeof(T)) & 63) == 0) {                        \
    LNK_FETCH(next_dy + (i), l2);                                               \
    LNK_FETCH(next_x + (i), l2);                                                \
  }
#define LNK_DX(out, index)                                                      \
  do {                                                                          \
    const ptrdiff_t j = (index);                                                \
    const VEC xh = VMUL(VSUB(VSUB(VLOAD(x + j), sh), ce), r);                   \
    const VEC d = VLOAD(dy + j);                                                \
    const VEC g = w ? VMUL(d, VLOAD(w + j)) : d;                                \
    out = VMUL(r, VSUB(VSUB(g, va), VMUL(xh, vb)));                             \
  } while (0)
  ptrdiff_t i = 0;
  // Streamed with look-ahead loads (see lnk_backward_rows_avx2), the form of the stores
  // chosen once a row, as below.
#define LNK_FETCH_STEP(i) do { LNK_FETCH_NEXT(i); LNK_FETCH_NEXT((i) + 2 * LANES); } while (0)
  if (streaming == 2 && i + 4 * LANES <= n) {
    if (((size_t)dx & 31) == 0) LNK_LOOKAHEAD_STEPS(LNK_FETCH_STEP, VSTREAM_WIDE, dx, LNK_DX)
    else LNK_LOOKAHEAD_STEPS(LNK_FETCH_STEP, VSTREAM_HALVES, dx, LNK_DX)
  }
#undef LNK_FETCH_STEP
  // A line a step: one fetch of the next row's lines and two stores, for streamed stores
  // the form chosen once a row (VSTREAM tests the alignment per store, and clang kept
  // that test in the loop beside the fetch test and reloaded pointers). Streamed: 10-12 %
  // faster at 32768x128 and 4096x768, the same at rows of 1024-16384 (in one process,
  // Float, against 2034b79). In cache too: this loop is bound by instructions issued, not
  // by L1 (per vector 3 loads, a store, 8 arithmetic operations, and the fetch test and
  // loop counter), and the test once a line instead of once a vector made 64x768, 128x512
  // and 256x256 8-24 % faster in Float and 4-19 % in Double (kernel-ab against af2c478,
  // seven runs; the least when the machine ran fast); four vectors a step were no faster
  // again (0-4 %). Same bits.
#define LNK_DX_LINES(STREAM)                                                    \
  for (; i + 2 * LANES <= n; i += 2 * LANES) {                                  \
    LNK_FETCH_NEXT(i);                                                          \
    VEC v0, v1;                                                                 \
    LNK_DX(v0, i);                                                              \
    LNK_DX(v1, i + LANES);                                                      \
    STREAM(dx + i, v0);                                                         \
    STREAM(dx + i + LANES, v1);                                                 \
  }
  if (streaming == 1) {
    if (((size_t)dx & 31) == 0 && n * (ptrdiff_t)sizeof(T) < LNK_HALVES_ROW_BYTES)
      LNK_DX_LINES(VSTREAM_WIDE)
    else LNK_DX_LINES(VSTREAM_HALVES)
  } else if (!streaming) {
    LNK_DX_LINES(VSTORE)
  }
#undef LNK_DX_LINES
  for (; i + LANES <= n; i += LANES) {
    LNK_FETCH_NEXT(i);
    VEC v;
    LNK_DX(v, i);
    if (streaming) VSTREAM(dx + i, v);
    else VSTORE(dx + i, v);
  }
  if (streaming && LNK_HALF_LEFT(dx, i, n)) {
    // The row's last 16 bytes streamed too (see LNK_HALF_LEFT).
    const VIMASK m = VTAILMASK(n - i);
    const VEC xh = VMUL(VSUB(VSUB(VMASKLOAD(x + i, m), sh), ce), r);
    const VEC d = VMASKLOAD(dy + i, m);
    const VEC g = w ? VMUL(d, VMASKLOAD(w + i, m)) : d;
    VSTREAM_LOW(dx + i, VMUL(r, VSUB(VSUB(g, va), VMUL(xh, vb))));
    i = n;
  }
#undef LNK_FETCH_NEXT
#undef LNK_DX
  for (; i < n; i++) {
    const T xh = ((x[i] - shift) - center) * rstd;
    const T g = w ? dy[i] * w[i] : dy[i];
    // The product in its own statement, so that the compiler does not fuse it into the
    // subtraction (it may within one expression): the vector lanes round it separately.
    const T xb = xh * cb;
    dx[i] = rstd * ((g - ca) - xb);
  }
}

// Backward of LANES rows of exactly K * LANES elements (K vectors a row: 1, or 2 for
// Double rows of 8), in registers. `valid` rows (the first ones) add into dw/db, in row
// order, as the row kernel would; a row's sums add its K vectors, then use the
// horizontal-add tree, the same for every row whether its group is full or padded.
// Inlined with K a constant, so that the arrays below stay in registers.
static inline __attribute__((always_inline)) LNK_TARGET void LNK_NAME(lnk_backward_group)(
    const int K, const T *dy, const T *x, T *dx, const T *shift, const T *center,
    const T *rstd, int centered, const T *w, T *dw, T *db, int valid, int streaming) {
  VEC xh[LANES][2], g[LANES][2], d[LANES][2], gs[LANES], gxs[LANES], r[LANES];
  for (int j = 0; j < LANES; j++) {
    r[j] = VSET1(rstd[j]);
    const VEC sh = VSET1(shift[j]), ce = VSET1(center[j]);
    for (int k = 0; k < K; k++) {
      const T *row = x + (j * K + k) * LANES;
      xh[j][k] = VMUL(VSUB(VSUB(VLOAD(row), sh), ce), r[j]);
      d[j][k] = VLOAD(dy + (j * K + k) * LANES);
      g[j][k] = w ? VMUL(d[j][k], VLOAD(w + k * LANES)) : d[j][k];
    }
    gs[j] = g[j][0];
    gxs[j] = VMUL(g[j][0], xh[j][0]);
    if (K == 2) {
      gs[j] = VADD(gs[j], g[j][1]);
      gxs[j] = VADD(gxs[j], VMUL(g[j][1], xh[j][1]));
    }
  }
  const VEC count = VSET1((T)(K * LANES));
  const VEC a = centered ? VDIV(VHSUM_ROWS(gs), count) : VZERO();
  const VEC b = VDIV(VHSUM_ROWS(gxs), count);
  for (int k = 0; k < K; k++) {
    if (dw) {
      VEC acc = VLOAD(dw + k * LANES);
      for (int j = 0; j < valid; j++) acc = VFMA(d[j][k], xh[j][k], acc);
      VSTORE(dw + k * LANES, acc);
    }
    if (db) {
      VEC acc = VLOAD(db + k * LANES);
      for (int j = 0; j < valid; j++) acc = VADD(acc, d[j][k]);
      VSTORE(db + k * LANES, acc);
    }
  }
  if (!dx) return;
  for (int j = 0; j < LANES; j++) {
    const VEC aj = VLANE(a, j), bj = VLANE(b, j);
    for (int k = 0; k < K; k++) {
      const VEC v = VMUL(r[j], VSUB(VSUB(g[j][k], aj), VMUL(xh[j][k], bj)));
      if (streaming) VSTREAM(dx + (j * K + k) * LANES, v);
      else VSTORE(dx + (j * K + k) * LANES, v);
    }
  }
}

// Rows of K * LANES elements, LANES rows a group; the last rows in a group padded with
// copies of its first row (only they add into dw and db, and only their dx is copied out).
static inline __attribute__((always_inline)) LNK_TARGET void LNK_NAME(lnk_backward_groups)(
    const int K, const T *dy, const T *x, T *dx, ptrdiff_t rows, const T *shift,
    const T *center, const T *rstd, int centered, const T *w, T *dw, T *db, int streaming) {
  const ptrdiff_t n = K * LANES;
  ptrdiff_t r = 0;
  for (; r + LANES <= rows; r += LANES) {
    LNK_NAME(lnk_backward_group)(K, dy + r * n, x + r * n, dx ? dx + r * n : NULL, shift + r,
                                 center + r, rstd + r, centered, w, dw, db, LANES, streaming);
  }
  if (r < rows) {
    T ydy[2 * LANES * LANES], yx[2 * LANES * LANES], ydx[2 * LANES * LANES];
    T ys[LANES], yc[LANES], yr[LANES];
    const ptrdiff_t left = rows - r;
    for (ptrdiff_t j = 0; j < LANES; j++) {
      const ptrdiff_t source = r + (j < left ? j : 0);
      for (ptrdiff_t i = 0; i < n; i++) {
        ydy[j * n + i] = dy[source * n + i];
        yx[j * n + i] = x[source * n + i];
      }
      ys[j] = shift[source];
      yc[j] = center[source];
      yr[j] = rstd[source];
    }
    LNK_NAME(lnk_backward_group)(K, ydy, yx, ydx, ys, yc, yr, centered, w, dw, db, (int)left, 0);
    if (dx) {
      for (ptrdiff_t k = 0; k < left * n; k++) dx[r * n + k] = ydx[k];
    }
  }
}

// The rows one at a time, each fetching a later row as it goes: at any length (rows of
// 16-64 KiB too: 8-13 % faster at 2048x4096, 1024x8192 and 512x16384, interleaved in one
// process; into L2 only was no different).
// - Rows of 4 KiB or more of a streamed (large) input fetch their successor, half during
//   each pass (split): 8-20 % faster at 2048x4096 and 512x16384, 0-6 % at 8192x1024, than
//   all of it during the second pass (in one process, Float); at rows of 3 KiB it was no
//   faster (4096x768) or slower (64x768, in cache, 4-10 %), and in cache at rows of 6 KiB
//   too (Double 64x768 13 % slower, kernel-ab), so a small input keeps the old fetch.
// - Rows of 2-4 KiB fetch their successor during their second pass; shorter rows fetch the
//   row at least 2 KiB ahead: 9-12 % faster at 32768x128 and 16384x256 than the successor.
//   4 KiB ahead was slower, and so was the split fetch (3-6 % at 32768x128).
// - On the Zen 5 machine of 2026-11-28, a streamed input's rows from 1 KiB up to 6 KiB fetch
//   the row at least 6 KiB ahead instead (LNK_FAR_FETCH_BYTES; longer rows still fetch
//   their successor, shorter ones the row 2 KiB ahead, LNK_NEAR_FETCH_BYTES): 1.46-1.50x
//   faster at 8192x512, 1.13-1.19x at 16384x256, 1.11-1.15x at 4096x768 and 1.20x at
//   8192x1024 (rows of 4 KiB, split, two rows ahead) in Float, 1.17-1.21x at 16384x256 and
//   8192x512 in Double (one thread; the old and new distance alternated in one process,
//   two runs); rows of 256-512 bytes were no faster (0.97-1.05x at 65536x64 and
//   32768x128), and in cache (64x768) 6 KiB ahead was 3-6 % slower.
// Rows from this many bytes on write the weight and bias sums with their first row instead
// of zeroing them first (see lnk_backward_each_row).
#define LNK_FRESH_ROW_BYTES (64 * 1024)
// How far ahead rows fetch, at least: a streamed input's rows of 1 KiB or more, and the
// others (see above).
#define LNK_FAR_FETCH_BYTES (6 * 1024)
#define LNK_NEAR_FETCH_BYTES 2048

static inline void LNK_NAME(lnk_zero_partials)(T *dw, T *db, ptrdiff_t n) {
  if (dw) memset(dw, 0, (size_t)n * sizeof(T));
  if (db) memset(db, 0, (size_t)n * sizeof(T));
}
static inline __attribute__((always_inline)) LNK_TARGET void LNK_NAME(lnk_backward_each_row)(
    const T *dy, const T *x, T *dx, ptrdiff_t rows, ptrdiff_t n, const T *shift,
    const T *center, const T *rstd, int centered, const T *w, T *dw, T *db, int streaming) {
  const ptrdiff_t row_bytes = n * (ptrdiff_t)sizeof(T);
  const ptrdiff_t reach =
      streaming && row_bytes >= 1024 ? LNK_FAR_FETCH_BYTES : LNK_NEAR_FETCH_BYTES;
  const ptrdiff_t ahead = row_bytes >= reach ? 1 : (reach + row_bytes - 1) / row_bytes;
#define LNK_ONE_ROW(r, SPLIT, FRESH)                                                            \
  do {                                                                                          \
    const int fetch = (r) + ahead < rows;                                                       \
    LNK_NAME(lnk_backward_row_avx2)(dy + (r) * n, x + (r) * n, dx ? dx + (r) * n : NULL, n,     \
                                    shift[r], center[r], rstd[r], centered, w, dw, db,          \
                                    streaming, fetch ? dy + ((r) + ahead) * n : NULL,           \
                                    fetch ? x + ((r) + ahead) * n : NULL, SPLIT, FRESH);        \
  } while (0)
#define LNK_EACH_ROW(SPLIT)                                                                     \
  for (ptrdiff_t r = 0; r < rows; r++) LNK_ONE_ROW(r, SPLIT, 0);
  if (row_bytes >= LNK_FRESH_ROW_BYTES) {
    // The first row writes dw and db (its products; the same values as added to zeros,
    // but a zero's sign, which lnk_add_blocks's Double sum from +0 drops) and the others
    // add into them: no zeroing pass where it is not negligible. The Swift layer's blocks
    // of long rows are a few rows each, so their sums are a large share of the traffic (a
    // quarter of the input at 16x65536, where zeroing them took 7 % of a profile): 4-6 %
    // faster there in Float, 2 % in Double (in-process A/B in the benchmark, two runs), no
    // different at 512x16384, 64x65536, 128x32768 (0.98-1.03). Shorter rows zero first:
    // the first row's loop of its own measured 1-6 % slower in cache (kernel-ab, 64x768,
    // 256x256, 128x512, two runs).
    LNK_ONE_ROW(0, streaming ? 1 : 0, 1);
    for (ptrdiff_t r = 1; r < rows; r++) LNK_ONE_ROW(r, streaming ? 1 : 0, 0);
  } else {
    LNK_NAME(lnk_zero_partials)(dw, db, n);
    if (row_bytes < 4096 || !streaming) { LNK_EACH_ROW(0) }
    else { LNK_EACH_ROW(1) }
  }
#undef LNK_EACH_ROW
#undef LNK_ONE_ROW
}

// The end of one row's first pass after its whole 512-bit vectors (from element i), as
// lnk_backward_row_avx512, lnk_first_pass_pair and lnk_backward_pipelined end a chunk: the
// chunk's sums in Double.
static inline __attribute__((always_inline)) LNK_TARGET512 void LNK_NAME(lnk_first_pass_tail)(
    const T *dy, const T *x, ptrdiff_t i, ptrdiff_t end, T shift, T center, T rstd,
    const T *w, T *dw, T *db, ZVEC za, ZVEC zb, const int fresh, double *sum_g,
    double *sum_gxh) {
  const VEC sh = VSET1(shift), ce = VSET1(center), r = VSET1(rstd);
  double a = 0, bsum = 0;
  VEC a0 = ZLOW(za), a1 = ZHIGH(za), b0 = ZLOW(zb), b1 = ZHIGH(zb);
  LNK_FIRST_PASS_END();
  *sum_g = a;
  *sum_gxh = bsum;
}

// The backward of rows whose input gradient is written to cache (not streamed), in 512-bit
// vectors, with the same bits as lnk_backward_row_avx2: a 512-bit accumulator of the first
// pass holds that kernel's two 256-bit ones side by side (its lanes add the same elements
// in the same order), its halves added as that kernel adds its two, and every other step
// (the weight and bias sums, the input gradient) is elementwise. Fetches as there. Against
// the 256-bit kernel (kernel-ab against 02bb2ce, two runs): Float 64x768 7.9-8.6 against
// 10.1 us, 256x256 12.0-13.0 against 14.6-14.7, 128x1024 23.6-23.7 against 27.8-28.5,
// 16x16384 71.7-72.3 against 77.4-79.0, 16x65536 388-394 against 407-412; Double 1.08-1.25x
// on the same shapes but 16x65536 (the same). In the benchmark (three alternating runs):
// Float 256x256 15.4-16.8 against 17.9-18.6 us, 64x768 2-4 % faster; Double 64x768 and
// 256x256 10 %, 128x1024 18-22 %.
static inline __attribute__((always_inline)) LNK_TARGET512 void LNK_NAME(lnk_backward_row_avx512)(
    const T *dy, const T *x, T *dx, ptrdiff_t n, T shift, T center, T rstd, int centered,
    const T *w, T *dw, T *db, const T *next_dy, const T *next_x, const int fresh,
    const double *given) {
  const int l2 = lnk_fetch_into_l2();
  const ZVEC zsh = ZSET1(shift), zce = ZSET1(center), zr = ZSET1(rstd);
  double a = given ? given[0] : 0, bsum = given ? given[1] : 0;
  if (!given) for (ptrdiff_t start = 0; start < n; start += LNK_FLUSH) {
    const ptrdiff_t end = start + LNK_FLUSH < n ? start + LNK_FLUSH : n;
    ZVEC za = ZSETZERO(), zb = ZSETZERO();
    ptrdiff_t i = start;
    for (; i + ZLANES <= end; i += ZLANES) {
      const ZVEC xh = ZMUL(ZSUB(ZSUB(ZLOAD(x + i), zsh), zce), zr);
      const ZVEC d = ZLOAD(dy + i);
      const ZVEC g = w ? ZMUL(d, ZLOAD(w + i)) : d;
      za = ZADD(za, g);
      zb = ZFMA(g, xh, zb);
      if (dw) ZSTORE(dw + i, fresh ? ZMUL(d, xh) : ZFMA(d, xh, ZLOAD(dw + i)));
      if (db) ZSTORE(db + i, fresh ? d : ZADD(ZLOAD(db + i), d));
    }
    double chunk_g, chunk_gxh;
    LNK_NAME(lnk_first_pass_tail)(dy, x, i, end, shift, center, rstd, w, dw, db, za, zb, fresh,
                                  &chunk_g, &chunk_gxh);
    a += chunk_g;
    bsum += chunk_gxh;
  }
  if (!dx) return;
  const T ca = centered ? (T)(a / (double)n) : 0;
  const T cb = (T)(bsum / (double)n);
  const ZVEC va = ZSET1(ca), vb = ZSET1(cb);
  ptrdiff_t i = 0;
  // A vector is a line: one line of the row ahead per 64 bytes of this row, as the 256-bit
  // kernel fetches.
  for (; i + ZLANES <= n; i += ZLANES) {
    if (next_dy) {
      LNK_FETCH(next_dy + i, l2);
      LNK_FETCH(next_x + i, l2);
    }
    const ZVEC xh = ZMUL(ZSUB(ZSUB(ZLOAD(x + i), zsh), zce), zr);
    const ZVEC d = ZLOAD(dy + i);
    const ZVEC g = w ? ZMUL(d, ZLOAD(w + i)) : d;
    ZSTORE(dx + i, ZMUL(zr, ZSUB(ZSUB(g, va), ZMUL(xh, vb))));
  }
  if (i < n) {
    if (next_dy) {
      LNK_FETCH(next_dy + i, l2);
      LNK_FETCH(next_x + i, l2);
    }
    const ZMASK m = (ZMASK)((1u << (n - i)) - 1);
    const ZVEC xh = ZMUL(ZSUB(ZSUB(ZMASKLOAD(x + i, m), zsh), zce), zr);
    const ZVEC d = ZMASKLOAD(dy + i, m);
    const ZVEC g = w ? ZMUL(d, ZMASKLOAD(w + i, m)) : d;
    ZMASKSTORE(dx + i, m, ZMUL(zr, ZSUB(ZSUB(g, va), ZMUL(xh, vb))));
  }
}

// The first pass of rows r and r + 1 at once, in 512-bit vectors: each row's sums as
// lnk_backward_row_avx512 adds them, and the weight and bias sums loaded and stored once
// for the two rows, row r added first (fma(d1, xh1, fma(d0, xh0, dw)) is what the rows one
// at a time compute): the same bits. With `fresh`, row r writes them. Long rows' partial
// sums do not stay in L1 (16 KiB rows: 64 KiB of x, dy and the two sums), and one row at a
// time loads and stores them once a row. In cache, against one row at a time (kernel-ab
// against b97a715): Float 16x65536 309 against 347 us, 15x65537 285 against 321, 256x4096
// 241 against 276, 128x4096 119 against 136, 16x16384 57 against 63; Double 128x4096 236
// against 267, 15x65537 687 against 772, 16x16384 124 against 134; 64x16384 (partials in
// L2) 231 against 244 in Float, the same in Double. In a C driver, rows of 8 KiB lost
// (Float 256x2048 108-110 against 95 us, Double 128x1024 54-56 against 45-47: one row's x
// and dy stay in L1 for its second pass, two rows' do not), and four rows at a time were
// no better than two where the rows start 32 bytes into a line (Float 16x65536 339-356
// against 316-325 us). Streamed outputs (rows from memory) gained nothing (Float 512x16384,
// 256x32768, 64x65536, Double 128x32768, within noise), so the streamed kernels are as they
// were.
#define LNK_PAIR_ROW_BYTES 16384
static inline __attribute__((always_inline)) LNK_TARGET512 void LNK_NAME(lnk_first_pass_pair)(
    const T *dy, const T *x, ptrdiff_t n, const T *shift, const T *center, const T *rstd,
    const T *w, T *dw, T *db, const int fresh, double sum_g[2], double sum_gxh[2]) {
  const T *const x1 = x + n, *const dy1 = dy + n;
  const ZVEC sh0 = ZSET1(shift[0]), ce0 = ZSET1(center[0]), r0 = ZSET1(rstd[0]);
  const ZVEC sh1 = ZSET1(shift[1]), ce1 = ZSET1(center[1]), r1 = ZSET1(rstd[1]);
  sum_g[0] = sum_g[1] = sum_gxh[0] = sum_gxh[1] = 0;
  for (ptrdiff_t start = 0; start < n; start += LNK_FLUSH) {
    const ptrdiff_t end = start + LNK_FLUSH < n ? start + LNK_FLUSH : n;
    ZVEC za0 = ZSETZERO(), zb0 = ZSETZERO(), za1 = ZSETZERO(), zb1 = ZSETZERO();
    ptrdiff_t i = start;
    for (; i + ZLANES <= end; i += ZLANES) {
      const ZVEC xh0 = ZMUL(ZSUB(ZSUB(ZLOAD(x + i), sh0), ce0), r0);
      const ZVEC xh1 = ZMUL(ZSUB(ZSUB(ZLOAD(x1 + i), sh1), ce1), r1);
      const ZVEC d0 = ZLOAD(dy + i), d1 = ZLOAD(dy1 + i);
      const ZVEC wv = w ? ZLOAD(w + i) : d0;
      const ZVEC g0 = w ? ZMUL(d0, wv) : d0, g1 = w ? ZMUL(d1, wv) : d1;
      za0 = ZADD(za0, g0);
      zb0 = ZFMA(g0, xh0, zb0);
      za1 = ZADD(za1, g1);
      zb1 = ZFMA(g1, xh1, zb1);
      if (dw) ZSTORE(dw + i, ZFMA(d1, xh1, fresh ? ZMUL(d0, xh0) : ZFMA(d0, xh0, ZLOAD(dw + i))));
      if (db) ZSTORE(db + i, ZADD(fresh ? d0 : ZADD(ZLOAD(db + i), d0), d1));
    }
    // The elements after the whole vectors, one row after the other (each element still
    // gets row r's term first).
    double a, bsum;
    LNK_NAME(lnk_first_pass_tail)(dy, x, i, end, shift[0], center[0], rstd[0], w, dw, db, za0,
                                  zb0, fresh, &a, &bsum);
    sum_g[0] += a;
    sum_gxh[0] += bsum;
    LNK_NAME(lnk_first_pass_tail)(dy1, x1, i, end, shift[1], center[1], rstd[1], w, dw, db, za1,
                                  zb1, 0, &a, &bsum);
    sum_g[1] += a;
    sum_gxh[1] += bsum;
  }
}

// lnk_backward_each_row for an input gradient written to cache, with the 512-bit row kernel.
static LNK_TARGET512 void LNK_NAME(lnk_backward_rows_avx512)(
    const T *dy, const T *x, T *dx, ptrdiff_t rows, ptrdiff_t n, const T *shift,
    const T *center, const T *rstd, int centered, const T *w, T *dw, T *db) {
  const ptrdiff_t row_bytes = n * (ptrdiff_t)sizeof(T);
  const ptrdiff_t ahead =
      row_bytes >= LNK_NEAR_FETCH_BYTES ? 1 : (LNK_NEAR_FETCH_BYTES + row_bytes - 1) / row_bytes;
  const int fresh_first = row_bytes >= LNK_FRESH_ROW_BYTES;
  if (!fresh_first) LNK_NAME(lnk_zero_partials)(dw, db, n);
  // Rows of LNK_PAIR_ROW_BYTES or more take their first pass two at a time (see
  // lnk_first_pass_pair), then their second passes one after the other, each fetching the
  // row two on.
  const int pairs = row_bytes >= LNK_PAIR_ROW_BYTES;
  // Row r (its first pass too unless SUMS gives its sums), fetching the row AHEAD rows on.
#define LNK_Z_ROW(r, FRESH, AHEAD, SUMS)                                                      \
  do {                                                                                        \
    const int fetch = (r) + (AHEAD) < rows;                                                   \
    LNK_NAME(lnk_backward_row_avx512)(dy + (r) * n, x + (r) * n, dx ? dx + (r) * n : NULL, n, \
                                      shift[r], center[r], rstd[r], centered, w, dw, db,      \
                                      fetch ? dy + ((r) + (AHEAD)) * n : NULL,                \
                                      fetch ? x + ((r) + (AHEAD)) * n : NULL, FRESH, SUMS);   \
  } while (0)
#define LNK_Z_PAIR(r, FRESH)                                                                  \
  do {                                                                                        \
    double sum_g[2], sum_gxh[2];                                                              \
    LNK_NAME(lnk_first_pass_pair)(dy + (r) * n, x + (r) * n, n, shift + (r), center + (r),    \
                                  rstd + (r), w, dw, db, FRESH, sum_g, sum_gxh);              \
    if (dx) {                                                                                 \
      const double sums0[2] = {sum_g[0], sum_gxh[0]}, sums1[2] = {sum_g[1], sum_gxh[1]};      \
      LNK_Z_ROW(r, 0, 2, sums0);                                                              \
      LNK_Z_ROW((r) + 1, 0, 2, sums1);                                                        \
    }                                                                                         \
  } while (0)
#define LNK_Z_ROWS                                                                            \
  {                                                                                           \
    ptrdiff_t r = 0;                                                                          \
    if (pairs && rows >= 2 && fresh_first) {                                                  \
      LNK_Z_PAIR(0, 1);                                                                       \
      r = 2;                                                                                  \
    }                                                                                         \
    for (; pairs && r + 2 <= rows; r += 2) LNK_Z_PAIR(r, 0);                                  \
    if (fresh_first && r == 0) {                                                              \
      LNK_Z_ROW(0, 1, ahead, NULL);                                                           \
      r = 1;                                                                                  \
    }                                                                                         \
    for (; r < rows; r++) LNK_Z_ROW(r, 0, ahead, NULL);                                       \
  }
  // PyTorch's case (every gradient, with a weight) in its own copy, as the 256-bit kernel.
  if (w && dw && db && dx) { LNK_Z_ROWS }
  else { LNK_Z_ROWS }
#undef LNK_Z_ROWS
#undef LNK_Z_PAIR
#undef LNK_Z_ROW
}

// The backward two rows in flight, in 512-bit vectors: one loop does the first pass of row
// q and the second pass of row q - 1, whose sums were finished the step before. One row at
// a time, a row's second pass waits for the end of its first (lane sums, two divisions),
// and that wait is not hidden: in cache, the loops without the second pass's dependence on
// the sums ran in 70 % of the time. Per row the same operations as
// lnk_backward_row_avx512 and the 256-bit kernel, the weight and bias sums still add the
// rows in order: the same bits.
// - In cache (outputs under 8 MiB), rows up to LNK_FLUSH elements and 6 KiB, against the
//   one-row kernels (kernel-ab against eaba476, two runs): Float 256x128 5.4 against
//   6.5-6.7 us, 256x256 9.6-9.8 against 11.0, 64x768 6.4-6.7 against 7.3-7.6, 1024x128
//   23.0-23.4 against 27.1-27.7, 8192x128 183-193 against 218-221; Double 256x256 19.5-20.0
//   against 22.3-22.4, 64x768 14.4-14.9 against 15.9-16.7. Rows of 8 KiB ran slower (Double
//   128x1024 57.7 against 49.1: two rows of x and dy and the sums no longer fit in L1), and
//   fetching the rows ahead during the loop, as the one-row kernel does, made it slower
//   (64x768 8.0 against 7.3), so it fetches nothing in cache.
// - Streamed, rows of 256 bytes to 1 KiB, the row 8 KiB ahead fetched (kernel-ab, buffers
//   48 bytes past a page): Float 32768x128 850-908 against 1191-1209 us, 16384x256 839-888
//   against 1029-1056, 65536x64 1176-1220 against 1425-1459, 16384x192 610 against 842;
//   Double 32768x128 1746-1785 against 1984-1995, 65536x64 1784-1842 against 2098-2197.
//   Longer rows lost in Double (16384x256 2902 against 1889 us, 4096x768 2227 against 1514)
//   and were mixed in Float (4096x768 762 against 714 us; 16384x320 999 against 1245), and
//   Double rows of 128 bytes lost too (262144x16 3.43-3.48 against 3.16 ms), so the range is
//   the one measured. 4 and 12 KiB ahead were no better than 8; no fetch was slower.
#define LNK_PIPELINED_ROW_BYTES 6144
// xhat's centering, (x - shift) - center, in the 512-bit pipelined kernels; with
// `zero_center` (every center +0, as the forward's saved statistics give: the mean as the
// shift, no center) x - shift alone, the same bits: v - (+0) is v for every v, -0, the
// infinities and NaN included. One operation less a vector in each pass (kernel-ab 3f9697f,
// zero centers, two runs): Float 32768x128 1732-2001 against 1935-2166 us, 65536x64
// 2122-2124 against 2304-2315, 4096x128 118-122 against 126-129, 256x256 13.9-14.3 against
// 14.7-15.1; 48 bytes into a line 65536x64 2350 against 2466, 16384x256 2043 against
// 2103; Double within 2 %. The 256-bit row kernel (longer streamed rows) gained 0-2 % so
// (Float 4096x768 to 512x16384) and keeps its centers.
#define LNK_CENTER(v, sh, ce) (zero_center ? ZSUB((v), (sh)) : ZSUB(ZSUB((v), (sh)), (ce)))
#define LNK_PIPELINED_STREAM_MIN_BYTES 256
#define LNK_PIPELINED_STREAM_MAX_BYTES 1024
#define LNK_PIPELINED_FETCH_BYTES 8192
static inline __attribute__((always_inline)) LNK_TARGET512 void LNK_NAME(lnk_backward_pipelined)(
    const T *dy, const T *x, T *dx, ptrdiff_t rows, ptrdiff_t n, const T *shift,
    const T *center, const T *rstd, int centered, const T *w, T *dw, T *db, ptrdiff_t ahead,
    const int all, const int streaming, const int zero_center) {
  const int l2 = lnk_fetch_into_l2();
  // With `all` (a constant), every pointer is known to be there: loops without the tests.
#define LNK_HAS(p) (all || (p) != NULL)
  const ptrdiff_t piece = 16 / (ptrdiff_t)sizeof(T);
  const ptrdiff_t whole = n - n % ZLANES;
  ZVEC va = ZSETZERO(), vb = ZSETZERO();  // row q - 1's
  for (ptrdiff_t q = 0; q <= rows; q++) {
    const int first = q < rows, second = q > 0 && LNK_HAS(dx);
    // Row q's first pass and row q - 1's second (pointers formed only for rows there).
    const T *x1 = first ? x + q * n : x, *dy1 = first ? dy + q * n : dy;
    const T *x2 = second ? x + (q - 1) * n : x, *dy2 = second ? dy + (q - 1) * n : dy;
    T *dx2 = second ? dx + (q - 1) * n : NULL;
    const ZVEC sh1 = ZSET1(first ? shift[q] : 0), ce1 = ZSET1(first ? center[q] : 0),
               r1 = ZSET1(first ? rstd[q] : 0);
    const ZVEC sh2 = ZSET1(q > 0 ? shift[q - 1] : 0), ce2 = ZSET1(q > 0 ? center[q - 1] : 0),
               r2 = ZSET1(q > 0 ? rstd[q - 1] : 0);
    // The row `ahead` rows on, fetched a line per vector of the first pass (streamed only).
    const int fetch = ahead > 0 && q + ahead < rows;
    const T *next_x = fetch ? x + (q + ahead) * n : x, *next_dy = fetch ? dy + (q + ahead) * n : dy;
    // The second pass's whole vectors start at a 64-byte boundary of dx (the `head`
    // elements before it, and the ones after the last whole vector, go out separately): a
    // store that straddles two lines costs two, and a streamed store of a whole line needs
    // it. Elementwise, so any grouping gives the same bits. In cache, against whole vectors
    // from the row's start (kernel-ab against a418987, buffers 48 bytes into a line, two
    // runs): Float 64x768 6.0-6.4 against 6.5-6.9 us, 128x512 8.5-8.8 against 9.7; Double
    // 64x768 14.5-15.3 against 15.3-15.9, 256x256 19.6-20.8 against 21.4-22.1.
    const ptrdiff_t head =
        second && n >= 2 * ZLANES ? (ptrdiff_t)((-(size_t)dx2 & 63) / sizeof(T)) : 0;
    const ptrdiff_t whole2 = second ? head + (n - head) / ZLANES * ZLANES : 0;
    const ptrdiff_t both = first ? (whole2 - head < whole ? whole2 - head : whole) : 0;
    ZVEC za = ZSETZERO(), zb = ZSETZERO();
#define LNK_P_FETCH(j)                                              \
  do {                                                              \
    LNK_FETCH(next_dy + (j), l2);                                   \
    LNK_FETCH(next_x + (j), l2);                                    \
  } while (0)
#define LNK_P_FIRST(j)                                                             \
  do {                                                                             \
    const ZVEC xh = ZMUL(LNK_CENTER(ZLOAD(x1 + (j)), sh1, ce1), r1);                \
    const ZVEC d = ZLOAD(dy1 + (j));                                               \
    const ZVEC g = LNK_HAS(w) ? ZMUL(d, ZLOAD(w + (j))) : d;                       \
    za = ZADD(za, g);                                                              \
    zb = ZFMA(g, xh, zb);                                                          \
    if (LNK_HAS(dw)) ZSTORE(dw + (j), ZFMA(d, xh, ZLOAD(dw + (j))));               \
    if (LNK_HAS(db)) ZSTORE(db + (j), ZADD(ZLOAD(db + (j)), d));                   \
  } while (0)
#define LNK_P_VALUE(v, j, LOAD)                                                    \
  do {                                                                             \
    const ZVEC xh = ZMUL(LNK_CENTER(LOAD(x2 + (j)), sh2, ce2), r2);                 \
    const ZVEC d = LOAD(dy2 + (j));                                                \
    const ZVEC g = LNK_HAS(w) ? ZMUL(d, LOAD(w + (j))) : d;                        \
    v = ZMUL(r2, ZSUB(ZSUB(g, va), ZMUL(xh, vb)));                                 \
  } while (0)
#define LNK_P_SECOND(j)                                                            \
  do {                                                                             \
    ZVEC v;                                                                        \
    LNK_P_VALUE(v, j, ZLOAD);                                                      \
    if (streaming) ZSTREAM(dx2 + (j), v);                                          \
    else ZSTORE(dx2 + (j), v);                                                     \
  } while (0)
    // The elements outside the whole vectors, `count` from `start` (fewer than a vector):
    // in cache one masked store each side; streamed, 16-byte pieces.
#define LNK_P_MASKED_LOAD(p) ZMASKLOAD(p, m)
#define LNK_P_PART(start, count)                                                   \
  if ((count) > 0) {                                                               \
    const ZMASK m = (ZMASK)((1u << (count)) - 1);                                  \
    ZVEC v;                                                                        \
    LNK_P_VALUE(v, (start), LNK_P_MASKED_LOAD);                                    \
    if (!streaming) {                                                              \
      ZMASKSTORE(dx2 + (start), m, v);                                             \
    } else {                                                                       \
      ZSTREAM_LOW(dx2 + (start), v);                                               \
      if ((count) > piece) ZSTREAM_PIECE(dx2 + (start) + piece, v, 1);             \
      if ((count) > 2 * piece) ZSTREAM_PIECE(dx2 + (start) + 2 * piece, v, 2);     \
    }                                                                              \
  }
    // With `streaming` 2 (dx just after x or dy modulo 4096, see lnk_near_after) the second
    // pass goes down the row: a streamed store then comes after every load it could match.
    // Against the one-row kernel's loads ahead of its stores, which such rows took before
    // (a C driver of the package's blocks, Float, dx 48 bytes after dy, two or three runs):
    // 32768x128 978-995 against 1172-1207 us, 16384x256 860-863 against 1029, 16384x192
    // 633-635 against 784-836, 65536x64 1284-1320 against 1365-1383.
    // The part of the row before the whole vectors first (after them, going down).
    if (second) {
      if (streaming == 2) { LNK_P_PART(whole2, n - whole2); }
      else { LNK_P_PART(0, head); }
    }
    ptrdiff_t j = 0;
    if (fetch) {
      for (; j < both; j += ZLANES) {
        LNK_P_FETCH(j);
        LNK_P_FIRST(j);
        LNK_P_SECOND(streaming == 2 ? whole2 - ZLANES - j : head + j);
      }
    } else {
      for (; j < both; j += ZLANES) {
        LNK_P_FIRST(j);
        LNK_P_SECOND(streaming == 2 ? whole2 - ZLANES - j : head + j);
      }
    }
    if (first) {
      for (ptrdiff_t k = j; k < whole; k += ZLANES) {
        if (fetch) LNK_P_FETCH(k);
        LNK_P_FIRST(k);
      }
      if (fetch && whole < n) LNK_P_FETCH(whole);
    }
    if (second) {
      if (streaming == 2) {
        for (ptrdiff_t k = whole2 - ZLANES - j; k >= head; k -= ZLANES) LNK_P_SECOND(k);
        LNK_P_PART(0, head);
      } else {
        for (ptrdiff_t k = head + j; k < whole2; k += ZLANES) LNK_P_SECOND(k);
        LNK_P_PART(whole2, n - whole2);
      }
    }
#undef LNK_P_PART
#undef LNK_P_MASKED_LOAD
#undef LNK_P_SECOND
#undef LNK_P_VALUE
#undef LNK_P_FIRST
#undef LNK_P_FETCH
    if (!first) break;
    double a, bsum;
    LNK_NAME(lnk_first_pass_tail)(dy1, x1, whole, n, shift[q], center[q], rstd[q], w, dw, db,
                                  za, zb, 0, &a, &bsum);
    va = ZSET1(centered ? (T)(a / (double)n) : 0);
    vb = ZSET1((T)(bsum / (double)n));
  }
#undef LNK_HAS
}

// lnk_backward_pipelined for PyTorch's case (every gradient, with a weight), rows in pairs:
// rows q and q + 1 take their first pass together, loading and storing the weight and bias
// sums once for both (row q's term added first, as lnk_first_pass_pair does), while rows
// q - 2 and q - 1 take their second pass in the same loop. Per row the same operations as
// lnk_backward_pipelined: the same bits (the "64-byte boundaries" backward test compares
// the two). Needs `rows` even, n a multiple of ZLANES and every row of dx starting on a
// 64-byte boundary (where the one-row kernel's `head` is 0). Fetches rows q + 2 * ahead and
// the one after.
// Float rows of up to LNK_PAIRS_ROW_BYTES take it. kernel-ab against 1937104 (buffers
// 64-byte aligned): in cache 4096x128 75 against 88 us, 256x128 4.2 against 4.8, 4096x32
// 27.6 against 41.7, 4096x16 20.8 against 34.4, 2048x48 16.9 against 23.7; streamed
// 32768x128 732 against 783, 65536x64 874 against 1098. Rows of 1 KiB were mixed (256x256
// 7.4 against 7.9 us, 2048x256 72.4 against 70.0, 16384x256 693 against 697), longer ones
// slower (128x512 8.9 against 7.1 us, 64x768 6.2 against 4.9). Double rows lost (this
// kernel for Double as well, two runs: 32768x128 2072-2087 against 1667-1672 us, 65536x64
// 2052-2153 against 1666-1677, 4096x128 the same); why is not known. A form that also took
// rows not on a 64-byte boundary and any n (the one-row kernel's head and tail parts, its
// loops split around them) lost the gain (32768x128 816 against 783 us, 65536x64 1054
// against 1073); its main loop reloaded eight pointers from the stack at every vector,
// which may be why.
#define LNK_PAIRS_ROW_BYTES 512
static inline __attribute__((always_inline)) LNK_TARGET512 void LNK_NAME(lnk_backward_pairs)(
    const T *dy, const T *x, T *dx, ptrdiff_t rows, ptrdiff_t n, const T *shift,
    const T *center, const T *rstd, int centered, const T *w, T *dw, T *db, ptrdiff_t ahead,
    const int streaming, const int zero_center) {
  const int l2 = lnk_fetch_into_l2();
  ZVEC va0 = ZSETZERO(), vb0 = ZSETZERO(), va1 = ZSETZERO(), vb1 = ZSETZERO();
  for (ptrdiff_t q = 0; q <= rows; q += 2) {
    const int first = q < rows, second = q > 0;
    // Rows a and b (q, q + 1) take their first pass, c and d (q - 2, q - 1) their second.
    const T *xa = first ? x + q * n : x, *dya = first ? dy + q * n : dy;
    const T *xb = xa + (first ? n : 0), *dyb = dya + (first ? n : 0);
    const T *xc = second ? x + (q - 2) * n : x, *dyc = second ? dy + (q - 2) * n : dy;
    const T *xd = xc + (second ? n : 0), *dyd = dyc + (second ? n : 0);
    T *dxc = second ? dx + (q - 2) * n : dx, *dxd = dxc + (second ? n : 0);
    const ZVEC sha = ZSET1(first ? shift[q] : 0), cea = ZSET1(first ? center[q] : 0),
               ra = ZSET1(first ? rstd[q] : 0);
    const ZVEC shb = ZSET1(first ? shift[q + 1] : 0), ceb = ZSET1(first ? center[q + 1] : 0),
               rb = ZSET1(first ? rstd[q + 1] : 0);
    const ZVEC shc = ZSET1(second ? shift[q - 2] : 0), cec = ZSET1(second ? center[q - 2] : 0),
               rc = ZSET1(second ? rstd[q - 2] : 0);
    const ZVEC shd = ZSET1(second ? shift[q - 1] : 0), ced = ZSET1(second ? center[q - 1] : 0),
               rd = ZSET1(second ? rstd[q - 1] : 0);
    const int fetch = ahead > 0 && q + 2 * ahead + 1 < rows;
    const T *next_x = fetch ? x + (q + 2 * ahead) * n : x,
            *next_dy = fetch ? dy + (q + 2 * ahead) * n : dy;
    ZVEC zaa = ZSETZERO(), zba = ZSETZERO(), zab = ZSETZERO(), zbb = ZSETZERO();
#define LNK_Q_SECOND(X, DY, DX, SH, CE, R, VA, VB)                                 \
  do {                                                                             \
    const ZVEC xh = ZMUL(LNK_CENTER(ZLOAD(X + j), SH, CE), R);                      \
    const ZVEC g = ZMUL(ZLOAD(DY + j), wv);                                        \
    const ZVEC v = ZMUL(R, ZSUB(ZSUB(g, VA), ZMUL(xh, VB)));                       \
    if (streaming) ZSTREAM(DX + j, v);                                             \
    else ZSTORE(DX + j, v);                                                        \
  } while (0)
    for (ptrdiff_t j = 0; j < n; j += ZLANES) {
      const ZVEC wv = ZLOAD(w + j);
      if (first) {
        if (fetch) {
          LNK_FETCH(next_dy + j, l2);
          LNK_FETCH(next_x + j, l2);
          LNK_FETCH(next_dy + n + j, l2);
          LNK_FETCH(next_x + n + j, l2);
        }
        const ZVEC xha = ZMUL(LNK_CENTER(ZLOAD(xa + j), sha, cea), ra);
        const ZVEC xhb = ZMUL(LNK_CENTER(ZLOAD(xb + j), shb, ceb), rb);
        const ZVEC da = ZLOAD(dya + j), dbv = ZLOAD(dyb + j);
        const ZVEC ga = ZMUL(da, wv), gb = ZMUL(dbv, wv);
        zaa = ZADD(zaa, ga);
        zba = ZFMA(ga, xha, zba);
        zab = ZADD(zab, gb);
        zbb = ZFMA(gb, xhb, zbb);
        ZSTORE(dw + j, ZFMA(dbv, xhb, ZFMA(da, xha, ZLOAD(dw + j))));
        ZSTORE(db + j, ZADD(ZADD(ZLOAD(db + j), da), dbv));
      }
      if (second) {
        LNK_Q_SECOND(xc, dyc, dxc, shc, cec, rc, va0, vb0);
        LNK_Q_SECOND(xd, dyd, dxd, shd, ced, rd, va1, vb1);
      }
    }
#undef LNK_Q_SECOND
    if (!first) break;
    // The rows' sums (no elements after the whole vectors), row a's then row b's.
    double a, bsum;
    LNK_NAME(lnk_first_pass_tail)(dya, xa, n, n, shift[q], center[q], rstd[q], w, dw, db,
                                  zaa, zba, 0, &a, &bsum);
    va0 = ZSET1(centered ? (T)(a / (double)n) : 0);
    vb0 = ZSET1((T)(bsum / (double)n));
    LNK_NAME(lnk_first_pass_tail)(dyb, xb, n, n, shift[q + 1], center[q + 1], rstd[q + 1], w,
                                  dw, db, zab, zbb, 0, &a, &bsum);
    va1 = ZSET1(centered ? (T)(a / (double)n) : 0);
    vb1 = ZSET1((T)(bsum / (double)n));
  }
}

// lnk_backward_pipelined over a block: PyTorch's case (every gradient, with a weight) in its
// own copy, as elsewhere.
static LNK_TARGET512 void LNK_NAME(lnk_backward_rows_pipelined)(
    const T *dy, const T *x, T *dx, ptrdiff_t rows, ptrdiff_t n, const T *shift,
    const T *center, const T *rstd, int centered, const T *w, T *dw, T *db, int streaming) {
  LNK_NAME(lnk_zero_partials)(dw, db, n);
  const ptrdiff_t row_bytes = n * (ptrdiff_t)sizeof(T);
  const ptrdiff_t ahead =
      streaming ? (LNK_PIPELINED_FETCH_BYTES + row_bytes - 1) / row_bytes : 0;
  // PyTorch's case from the forward's saved statistics (`centered` 2: every center +0) takes
  // copies without the centers (see LNK_CENTER).
  const int all = w && dw && db && dx, zero_center = all && centered == 2;
  // Float rows of whole lines up to LNK_PAIRS_ROW_BYTES on 64-byte boundaries in pairs (see
  // lnk_backward_pairs), an odd last row alone; not where the second pass runs down the
  // row (`streaming` 2).
  if (sizeof(T) == 4 && all && streaming != 2 && rows >= 2 && n % ZLANES == 0 &&
      row_bytes % 64 == 0 && row_bytes <= LNK_PAIRS_ROW_BYTES && ((size_t)dx & 63) == 0) {
    const ptrdiff_t even = rows - rows % 2;
#define LNK_PAIRS(AHEAD, STREAMING, ZERO_CENTER)                                            \
  LNK_NAME(lnk_backward_pairs)(dy, x, dx, even, n, shift, center, rstd, centered, w, dw, db, \
                               AHEAD, STREAMING, ZERO_CENTER)
    if (streaming && zero_center) LNK_PAIRS((ahead + 1) / 2, 1, 1);
    else if (streaming) LNK_PAIRS((ahead + 1) / 2, 1, 0);
    else if (zero_center) LNK_PAIRS(0, 0, 1);
    else LNK_PAIRS(0, 0, 0);
#undef LNK_PAIRS
    if (even < rows)
      LNK_NAME(lnk_backward_pipelined)(dy + even * n, x + even * n, dx + even * n, 1, n,
                                       shift + even, center + even, rstd + even, centered, w,
                                       dw, db, 0, 1, streaming, 0);
    return;
  }
#define LNK_PIPELINED(ALL, STREAMING, ZERO_CENTER)                                          \
  LNK_NAME(lnk_backward_pipelined)(dy, x, dx, rows, n, shift, center, rstd, centered, w, dw, \
                                   db, ahead, ALL, STREAMING, ZERO_CENTER)
  if (zero_center) {
    if (streaming == 2) LNK_PIPELINED(1, 2, 1);
    else if (streaming) LNK_PIPELINED(1, 1, 1);
    else LNK_PIPELINED(1, 0, 1);
  } else if (all) {
    if (streaming == 2) LNK_PIPELINED(1, 2, 0);
    else if (streaming) LNK_PIPELINED(1, 1, 0);
    else LNK_PIPELINED(1, 0, 0);
  } else if (streaming == 2) {
    LNK_PIPELINED(0, 2, 0);
  } else if (streaming) {
    LNK_PIPELINED(0, 1, 0);
  } else {
    LNK_PIPELINED(0, 0, 0);
  }
#undef LNK_PIPELINED
}
#undef LNK_CENTER

static LNK_TARGET void LNK_NAME(lnk_backward_rows_avx2)(
    const T *dy, const T *x, T *dx, ptrdiff_t rows, ptrdiff_t n, const T *shift,
    const T *center, const T *rstd, int centered, const T *w, T *dw, T *db, int streaming) {
  if (n == LANES || (n == 2 * LANES && LANES == 4)) LNK_NAME(lnk_zero_partials)(dw, db, n);
  // Rows of one vector, and Double rows of 8 (two), in groups of LANES rows: the row
  // kernel's fixed cost per row is more than such a row's work.
  if (n == LANES) {
    LNK_NAME(lnk_backward_groups)(1, dy, x, dx, rows, shift, center, rstd, centered, w, dw, db,
                                  streaming);
    return;
  }
  if (n == 2 * LANES && LANES == 4) {
    LNK_NAME(lnk_backward_groups)(2, dy, x, dx, rows, shift, center, rstd, centered, w, dw, db,
                                  streaming);
    return;
  }
  // dx just after x or dy (see lnk_near_after): the second pass loads ahead of its
  // streamed stores (streaming == 2).
  const size_t reach = LNK_BACKWARD_NEAR_REACH(n * (ptrdiff_t)sizeof(T));
  if (streaming && dx &&
      (LNK_NAME(lnk_near_after)(dx, x, reach) || LNK_NAME(lnk_near_after)(dx, dy, reach)))
    streaming = 2;
  // PyTorch's case (every gradient, with a weight) gets its own copies of the loops, in
  // which the compiler knows the pointers are there and whether stores stream: 2-10 %
  // faster at 4096x768, 8192x1024, 2048x4096 (Scripts/probe.sh kernel-ab), same bits.
  if (w && dw && db && dx) {
    if (streaming == 2)
      LNK_NAME(lnk_backward_each_row)(dy, x, dx, rows, n, shift, center, rstd, centered, w, dw,
                                      db, 2);
    else if (streaming)
      LNK_NAME(lnk_backward_each_row)(dy, x, dx, rows, n, shift, center, rstd, centered, w, dw,
                                      db, 1);
    else
      LNK_NAME(lnk_backward_each_row)(dy, x, dx, rows, n, shift, center, rstd, centered, w, dw,
                                      db, 0);
  } else {
    LNK_NAME(lnk_backward_each_row)(dy, x, dx, rows, n, shift, center, rstd, centered, w, dw, db,
                                    streaming);
  }
}

void LNK_NAME(lnk_backward_rows)(const T *dy, const T *x, T *dx, ptrdiff_t rows, ptrdiff_t n,
                                 const T *shift, const T *center, const T *rstd, int centered,
                                 const T *w, T *dw, T *db, int streaming) {
  if (rows <= 0) {
    LNK_NAME(lnk_zero_partials)(dw, db, n);
    return;
  }
  const ptrdiff_t row_bytes = n * (ptrdiff_t)sizeof(T);
  // 512-bit vectors, except for the rows the 256-bit kernel keeps in groups of registers.
  const int wide = lnk_use_avx512() && n != LANES && !(n == 2 * LANES && LANES == 4);
  if (wide && n <= LNK_FLUSH &&
      (streaming ? row_bytes >= LNK_PIPELINED_STREAM_MIN_BYTES &&
                       row_bytes <= LNK_PIPELINED_STREAM_MAX_BYTES && row_bytes % 16 == 0 &&
                       ((size_t)dx & 15) == 0
                 : row_bytes <= LNK_PIPELINED_ROW_BYTES)) {
    const int near = streaming && dx &&
                     (LNK_NAME(lnk_near_after)(dx, x, LNK_BACKWARD_NEAR_REACH(row_bytes)) ||
                      LNK_NAME(lnk_near_after)(dx, dy, LNK_BACKWARD_NEAR_REACH(row_bytes)));
    LNK_NAME(lnk_backward_rows_pipelined)(dy, x, dx, rows, n, shift, center, rstd, centered, w,
                                          dw, db, near ? 2 : streaming);
    return;
  }
  if (wide && !streaming) {
    LNK_NAME(lnk_backward_rows_avx512)(dy, x, dx, rows, n, shift, center, rstd, centered, w, dw,
                                       db);
    return;
  }
  LNK_NAME(lnk_backward_rows_avx2)(dy, x, dx, rows, n, shift, center, rstd, centered, w, dw,
                                   db, streaming);
}

static LNK_TARGET void LNK_NAME(lnk_add_blocks_avx2)(const T *partials, ptrdiff_t blocks,
                                                     ptrdiff_t stride, ptrdiff_t count,
                                                     T *out) {
  // Sixteen columns at a time, their Double totals in registers while every block's
  // stretch of them is added in block order. Against totals kept in an L1 array a chunk of
  // 256 columns at a time (a load and a store of each total per block): the backward at
  // Float 16x65536 (four blocks of 256 KiB partials per gradient) 434-442 against
  // 468-478 us in the benchmark (three alternating runs; the sums were 13 % of a profile),
  // other shapes within their noise. Same bits.
  ptrdiff_t j = 0;
  for (; j + 16 <= count; j += 16) {
    __m256d t0 = _mm256_setzero_pd(), t1 = t0, t2 = t0, t3 = t0;
    const T *column = partials + j;
    for (ptrdiff_t b = 0; b < blocks; b++, column += stride) {
      t0 = _mm256_add_pd(t0, VLOAD4_PD(column));
      t1 = _mm256_add_pd(t1, VLOAD4_PD(column + 4));
      t2 = _mm256_add_pd(t2, VLOAD4_PD(column + 8));
      t3 = _mm256_add_pd(t3, VLOAD4_PD(column + 12));
    }
    VSTORE4_PD(out + j, t0);
    VSTORE4_PD(out + j + 4, t1);
    VSTORE4_PD(out + j + 8, t2);
    VSTORE4_PD(out + j + 12, t3);
  }
  for (; j < count; j++) {
    double total = 0;
    for (ptrdiff_t b = 0; b < blocks; b++) total += (double)partials[b * stride + j];
    out[j] = (T)total;
  }
}

void LNK_NAME(lnk_add_blocks)(const T *partials, ptrdiff_t blocks, ptrdiff_t stride,
                              ptrdiff_t count, T *out) {
  LNK_NAME(lnk_add_blocks_avx2)(partials, blocks, stride, count, out);
}

#undef LNK_ONE
#undef LNK_VECTOR_LOOP
#undef LNK_VECTOR_STEP
#undef LNK_VECTOR_VALUE
#undef LNK_STREAM_LOOP
#undef LNK_LOOKAHEAD_STEPS
#undef LNK_PAIR_STEP
#undef LNK_PAIR_LOOP
#undef LNK_PAIR_W
#undef LNK_PAIR_B
#undef LNK_FLUSH
#undef LNK_WIDE_STREAM_MIN_BYTES
#undef LNK_WIDE_STREAM_MAX_BYTES
#undef LNK_FIRST_PASS_END
#undef LNK_MOMENTS_END
#undef LNK_ROW8_BLOCKS
#undef LNK_AHEAD
#undef LNK_GROUP_BYTES
#undef LNK_GROUP_CACHED_BYTES
#undef LNK_GROUP_L3_BYTES
#undef LNK_GROUP8_BYTES
#undef LNK_HALF_LEFT
#undef LNK_TINY_SQUARES
#undef LNK_NAME
#undef LNK_CAT
#undef LNK_CAT2
#undef T
#undef SUFFIX
#undef LANES
#undef VEC
#undef VLOAD
#undef VSTORE
#undef VSTREAM
#undef VSTREAM_LOW
#undef VSTREAM_WIDE
#undef VSTREAM_HALVES
#undef VSET1
#undef VZERO
#undef VADD
#undef VSUB
#undef VMUL
#undef VFMA
#undef ZMASKSTORE
#undef ZSTREAM
#undef ZSTREAM_LOW
#undef ZSTREAM_PIECE
#undef LNK_PIPELINED_ROW_BYTES
#undef LNK_PIPELINED_STREAM_MIN_BYTES
#undef LNK_PAIRS_ROW_BYTES
#undef LNK_PIPELINED_STREAM_MAX_BYTES
#undef LNK_PIPELINED_FETCH_BYTES
#undef ZMASKLOAD
#undef ZADD
#undef ZMUL
#undef ZSUB
#undef ZSET1
#undef ZSTORE
#undef ZLOAD
#undef ZMASK
#undef ZLANES
#undef ZVEC
#undef ZSETZERO
#undef ZFMA
#undef ZLOW
#undef ZHIGH
#undef VDIV
#undef VSQRT
#undef VMAX
#undef VIMASK
#undef VHSUM_ROWS
#undef VLANE
#undef VTRANSPOSE
#undef VHSUM_DOUBLE
#undef VLOAD4_PD
#undef VSTORE4_PD
#undef VORDINARY_LANES
#undef LANES_ALL
#undef VMASKSUB
#undef VTAILMASK
#undef VMASKLOAD
#undef VMASKSTORE
