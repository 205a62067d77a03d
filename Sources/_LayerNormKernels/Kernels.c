// Runtime dispatch and the Float/Double instantiations of KernelTemplate.h.

#include "_LayerNormKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lnk_has_avx2_fma(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return cached;
}

#define LNK_TARGET __attribute__((target("avx2,fma")))
#define LNK_TARGET512 __attribute__((target("avx512f,avx2,fma")))

// 1 when the in-cache loops may take 512-bit vectors: the CPU has AVX-512F (and the OS
// saves its registers, which __builtin_cpu_supports checks) and LAYERNORMALIZATION_NO_AVX512
// is not set (the test script runs the suite with and without; the two give the same bits).
// Worker threads may ask first, together: an atomic, so that they agree without a race.
static int lnk_avx512_state = -1;
static int lnk_use_avx512(void) {
  int state = __atomic_load_n(&lnk_avx512_state, __ATOMIC_RELAXED);
  if (state < 0) {
    __builtin_cpu_init();
    const char *off = getenv("LAYERNORMALIZATION_NO_AVX512");
    state = __builtin_cpu_supports("avx512f") && !(off && off[0] && off[0] != '0');
    __atomic_store_n(&lnk_avx512_state, state, __ATOMIC_RELAXED);
  }
  return state;
}

int lnk_select_avx512(int enabled) {
  const int previous = lnk_use_avx512();
  __builtin_cpu_init();
  __atomic_store_n(&lnk_avx512_state, enabled && __builtin_cpu_supports("avx512f"),
                   __ATOMIC_RELAXED);
  return previous;
}

void lnk_store_fence(void) { _mm_sfence(); }

// 1 when the forward, the fused add and the backward fetch the rows they read next into
// L2 only (prefetcht1), 0 when into L1 as well (prefetcht0): L2 where the L1 data cache is
// under 48 KiB. LAYERNORMALIZATION_FETCH=L1 or L2 overrides it (for measuring one against the
// other; the hint never changes a result). Why: on a Zen 4 EPYC (32 KiB L1) the rows
// fetched into L1 pushed out the rows and partial sums still being computed from.
// Scripts/probe.sh kernel-ab, buffers on 64-byte lines, L2 against L1:
// - backward (against 6e7a81a): Float 32768x128 2243 against 3128 us, 4096x768 1170
//   against 1537, 8192x1024 3101 against 5337, 512x16384 5717 against 7005; Double
//   32768x128 3827 against 5494, 512x16384 13536 against 15027;
// - forward (against 99700e1): Float 32768x128 1600 against 2624 us, 8192x1024 2162
//   against 3502, 2048x4096 2347 against 3157; Double 65536x64 3670 against 5397,
//   8192x1024 4498 against 6869; Float 16384x256 and 4096x768 and rows in cache the same;
// - the fused add's fetch of its next inputs (benchmark, one binary, that fetch alone
//   switched by a throwaway variable, three alternating pairs): Double 512x16384 11.4-11.6
//   against 12.2-13.1 ms, Float 6.2-6.4 against 6.3-6.6; other shapes within noise.
// With L1 forced, the forward and backward stay within 1-3 % of those commits. The Zen 5 machine (48 KiB L1)
// that chose the fetch distances measured them with prefetcht0, and prefetcht1 there on
// the backward's rows of 128 KiB was 8 % slower, so it keeps prefetcht0. The AVX2-only
// machine before it (32 KiB L1) never tried prefetcht1; the rule sends it to L2 untried.
static int lnk_fetch_l2_state = -1;
static inline int lnk_fetch_into_l2(void) {
  int state = __atomic_load_n(&lnk_fetch_l2_state, __ATOMIC_RELAXED);
  if (state < 0) {
    const char *choice = getenv("LAYERNORMALIZATION_FETCH");
    if (choice && (strcmp(choice, "L1") == 0 || strcmp(choice, "L2") == 0)) {
      state = choice[1] == '2';
    } else {
      const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
      state = l1 > 0 && l1 < 48 * 1024;
    }
    __atomic_store_n(&lnk_fetch_l2_state, state, __ATOMIC_RELAXED);
  }
  return state;
}
// A fetch of the line at `p`, into L2 only where `l2`.
#define LNK_FETCH(p, l2)                                          \
  do {                                                            \
    if (l2) _mm_prefetch((const char *)(p), _MM_HINT_T1);         \
    else _mm_prefetch((const char *)(p), _MM_HINT_T0);            \
  } while (0)

// Non-temporal stores: one 32-byte store where `p` is 32-byte aligned, else two 16-byte
// halves (they need only 16-byte alignment, which Swift arrays have, and the write-
// combining buffers still assemble whole lines from them). One store instead of two
// measured 3-7 % faster on a plain streamed write (32768x128, 4096x768, 2048x4096). The
// loops that stream whole rows pick the form once a row (VSTREAM_WIDE or VSTREAM_HALVES),
// since clang keeps VSTREAM's test at every store; VSTREAM is for the other stores.
static inline LNK_TARGET void lnk_stream_halves_f32(float *p, __m256 v) {
  _mm_stream_ps(p, _mm256_castps256_ps128(v));
  _mm_stream_ps(p + 4, _mm256_extractf128_ps(v, 1));
}
static inline LNK_TARGET void lnk_stream_halves_f64(double *p, __m256d v) {
  _mm_stream_pd(p, _mm256_castpd256_pd128(v));
  _mm_stream_pd(p + 2, _mm256_extractf128_pd(v, 1));
}
static inline LNK_TARGET void lnk_stream_f32(float *p, __m256 v) {
  if (((size_t)p & 31) == 0) _mm256_stream_ps(p, v);
  else lnk_stream_halves_f32(p, v);
}
static inline LNK_TARGET void lnk_stream_f64(double *p, __m256d v) {
  if (((size_t)p & 31) == 0) _mm256_stream_pd(p, v);
  else lnk_stream_halves_f64(p, v);
}

// The sums of 8 float vectors (or 4 double vectors) as one vector, lane j = sum of v[j].
static inline LNK_TARGET __m256 lnk_hsum_rows_f32(const __m256 *v) {
  const __m256 a = _mm256_hadd_ps(v[0], v[1]), b = _mm256_hadd_ps(v[2], v[3]);
  const __m256 c = _mm256_hadd_ps(v[4], v[5]), d = _mm256_hadd_ps(v[6], v[7]);
  const __m256 e = _mm256_hadd_ps(a, b), f = _mm256_hadd_ps(c, d);
  return _mm256_add_ps(_mm256_permute2f128_ps(e, f, 0x20), _mm256_permute2f128_ps(e, f, 0x31));
}
static inline LNK_TARGET __m256d lnk_hsum_rows_f64(const __m256d *v) {
  const __m256d a = _mm256_hadd_pd(v[0], v[1]), b = _mm256_hadd_pd(v[2], v[3]);
  return _mm256_add_pd(_mm256_permute2f128_pd(a, b, 0x20), _mm256_permute2f128_pd(a, b, 0x31));
}

// Transposes 8 float vectors (an 8x8 block) or 4 double vectors (4x4) in place.
static inline LNK_TARGET void lnk_transpose_f32(__m256 *v) {
  const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
  const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
  const __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
  const __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  v[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  v[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  v[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  v[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  v[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  v[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  v[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  v[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
static inline LNK_TARGET void lnk_transpose_f64(__m256d *v) {
  const __m256d t0 = _mm256_unpacklo_pd(v[0], v[1]), t1 = _mm256_unpackhi_pd(v[0], v[1]);
  const __m256d t2 = _mm256_unpacklo_pd(v[2], v[3]), t3 = _mm256_unpackhi_pd(v[2], v[3]);
  v[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  v[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  v[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  v[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

// The lanes of a float or double vector, converted to double and added as a tree.
static inline LNK_TARGET double lnk_hsum_pd(__m256d v) {
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}
static inline LNK_TARGET double lnk_hsum_double_f32(__m256 v) {
  return lnk_hsum_pd(_mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                                   _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
}
static inline LNK_TARGET double lnk_hsum_double_f64(__m256d v) { return lnk_hsum_pd(v); }

// The statistics of four rows from their moments, lane by lane the same operations (and
// so the same bits) as one row's in Double: c = sum / n, variance = squares / n - c^2 (0
// when negative), rstd = 1 / sqrt(variance + eps). One chain of divisions and a square root
// for four rows: one row at a time, each row's write waited on its own chain (perf
// annotate of lnk_finish_rows at 65536x64: divsd, sqrtsd and the instructions after them
// held about half of its own samples, a sixth of the whole).
static LNK_TARGET void lnk_statistics4(const double *sum, const double *squares, double count,
                                       double eps, double *center, double *rstd) {
  const __m256d n = _mm256_set1_pd(count), zero = _mm256_setzero_pd();
  const __m256d c = _mm256_div_pd(_mm256_loadu_pd(sum), n);
  __m256d variance = _mm256_div_pd(_mm256_loadu_pd(squares), n);
  variance = _mm256_sub_pd(variance, _mm256_mul_pd(c, c));
  variance = _mm256_blendv_pd(variance, zero, _mm256_cmp_pd(variance, zero, _CMP_LT_OQ));
  const __m256d root = _mm256_sqrt_pd(_mm256_add_pd(variance, _mm256_set1_pd(eps)));
  _mm256_storeu_pd(center, c);
  _mm256_storeu_pd(rstd, _mm256_div_pd(_mm256_set1_pd(1), root));
}

// Eight rows' statistics, lane by lane as lnk_statistics4's: with AVX-512 one chain for
// all eight, else two of lnk_statistics4.
static LNK_TARGET512 void lnk_statistics8_avx512(const double *sum, const double *squares,
                                                 double count, double eps, double *center,
                                                 double *rstd) {
  const __m512d n = _mm512_set1_pd(count), zero = _mm512_setzero_pd();
  const __m512d c = _mm512_div_pd(_mm512_loadu_pd(sum), n);
  __m512d variance = _mm512_div_pd(_mm512_loadu_pd(squares), n);
  variance = _mm512_sub_pd(variance, _mm512_mul_pd(c, c));
  variance = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(variance, zero, _CMP_LT_OQ), variance,
                                  zero);
  const __m512d root = _mm512_sqrt_pd(_mm512_add_pd(variance, _mm512_set1_pd(eps)));
  _mm512_storeu_pd(center, c);
  _mm512_storeu_pd(rstd, _mm512_div_pd(_mm512_set1_pd(1), root));
}
// Bit k set where row k's rough shift lies too far from its mean (lnk_reshift_if_far's
// test, 3 c^2 > q / n with c = sum / n): lane by lane the same operations, so the same rows,
// and false for moments that are not finite, as there. Eight rows' two divisions in one
// chain each instead of sixteen scalar divisions (the groups of lnk_finish_rows, which run
// this only where the CPU has AVX-512).
static LNK_TARGET512 unsigned lnk_far_rows8_avx512(const double *sum, const double *squares,
                                                  double count) {
  const __m512d n = _mm512_set1_pd(count);
  const __m512d c = _mm512_div_pd(_mm512_loadu_pd(sum), n);
  const __m512d q = _mm512_div_pd(_mm512_loadu_pd(squares), n);
  return _mm512_cmp_pd_mask(_mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(3), c), c), q,
                            _CMP_GT_OQ);
}
static void lnk_statistics8(const double *sum, const double *squares, double count,
                            double eps, double *center, double *rstd) {
  if (lnk_use_avx512()) {
    lnk_statistics8_avx512(sum, squares, count, eps, center, rstd);
  } else {
    lnk_statistics4(sum, squares, count, eps, center, rstd);
    lnk_statistics4(sum + 4, squares + 4, count, eps, center + 4, rstd + 4);
  }
}

// One row's statistics, as lnk_statistics4 takes them for each of four.
static inline void lnk_statistics1(double sum, double squares, double count, double eps,
                                   double *center, double *rstd) {
  const double c = sum / count;
  double variance = squares / count - c * c;
  if (variance < 0) variance = 0;
  *center = c;
  *rstd = 1 / sqrt(variance + eps);
}

// Bit j set when lane j's moments are ordinary: the sum finite and the squares finite and
// at least `least` (the lane test of lnk_ordinary, in the lanes' own precision).
static inline LNK_TARGET int lnk_ordinary_lanes_f32(__m256 sums, __m256 squares, float least) {
  const __m256 infinity = _mm256_set1_ps(INFINITY);
  const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), sums);
  const __m256 ok = _mm256_and_ps(
      _mm256_cmp_ps(magnitude, infinity, _CMP_LT_OQ),
      _mm256_and_ps(_mm256_cmp_ps(squares, infinity, _CMP_LT_OQ),
                    _mm256_cmp_ps(squares, _mm256_set1_ps(least), _CMP_GE_OQ)));
  return _mm256_movemask_ps(ok);
}
static inline LNK_TARGET int lnk_ordinary_lanes_f64(__m256d sums, __m256d squares, double least) {
  const __m256d infinity = _mm256_set1_pd(INFINITY);
  const __m256d magnitude = _mm256_andnot_pd(_mm256_set1_pd(-0.0), sums);
  const __m256d ok = _mm256_and_pd(
      _mm256_cmp_pd(magnitude, infinity, _CMP_LT_OQ),
      _mm256_and_pd(_mm256_cmp_pd(squares, infinity, _CMP_LT_OQ),
                    _mm256_cmp_pd(squares, _mm256_set1_pd(least), _CMP_GE_OQ)));
  return _mm256_movemask_pd(ok);
}

// Float: 8 lanes.
#define T float
#define SUFFIX f32
#define LANES 8
#define VEC __m256
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSTREAM lnk_stream_f32
#define VSTREAM_WIDE _mm256_stream_ps
#define VSTREAM_HALVES lnk_stream_halves_f32
#define VSTREAM_LOW(p, v) _mm_stream_ps((p), _mm256_castps256_ps128(v))
#define VSET1 _mm256_set1_ps
#define VZERO _mm256_setzero_ps
#define VADD _mm256_add_ps
#define VSUB _mm256_sub_ps
#define VMUL _mm256_mul_ps
#define VFMA _mm256_fmadd_ps
#define ZVEC __m512
#define ZLANES 16
#define ZMASK __mmask16
#define ZLOAD _mm512_loadu_ps
#define ZSTORE _mm512_storeu_ps
#define ZSET1 _mm512_set1_ps
#define ZSUB _mm512_sub_ps
#define ZMUL _mm512_mul_ps
#define ZADD _mm512_add_ps
#define ZMASKLOAD(p, m) _mm512_maskz_loadu_ps((m), (p))
#define ZMASKSTORE(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
#define ZSTREAM _mm512_stream_ps
#define ZSTREAM_LOW(p, v) _mm_stream_ps((p), _mm512_castps512_ps128(v))
#define ZSTREAM_PIECE(p, v, k) _mm_stream_ps((p), _mm512_extractf32x4_ps((v), (k)))
#define ZSETZERO _mm512_setzero_ps
#define ZFMA _mm512_fmadd_ps
#define ZLOW _mm512_castps512_ps256
#define ZHIGH(v) _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))
#define VDIV _mm256_div_ps
#define VSQRT _mm256_sqrt_ps
#define VMAX _mm256_max_ps
#define VIMASK __m256i
#define VTAILMASK(k) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define VMASKLOAD(p, m) _mm256_maskload_ps((p), (m))
#define VMASKSTORE(p, m, v) _mm256_maskstore_ps((p), (m), (v))
#define VMASKSUB(a, b, m) _mm256_and_ps(_mm256_sub_ps((a), (b)), _mm256_castsi256_ps(m))
#define VHSUM_ROWS lnk_hsum_rows_f32
#define VLANE(v, j) _mm256_permutevar8x32_ps((v), _mm256_set1_epi32(j))
#define LNK_TINY_SQUARES 0x1p-80
#define VTRANSPOSE lnk_transpose_f32
#define VHSUM_DOUBLE lnk_hsum_double_f32
#define VLOAD4_PD(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define VSTORE4_PD(p, v) _mm_storeu_ps((p), _mm256_cvtpd_ps(v))
#define VORDINARY_LANES lnk_ordinary_lanes_f32
#define LANES_ALL 0xFF
#include "KernelTemplate.h"

// Double: 4 lanes.
#define T double
#define SUFFIX f64
#define LANES 4
#define VEC __m256d
#define VLOAD _mm256_loadu_pd
#define VSTORE _mm256_storeu_pd
#define VSTREAM lnk_stream_f64
#define VSTREAM_WIDE _mm256_stream_pd
#define VSTREAM_HALVES lnk_stream_halves_f64
#define VSTREAM_LOW(p, v) _mm_stream_pd((p), _mm256_castpd256_pd128(v))
#define VSET1 _mm256_set1_pd
#define VZERO _mm256_setzero_pd
#define VADD _mm256_add_pd
#define VSUB _mm256_sub_pd
#define VMUL _mm256_mul_pd
#define VFMA _mm256_fmadd_pd
#define ZVEC __m512d
#define ZLANES 8
#define ZMASK __mmask8
#define ZLOAD _mm512_loadu_pd
#define ZSTORE _mm512_storeu_pd
#define ZSET1 _mm512_set1_pd
#define ZSUB _mm512_sub_pd
#define ZMUL _mm512_mul_pd
#define ZADD _mm512_add_pd
#define ZMASKLOAD(p, m) _mm512_maskz_loadu_pd((m), (p))
#define ZMASKSTORE(p, m, v) _mm512_mask_storeu_pd((p), (m), (v))
#define ZSTREAM _mm512_stream_pd
#define ZSTREAM_LOW(p, v) _mm_stream_pd((p), _mm512_castpd512_pd128(v))
#define ZSTREAM_PIECE(p, v, k) _mm_stream_pd((p), _mm_castps_pd(_mm512_extractf32x4_ps(_mm512_castpd_ps(v), (k))))
#define ZSETZERO _mm512_setzero_pd
#define ZFMA _mm512_fmadd_pd
#define ZLOW _mm512_castpd512_pd256
#define ZHIGH(v) _mm512_extractf64x4_pd((v), 1)
#define VDIV _mm256_div_pd
#define VSQRT _mm256_sqrt_pd
#define VMAX _mm256_max_pd
#define VIMASK __m256i
#define VTAILMASK(k) _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(k)), _mm256_setr_epi64x(0, 1, 2, 3))
#define VMASKLOAD(p, m) _mm256_maskload_pd((p), (m))
#define VMASKSTORE(p, m, v) _mm256_maskstore_pd((p), (m), (v))
#define VMASKSUB(a, b, m) _mm256_and_pd(_mm256_sub_pd((a), (b)), _mm256_castsi256_pd(m))
#define VHSUM_ROWS lnk_hsum_rows_f64
#define VLANE(v, j) _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v), \
    _mm256_set1_epi64x(((long long)(2 * (j) + 1) << 32) | (2 * (j)))))
#define LNK_TINY_SQUARES 0x1p-900
#define VTRANSPOSE lnk_transpose_f64
#define VHSUM_DOUBLE lnk_hsum_double_f64
#define VLOAD4_PD(p) _mm256_loadu_pd(p)
#define VSTORE4_PD(p, v) _mm256_storeu_pd((p), (v))
#define VORDINARY_LANES lnk_ordinary_lanes_f64
#define LANES_ALL 0xF
// Double rows of 8 elements, eight rows at a time in 512-bit vectors where the CPU has
// AVX-512F (lnk_short_rows calls it through LNK_ROWS_OF_8_WIDE): a row is one vector, so
// eight rows transposed (lane j = row j) hold each of the 8 elements of eight rows, and
// every lane takes the operations lnk_rows_of_8_group takes on it in 256-bit vectors (4
// rows), in the same order: the same bits (the "Vector widths" tests compare the two).
// Why: that kernel is bound by its arithmetic, not by memory (Double 16384x8 in L2 and
// 1000000x8 from memory both took 5.6-5.9 ns a row), and its square root and division
// stall it (half of a profile's samples sat just after them); here each takes eight rows.
// The benchmark, one thread, three alternating runs against the 256-bit kernel: Double
// 1000000x8 4885-5309 against 5730-6108 us, 16384x8 81.5-83.2 against 92.3-93.6; RMSNorm
// 3184-3484 against 3655-3988 and 50.9-53.3 against 59.3-61.6.
static inline LNK_TARGET512 void lnk_transpose8_f64(__m512d *v) {
  const __m512d t0 = _mm512_unpacklo_pd(v[0], v[1]), t1 = _mm512_unpackhi_pd(v[0], v[1]);
  const __m512d t2 = _mm512_unpacklo_pd(v[2], v[3]), t3 = _mm512_unpackhi_pd(v[2], v[3]);
  const __m512d t4 = _mm512_unpacklo_pd(v[4], v[5]), t5 = _mm512_unpackhi_pd(v[4], v[5]);
  const __m512d t6 = _mm512_unpacklo_pd(v[6], v[7]), t7 = _mm512_unpackhi_pd(v[6], v[7]);
  const __m512d s0 = _mm512_shuffle_f64x2(t0, t2, 0x88), s1 = _mm512_shuffle_f64x2(t0, t2, 0xDD);
  const __m512d s2 = _mm512_shuffle_f64x2(t1, t3, 0x88), s3 = _mm512_shuffle_f64x2(t1, t3, 0xDD);
  const __m512d s4 = _mm512_shuffle_f64x2(t4, t6, 0x88), s5 = _mm512_shuffle_f64x2(t4, t6, 0xDD);
  const __m512d s6 = _mm512_shuffle_f64x2(t5, t7, 0x88), s7 = _mm512_shuffle_f64x2(t5, t7, 0xDD);
  v[0] = _mm512_shuffle_f64x2(s0, s4, 0x88), v[4] = _mm512_shuffle_f64x2(s0, s4, 0xDD);
  v[2] = _mm512_shuffle_f64x2(s1, s5, 0x88), v[6] = _mm512_shuffle_f64x2(s1, s5, 0xDD);
  v[1] = _mm512_shuffle_f64x2(s2, s6, 0x88), v[5] = _mm512_shuffle_f64x2(s2, s6, 0xDD);
  v[3] = _mm512_shuffle_f64x2(s3, s7, 0x88), v[7] = _mm512_shuffle_f64x2(s3, s7, 0xDD);
}

// The sum of 8 vectors in lnk_sum8's order.
static inline LNK_TARGET512 __m512d lnk_sum8_f64z(const __m512d *v) {
  return _mm512_add_pd(_mm512_add_pd(_mm512_add_pd(v[0], v[1]), _mm512_add_pd(v[2], v[3])),
                       _mm512_add_pd(_mm512_add_pd(v[4], v[5]), _mm512_add_pd(v[6], v[7])));
}

// One group of eight rows: its statistics (e centred about m0 for LayerNorm), then its
// write and its extreme rows, as lnk_rows_of_8_group takes them lane by lane.
#define LNK_W8_STATISTICS(x, e, sums, squares, center, scale, m)                             \
  do {                                                                                       \
    __m512d dd[8];                                                                           \
    for (int j = 0; j < 8; j++) e[j] = _mm512_loadu_pd((x) + j * 8);                         \
    lnk_transpose8_f64(e);                                                                   \
    if (centered) {                                                                          \
      const __m512d m0 = _mm512_mul_pd(lnk_sum8_f64z(e), inverse_count);                    \
      for (int i = 0; i < 8; i++) e[i] = _mm512_sub_pd(e[i], m0);                            \
      for (int i = 0; i < 8; i++) dd[i] = _mm512_mul_pd(e[i], e[i]);                         \
      sums = lnk_sum8_f64z(e);                                                               \
      squares = lnk_sum8_f64z(dd);                                                           \
      center = _mm512_mul_pd(sums, inverse_count);                                           \
      __m512d variance = _mm512_sub_pd(_mm512_mul_pd(squares, inverse_count),                \
                                       _mm512_mul_pd(center, center));                       \
      variance = _mm512_max_pd(zero, variance); /* NaN stays NaN, as in 256 bits */          \
      scale = _mm512_div_pd(one, _mm512_sqrt_pd(_mm512_add_pd(variance, epsilon)));         \
      m = _mm512_add_pd(m0, center);                                                         \
    } else {                                                                                 \
      for (int i = 0; i < 8; i++) dd[i] = _mm512_mul_pd(e[i], e[i]);                         \
      sums = zero;                                                                           \
      squares = lnk_sum8_f64z(dd);                                                           \
      center = zero;                                                                         \
      scale = _mm512_div_pd(                                                                 \
          one, _mm512_sqrt_pd(_mm512_add_pd(_mm512_mul_pd(squares, inverse_count), epsilon))); \
      m = zero;                                                                              \
    }                                                                                        \
  } while (0)
#define LNK_W8_WRITE(r, e, sums, squares, center, scale, m)                                  \
  do {                                                                                       \
    if (mean && centered) _mm512_storeu_pd(mean + (r), m);                                   \
    if (rstd) _mm512_storeu_pd(rstd + (r), scale);                                           \
    for (int i = 0; i < 8; i++) {                                                            \
      __m512d v = _mm512_mul_pd(_mm512_sub_pd(e[i], center), scale);                         \
      if (has_w) v = _mm512_mul_pd(v, wb[i]);                                                \
      if (has_b) v = _mm512_add_pd(v, wb[8 + i]);                                            \
      e[i] = v;                                                                              \
    }                                                                                        \
    lnk_transpose8_f64(e);                                                                   \
    for (int j = 0; j < 8; j++) {                                                            \
      if (streaming) _mm512_stream_pd(y + ((r) + j) * 8, e[j]);                              \
      else _mm512_storeu_pd(y + ((r) + j) * 8, e[j]);                                        \
    }                                                                                        \
    const __mmask8 ordinary = _mm512_cmp_pd_mask(_mm512_abs_pd(sums), infinity, _CMP_LT_OQ) & \
                              _mm512_cmp_pd_mask(squares, infinity, _CMP_LT_OQ) &            \
                              _mm512_cmp_pd_mask(squares, least, _CMP_GE_OQ);               \
    for (int j = 0; ordinary != 0xFF && j < 8; j++) {                                        \
      if (!(ordinary & (1 << j))) extreme[(*extremes)++] = (r) + j;                          \
    }                                                                                        \
  } while (0)

// The whole groups of eight rows of `rows` (the caller takes the rest); returns the rows
// done and appends the extreme ones to `extreme` at *extremes. In cache, two groups a
// step, both groups' statistics before either's write, so that the second group's square
// root and division run beside the first's: Double 16384x8 (in L2) 62.9-64.1 us against
// 81.8-82.6 a group at a time (the benchmark, three alternating runs). Streamed, the same
// step left the LayerNorm forward at 1000000x8 where it was (5.1-5.3 ms against 5.0-5.7)
// and made RMSNorm slower (4.4-4.9 against 3.7-4.1; 4.6-5.0 with its fetches twice as far
// ahead), so streamed rows go a group at a time.
static LNK_TARGET512 ptrdiff_t lnk_rows_of_8_wide_f64(const double *x, double *y,
                                                      ptrdiff_t rows, double eps, int centered,
                                                      const double *w, const double *b,
                                                      double *mean, double *rstd,
                                                      int streaming, ptrdiff_t *extreme,
                                                      ptrdiff_t *extremes) {
  __m512d wb[16];
  const int has_w = w != NULL, has_b = b != NULL && centered;
  for (int i = 0; i < 8; i++) {
    wb[i] = _mm512_set1_pd(has_w ? w[i] : 1);
    wb[8 + i] = _mm512_set1_pd(has_b ? b[i] : 0);
  }
  const __m512d inverse_count = _mm512_set1_pd(0.125), zero = _mm512_setzero_pd();
  const __m512d one = _mm512_set1_pd(1), epsilon = _mm512_set1_pd(eps);
  const __m512d infinity = _mm512_set1_pd(INFINITY);
  const __m512d least = _mm512_set1_pd(LNK_TINY_SQUARES * 8);  // as VORDINARY_LANES is given
  ptrdiff_t r = 0;
  for (; !streaming && r + 16 <= rows; r += 16) {
    __m512d e[8], f[8], sums_e, squares_e, center_e, scale_e, m_e;
    __m512d sums_f, squares_f, center_f, scale_f, m_f;
    LNK_W8_STATISTICS(x + r * 8, e, sums_e, squares_e, center_e, scale_e, m_e);
    LNK_W8_STATISTICS(x + (r + 8) * 8, f, sums_f, squares_f, center_f, scale_f, m_f);
    LNK_W8_WRITE(r, e, sums_e, squares_e, center_e, scale_e, m_e);
    LNK_W8_WRITE(r + 8, f, sums_f, squares_f, center_f, scale_f, m_f);
  }
  for (; r + 8 <= rows; r += 8) {
    // The same distance ahead as the 256-bit loop: 64 rows.
    if (r + 72 <= rows) {
      const char *ahead = (const char *)(x + (r + 64) * 8);
      for (int k = 0; k < 512; k += 64) _mm_prefetch(ahead + k, _MM_HINT_T0);
    }
    __m512d e[8], sums_e, squares_e, center_e, scale_e, m_e;
    LNK_W8_STATISTICS(x + r * 8, e, sums_e, squares_e, center_e, scale_e, m_e);
    LNK_W8_WRITE(r, e, sums_e, squares_e, center_e, scale_e, m_e);
  }
  return r;
}
#undef LNK_W8_STATISTICS
#undef LNK_W8_WRITE

#define LNK_ROWS_OF_8_WIDE lnk_rows_of_8_wide_f64
#include "KernelTemplate.h"
#undef LNK_ROWS_OF_8_WIDE

#else
// No x86 vectors: the package uses its Swift loops; these are never called.
int lnk_has_avx2_fma(void) { return 0; }
int lnk_select_avx512(int enabled) { (void)enabled; return 0; }
void lnk_store_fence(void) {}
void lnk_moments_f32(const float *x, float s, ptrdiff_t n, double *a, double *b, const float *next) { (void)x; (void)s; (void)n; (void)next; *a = 0; *b = 0; }
void lnk_moments_f64(const double *x, double s, ptrdiff_t n, double *a, double *b, const double *next) { (void)x; (void)s; (void)n; (void)next; *a = 0; *b = 0; }
void lnk_row_moments_f32(const float *x, ptrdiff_t n, const float *next, float *s, double *a, double *b) { (void)x; (void)n; (void)next; *s = 0; *a = 0; *b = 0; }
void lnk_row_moments_f64(const double *x, ptrdiff_t n, const double *next, double *s, double *a, double *b) { (void)x; (void)n; (void)next; *s = 0; *a = 0; *b = 0; }
void lnk_normalize_f32(const float *x, float *y, ptrdiff_t n, float s, float c, float r, const float *w, const float *b, int t, const void *a) { (void)x; (void)y; (void)n; (void)s; (void)c; (void)r; (void)w; (void)b; (void)t; (void)a; }
void lnk_normalize_f64(const double *x, double *y, ptrdiff_t n, double s, double c, double r, const double *w, const double *b, int t, const void *a) { (void)x; (void)y; (void)n; (void)s; (void)c; (void)r; (void)w; (void)b; (void)t; (void)a; }
void lnk_normalize_pair_f32(const float *x0, float *y0, float s0, float c0, float r0, const float *x1, float *y1, float s1, float c1, float r1, ptrdiff_t n, const float *w, const float *b, int t) { (void)x0; (void)y0; (void)s0; (void)c0; (void)r0; (void)x1; (void)y1; (void)s1; (void)c1; (void)r1; (void)n; (void)w; (void)b; (void)t; }
void lnk_normalize_pair_f64(const double *x0, double *y0, double s0, double c0, double r0, const double *x1, double *y1, double s1, double c1, double r1, ptrdiff_t n, const double *w, const double *b, int t) { (void)x0; (void)y0; (void)s0; (void)c0; (void)r0; (void)x1; (void)y1; (void)s1; (void)c1; (void)r1; (void)n; (void)w; (void)b; (void)t; }
void lnk_add_blocks_f32(const float *p, ptrdiff_t blocks, ptrdiff_t stride, ptrdiff_t count, float *out) { (void)p; (void)blocks; (void)stride; (void)count; (void)out; }
void lnk_add_blocks_f64(const double *p, ptrdiff_t blocks, ptrdiff_t stride, ptrdiff_t count, double *out) { (void)p; (void)blocks; (void)stride; (void)count; (void)out; }
void lnk_add_f32(const float *a, const float *b, float *y, ptrdiff_t n, float *copy, ptrdiff_t ahead) { (void)a; (void)b; (void)y; (void)n; (void)copy; (void)ahead; }
void lnk_add_f64(const double *a, const double *b, double *y, ptrdiff_t n, double *copy, ptrdiff_t ahead) { (void)a; (void)b; (void)y; (void)n; (void)copy; (void)ahead; }
ptrdiff_t lnk_finish_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n, const double *sums, double eps, int centered, const float *w, const float *b, float *mean, float *rstd, int streaming, int in_cache, const void *next, const void *also_next, ptrdiff_t next_bytes, ptrdiff_t *e) { (void)in_cache; (void)next; (void)also_next; (void)next_bytes; (void)x; (void)y; (void)rows; (void)n; (void)sums; (void)eps; (void)centered; (void)w; (void)b; (void)mean; (void)rstd; (void)streaming; (void)e; return 0; }
ptrdiff_t lnk_finish_rows_f64(const double *x, double *y, ptrdiff_t rows, ptrdiff_t n, const double *sums, double eps, int centered, const double *w, const double *b, double *mean, double *rstd, int streaming, int in_cache, const void *next, const void *also_next, ptrdiff_t next_bytes, ptrdiff_t *e) { (void)in_cache; (void)next; (void)also_next; (void)next_bytes; (void)x; (void)y; (void)rows; (void)n; (void)sums; (void)eps; (void)centered; (void)w; (void)b; (void)mean; (void)rstd; (void)streaming; (void)e; return 0; }
ptrdiff_t lnk_short_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n, double eps, int centered, const float *w, const float *b, float *mean, float *rstd, int streaming, ptrdiff_t *e) { (void)x; (void)y; (void)rows; (void)n; (void)eps; (void)centered; (void)w; (void)b; (void)mean; (void)rstd; (void)streaming; (void)e; return 0; }
ptrdiff_t lnk_short_rows_f64(const double *x, double *y, ptrdiff_t rows, ptrdiff_t n, double eps, int centered, const double *w, const double *b, double *mean, double *rstd, int streaming, ptrdiff_t *e) { (void)x; (void)y; (void)rows; (void)n; (void)eps; (void)centered; (void)w; (void)b; (void)mean; (void)rstd; (void)streaming; (void)e; return 0; }
void lnk_backward_rows_f32(const float *dy, const float *x, float *dx, ptrdiff_t rows, ptrdiff_t n, const float *s, const float *c, const float *r, int k, const float *w, float *dw, float *db, int t) { (void)dy; (void)x; (void)dx; (void)rows; (void)n; (void)s; (void)c; (void)r; (void)k; (void)w; (void)dw; (void)db; (void)t; }
void lnk_backward_rows_f64(const double *dy, const double *x, double *dx, ptrdiff_t rows, ptrdiff_t n, const double *s, const double *c, const double *r, int k, const double *w, double *dw, double *db, int t) { (void)dy; (void)x; (void)dx; (void)rows; (void)n; (void)s; (void)c; (void)r; (void)k; (void)w; (void)dw; (void)db; (void)t; }
#endif
