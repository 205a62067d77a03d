// One type-generic body for the AVX2 kernels, included once per element type by Kernels.c
// with T, SUFFIX, LANES and the V* intrinsics defined. Not a public header.

#define LNK_CAT2(a, b) a##_##b
#define LNK_CAT(a, b) LNK_CAT2(a, b)
#define LNK_NAME(name) LNK_CAT(name, SUFFIX)

// Lane sums are flushed into Double every this many elements, so that Float lanes add at
// most 128 terms each.
#define LNK_FLUSH 1024

static inline LNK_TARGET double LNK_NAME(lnk_hsum)(VEC v) {
  T lanes[LANES];
  VSTORE(lanes, v);
  double total = 0;
  for (int i = 0; i < LANES; i++) total += (double)lanes[i];
  return total;
}

static LNK_TARGET void LNK_NAME(lnk_moments_avx2)(const T *x, T shift, ptrdiff_t n,
                                                  double *sum_out, double *squares_out) {
  const VEC s = VSET1(shift);
  double sum = 0, squares = 0;
  for (ptrdiff_t start = 0; start < n; start += LNK_FLUSH) {
    ptrdiff_t end = start + LNK_FLUSH < n ? start + LNK_FLUSH : n;
    VEC a0 = VZERO(), a1 = VZERO(), q0 = VZERO(), q1 = VZERO();
    ptrdiff_t i = start;
    for (; i + 2 * LANES <= end; i += 2 * LANES) {
      VEC d0 = VSUB(VLOAD(x + i), s);
      VEC d1 = VSUB(VLOAD(x + i + LANES), s);
      a0 = VADD(a0, d0);
      a1 = VADD(a1, d1);
      q0 = VFMA(d0, d0, q0);
      q1 = VFMA(d1, d1, q1);
    }
    for (; i + LANES <= end; i += LANES) {
      VEC d = VSUB(VLOAD(x + i), s);
      a0 = VADD(a0, d);
      q0 = VFMA(d, d, q0);
    }
    T tail_sum = 0, tail_squares = 0;
    for (; i < end; i++) {
      T d = x[i] - shift;
      tail_sum += d;
      tail_squares += d * d;
    }
    sum += LNK_NAME(lnk_hsum)(VADD(a0, a1)) + (double)tail_sum;
    squares += LNK_NAME(lnk_hsum)(VADD(q0, q1)) + (double)tail_squares;
  }
  *sum_out = sum;
  *squares_out = squares;
}

void LNK_NAME(lnk_moments)(const T *x, T shift, ptrdiff_t n, double *sum, double *squares) {
  LNK_NAME(lnk_moments_avx2)(x, shift, n, sum, squares);
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

#define LNK_VECTOR_LOOP(STORE, WEXPR, BEXPR)                            \
  for (; i + LANES <= n; i += LANES) {                                  \
    VEC v = VMUL(VSUB(VSUB(VLOAD(x + i), sh), ce), r);                  \
    WEXPR;                                                              \
    BEXPR;                                                              \
    STORE(y + i, v);                                                    \
  }

static LNK_TARGET void LNK_NAME(lnk_normalize_avx2)(const T *x, T *y, ptrdiff_t n, T shift,
                                                    T center, T rstd, const T *w, const T *b,
                                                    int streaming) {
  const VEC sh = VSET1(shift), ce = VSET1(center), r = VSET1(rstd);
  ptrdiff_t i = 0;
  if (streaming) {
    // Non-temporal stores need 16-byte alignment: finish any head one element at a time
    // (the caller streams only rows that start aligned, so this is normally empty).
    while (i < n && ((size_t)(y + i) & 15) != 0) { LNK_ONE(i); i++; }
    if (w && b) { LNK_VECTOR_LOOP(VSTREAM, v = VMUL(v, VLOAD(w + i)), v = VADD(v, VLOAD(b + i))) }
    else if (w) { LNK_VECTOR_LOOP(VSTREAM, v = VMUL(v, VLOAD(w + i)), (void)0) }
    else if (b) { LNK_VECTOR_LOOP(VSTREAM, (void)0, v = VADD(v, VLOAD(b + i))) }
    else { LNK_VECTOR_LOOP(VSTREAM, (void)0, (void)0) }
  } else {
    if (w && b) { LNK_VECTOR_LOOP(VSTORE, v = VMUL(v, VLOAD(w + i)), v = VADD(v, VLOAD(b + i))) }
    else if (w) { LNK_VECTOR_LOOP(VSTORE, v = VMUL(v, VLOAD(w + i)), (void)0) }
    else if (b) { LNK_VECTOR_LOOP(VSTORE, (void)0, v = VADD(v, VLOAD(b + i))) }
    else { LNK_VECTOR_LOOP(VSTORE, (void)0, (void)0) }
  }
  for (; i < n; i++) LNK_ONE(i);
}

void LNK_NAME(lnk_normalize)(const T *x, T *y, ptrdiff_t n, T shift, T center, T rstd,
                             const T *w, const T *b, int streaming) {
  LNK_NAME(lnk_normalize_avx2)(x, y, n, shift, center, rstd, w, b, streaming);
}

static LNK_TARGET void LNK_NAME(lnk_add_avx2)(const T *a, const T *b, T *y, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + LANES <= n; i += LANES) VSTORE(y + i, VADD(VLOAD(a + i), VLOAD(b + i)));
  for (; i < n; i++) y[i] = a[i] + b[i];
}

void LNK_NAME(lnk_add)(const T *a, const T *b, T *y, ptrdiff_t n) {
  LNK_NAME(lnk_add_avx2)(a, b, y, n);
}

#undef LNK_ONE
#undef LNK_VECTOR_LOOP
#undef LNK_FLUSH
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
#undef VSET1
#undef VZERO
#undef VADD
#undef VSUB
#undef VMUL
#undef VFMA
