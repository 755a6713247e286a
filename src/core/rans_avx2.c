/* AVX2 rANS decoder: two 8-lane state vectors (lanes 0-7 read stream A,
 * lanes 8-15 stream B), one table gather per vector and step; the scalar
 * reference in rans.c defines the result. */
#include "core/rans.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define STEP(k)                                                                                        \
    do {                                                                                               \
        __m256i c_ = _mm256_add_epi32(_mm256_add_epi32(_mm256_cmpgt_epi32(prev[k], t0),                \
                                                       _mm256_cmpgt_epi32(prev[k], t1)),               \
                                      _mm256_cmpgt_epi32(prev[k], t2)); /* minus the context */        \
        __m256i i_ = _mm256_sub_epi32(_mm256_and_si256(x[k], m12), _mm256_slli_epi32(c_, TP_RANS_SCALE_BITS)); \
        __m256i g_ = _mm256_i32gather_epi32(tab, i_, 4);                                               \
        s[k] = _mm256_and_si256(g_, m8);                                                               \
        x[k] = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_and_si256(_mm256_srli_epi32(g_, 8), m12),    \
                                                   _mm256_srli_epi32(x[k], TP_RANS_SCALE_BITS)),       \
                                _mm256_srli_epi32(g_, 20));                                            \
        __m256i r_ = _mm256_cmpgt_epi32(lim, x[k]);                                                    \
        int m_ = _mm256_movemask_ps(_mm256_castsi256_ps(r_));                                          \
        __m256i w_ = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)q[k]));                    \
        w_ = _mm256_permutevar8x32_epi32(w_, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)perm[m_]))); \
        x[k] = _mm256_blendv_epi8(x[k], _mm256_or_si256(_mm256_slli_epi32(x[k], 16), w_), r_);         \
        q[k] += 2 * __builtin_popcount((unsigned)m_);                                                  \
    } while (0)

__attribute__((target("avx2,popcnt"))) size_t tp_rans_decode_avx2(const tp_rans_dtable *t, const uint16_t *thr,
                                                                   uint32_t xs[TP_RANS_LANES], const uint8_t **p,
                                                                   const uint8_t *const *end, uint8_t *sym, size_t n)
{
    /* perm[m][j]: which of the next words lane j takes when lanes m renormalise */
    uint8_t perm[256][8];
    for (int m = 0; m < 256; m++)
        for (int j = 0, k = 0; j < 8; j++) perm[m][j] = (uint8_t)((m >> j) & 1 ? k++ : 0);
    const int *tab = (const int *)t->e;
    const __m256i m12 = _mm256_set1_epi32(TP_RANS_M - 1), m8 = _mm256_set1_epi32(0xff);
    const __m256i lim = _mm256_set1_epi32((int)TP_RANS_L);
    const __m256i t0 = _mm256_set1_epi32(thr[0] - 1), t1 = _mm256_set1_epi32(thr[1] - 1),
                  t2 = _mm256_set1_epi32(thr[2] - 1);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i x[4], prev[4], s[4];
    const uint8_t *q[4];
    for (int k = 0; k < 4; k++) {
        x[k] = _mm256_loadu_si256((const __m256i *)(xs + 8 * k));
        prev[k] = _mm256_setzero_si256();
        q[k] = p[k];
    }
    size_t i = 0;
    while (n - i >= TP_RANS_LANES && end[0] - q[0] >= 16 && end[1] - q[1] >= 16 && end[2] - q[2] >= 16 &&
           end[3] - q[3] >= 16) {
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        __m256i s01 = _mm256_packus_epi32(s[0], s[1]), s23 = _mm256_packus_epi32(s[2], s[3]);
        __m256i s8 = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(s01, s23), order);
        _mm256_storeu_si256((__m256i *)(sym + i), s8);
        for (int k = 0; k < 4; k++) prev[k] = s[k];
        i += TP_RANS_LANES;
    }
    for (int k = 0; k < 4; k++) {
        _mm256_storeu_si256((__m256i *)(xs + 8 * k), x[k]);
        p[k] = q[k];
    }
    return i;
}
#endif
