// Runtime dispatch and the Float/Double instantiations of KernelTemplate.h.

#include "_LayerNormKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

int lnk_has_avx2_fma(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return cached;
}

#define LNK_TARGET __attribute__((target("avx2,fma")))

void lnk_store_fence(void) { _mm_sfence(); }

// Non-temporal stores in 16-byte halves: they need only 16-byte alignment, which Swift
// arrays have, and the write-combining buffers still assemble whole lines from them.
static inline LNK_TARGET void lnk_stream_f32(float *p, __m256 v) {
  _mm_stream_ps(p, _mm256_castps256_ps128(v));
  _mm_stream_ps(p + 4, _mm256_extractf128_ps(v, 1));
}
static inline LNK_TARGET void lnk_stream_f64(double *p, __m256d v) {
  _mm_stream_pd(p, _mm256_castpd256_pd128(v));
  _mm_stream_pd(p + 2, _mm256_extractf128_pd(v, 1));
}

// Float: 8 lanes.
#define T float
#define SUFFIX f32
#define LANES 8
#define VEC __m256
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSTREAM lnk_stream_f32
#define VSET1 _mm256_set1_ps
#define VZERO _mm256_setzero_ps
#define VADD _mm256_add_ps
#define VSUB _mm256_sub_ps
#define VMUL _mm256_mul_ps
#define VFMA _mm256_fmadd_ps
#include "KernelTemplate.h"

// Double: 4 lanes.
#define T double
#define SUFFIX f64
#define LANES 4
#define VEC __m256d
#define VLOAD _mm256_loadu_pd
#define VSTORE _mm256_storeu_pd
#define VSTREAM lnk_stream_f64
#define VSET1 _mm256_set1_pd
#define VZERO _mm256_setzero_pd
#define VADD _mm256_add_pd
#define VSUB _mm256_sub_pd
#define VMUL _mm256_mul_pd
#define VFMA _mm256_fmadd_pd
#include "KernelTemplate.h"

#else
// No x86 vectors: the package uses its Swift loops; these are never called.
int lnk_has_avx2_fma(void) { return 0; }
void lnk_store_fence(void) {}
void lnk_moments_f32(const float *x, float s, ptrdiff_t n, double *a, double *b) { (void)x; (void)s; (void)n; *a = 0; *b = 0; }
void lnk_moments_f64(const double *x, double s, ptrdiff_t n, double *a, double *b) { (void)x; (void)s; (void)n; *a = 0; *b = 0; }
void lnk_normalize_f32(const float *x, float *y, ptrdiff_t n, float s, float c, float r, const float *w, const float *b, int t) { (void)x; (void)y; (void)n; (void)s; (void)c; (void)r; (void)w; (void)b; (void)t; }
void lnk_normalize_f64(const double *x, double *y, ptrdiff_t n, double s, double c, double r, const double *w, const double *b, int t) { (void)x; (void)y; (void)n; (void)s; (void)c; (void)r; (void)w; (void)b; (void)t; }
void lnk_add_f32(const float *a, const float *b, float *y, ptrdiff_t n) { (void)a; (void)b; (void)y; (void)n; }
void lnk_add_f64(const double *a, const double *b, double *y, ptrdiff_t n) { (void)a; (void)b; (void)y; (void)n; }
#endif
