#include "codecs/lowbit/vq_kernels.h"

#include <math.h>

#include "core/cpu.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

void tp_vq_assign_ref(const float *y, size_t n, unsigned dim, const float *cbT, const float *cnorm, uint32_t kpad,
                      uint32_t *idx)
{
    for (size_t v = 0; v < n; v++, y += dim) {
        float best = INFINITY;
        uint32_t bi = 0;
        for (uint32_t k = 0; k < kpad; k++) {
            float acc = y[0] * cbT[k];
            for (unsigned j = 1; j < dim; j++) acc = acc + y[j] * cbT[(size_t)j * kpad + k];
            float d = cnorm[k] - (acc + acc);
            if (d < best) { best = d; bi = k; }
        }
        idx[v] = bi;
    }
}

void tp_vq_gather_ref(const uint32_t *idx, size_t n, unsigned dim, const float *cb, float s, float *out)
{
    for (size_t v = 0; v < n; v++, out += dim) {
        const float *c = cb + (size_t)idx[v] * dim;
        for (unsigned j = 0; j < dim; j++) out[j] = s * c[j];
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2"))) static void assign_avx2(const float *y, size_t n, unsigned dim, const float *cbT,
                                                        const float *cnorm, uint32_t kpad, uint32_t *idx)
{
    const __m256i step = _mm256_set1_epi32(8), lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (size_t v = 0; v < n; v++, y += dim) {
        __m256 yb[8];
        for (unsigned j = 0; j < dim; j++) yb[j] = _mm256_set1_ps(y[j]);
        __m256 best = _mm256_set1_ps(INFINITY);
        __m256i bidx = _mm256_setzero_si256(), kv = lane;
        for (uint32_t k = 0; k < kpad; k += 8, kv = _mm256_add_epi32(kv, step)) {
            __m256 acc = _mm256_mul_ps(yb[0], _mm256_loadu_ps(cbT + k));
            for (unsigned j = 1; j < dim; j++)
                acc = _mm256_add_ps(acc, _mm256_mul_ps(yb[j], _mm256_loadu_ps(cbT + (size_t)j * kpad + k)));
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(cnorm + k), _mm256_add_ps(acc, acc));
            __m256 lt = _mm256_cmp_ps(d, best, _CMP_LT_OQ);
            best = _mm256_blendv_ps(best, d, lt);
            bidx = _mm256_blendv_epi8(bidx, kv, _mm256_castps_si256(lt));
        }
        float bv[8];
        uint32_t bk[8];
        _mm256_storeu_ps(bv, best);
        _mm256_storeu_si256((__m256i *)bk, bidx);
        /* Each lane holds its first minimum; the overall first minimum is
         * the smallest index among lanes with the smallest value. */
        float m = bv[0];
        uint32_t mi = bk[0];
        for (int l = 1; l < 8; l++)
            if (bv[l] < m || (bv[l] == m && bk[l] < mi)) { m = bv[l]; mi = bk[l]; }
        idx[v] = mi;
    }
}

__attribute__((target("avx2"))) static void gather_avx2(const uint32_t *idx, size_t n, unsigned dim, const float *cb,
                                                        float s, float *out)
{
    __m256 vs = _mm256_set1_ps(s);
    size_t v = 0;
    if (dim == 4) {
        for (; v + 4 <= n; v += 4, out += 16) {
            __m256 a = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(cb + (size_t)idx[v] * 4)),
                                            _mm_loadu_ps(cb + (size_t)idx[v + 1] * 4), 1);
            __m256 b = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(cb + (size_t)idx[v + 2] * 4)),
                                            _mm_loadu_ps(cb + (size_t)idx[v + 3] * 4), 1);
            _mm256_storeu_ps(out, _mm256_mul_ps(a, vs));
            _mm256_storeu_ps(out + 8, _mm256_mul_ps(b, vs));
        }
    } else if (dim == 8) {
        for (; v + 2 <= n; v += 2, out += 16) {
            _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_loadu_ps(cb + (size_t)idx[v] * 8), vs));
            _mm256_storeu_ps(out + 8, _mm256_mul_ps(_mm256_loadu_ps(cb + (size_t)idx[v + 1] * 8), vs));
        }
    } else if (dim == 2) {
        for (; v + 4 <= n; v += 4, out += 8) {
            __m128 a = _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(const void *)(cb + (size_t)idx[v] * 2));
            a = _mm_loadh_pi(a, (const __m64 *)(const void *)(cb + (size_t)idx[v + 1] * 2));
            __m128 b = _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(const void *)(cb + (size_t)idx[v + 2] * 2));
            b = _mm_loadh_pi(b, (const __m64 *)(const void *)(cb + (size_t)idx[v + 3] * 2));
            __m256 ab = _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1);
            _mm256_storeu_ps(out, _mm256_mul_ps(ab, vs));
        }
    }
    tp_vq_gather_ref(idx + v, n - v, dim, cb, s, out);
}
#endif

tp_vq_assign_fn tp_vq_assign_best(void)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_AVX2) return assign_avx2;
#endif
    return tp_vq_assign_ref;
}

tp_vq_gather_fn tp_vq_gather_best(void)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_AVX2) return gather_avx2;
#endif
    return tp_vq_gather_ref;
}
