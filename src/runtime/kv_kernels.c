#include "runtime/kv_kernels.h"

#include "core/cpu.h"

static void scores_scalar(const float *q, const float *k, size_t n, size_t d, float scale, float *s)
{
    for (size_t t = 0; t < n; t++, k += d) {
        float acc = 0;
        for (size_t i = 0; i < d; i++) acc += q[i] * k[i];
        s[t] = acc * scale;
    }
}

static void accumulate_scalar(const float *p, const float *v, size_t n, size_t d, float *acc)
{
    for (size_t t = 0; t < n; t++, v += d)
        for (size_t i = 0; i < d; i++) acc[i] += p[t] * v[i];
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static float hsum(__m256 x)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* d a multiple of 8 (head sizes are); else the scalar loop. */
__attribute__((target("avx2,fma"))) static void scores_avx2(const float *q, const float *k, size_t n, size_t d, float scale,
                                                            float *s)
{
    if (d % 8) { scores_scalar(q, k, n, d, scale, s); return; }
    for (size_t t = 0; t < n; t++, k += d) {
        __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 16 <= d; i += 16) {
            a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), a);
            b = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(k + i + 8), b);
        }
        if (i < d) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), a);
        s[t] = hsum(_mm256_add_ps(a, b)) * scale;
    }
}

__attribute__((target("avx2,fma"))) static void accumulate_avx2(const float *p, const float *v, size_t n, size_t d,
                                                                float *acc)
{
    if (d % 8) { accumulate_scalar(p, v, n, d, acc); return; }
    for (size_t i = 0; i < d; i += 8) {
        __m256 a = _mm256_loadu_ps(acc + i);
        for (size_t t = 0; t < n; t++) a = _mm256_fmadd_ps(_mm256_set1_ps(p[t]), _mm256_loadu_ps(v + t * d + i), a);
        _mm256_storeu_ps(acc + i, a);
    }
}
#endif

const kv_kernels *kv_kernels_get(void)
{
    static const kv_kernels scalar = {scores_scalar, accumulate_scalar};
#if defined(__x86_64__)
    static const kv_kernels avx2 = {scores_avx2, accumulate_avx2};
    unsigned f = tp_cpu_features();
    if ((f & TP_CPU_AVX2) && (f & TP_CPU_FMA)) return &avx2;
#endif
    return &scalar;
}
