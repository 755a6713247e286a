/* AVX2 rANS decoder: two 8-lane state vectors (lanes 0-7 read stream A,
 * lanes 8-15 stream B), one table gather per vector and step; the scalar
 * reference in rans.c defines the result. */
#include "core/rans.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,popcnt"))) size_t tp_rans_decode_avx2(const tp_rans_dtable *t, const uint16_t *thr,
                                                                   uint32_t x[TP_RANS_LANES], const uint8_t **pa,
                                                                   const uint8_t *ea, const uint8_t **pb,
                                                                   const uint8_t *eb, uint8_t *sym, size_t n)
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
    __m256i xa = _mm256_loadu_si256((const __m256i *)x), xb = _mm256_loadu_si256((const __m256i *)(x + 8));
    __m256i prev_a = _mm256_setzero_si256(), prev_b = _mm256_setzero_si256();
    const uint8_t *a = *pa, *b = *pb;
    size_t i = 0;
    while (n - i >= TP_RANS_LANES && ea - a >= 16 && eb - b >= 16) {
        __m256i ca = _mm256_add_epi32(_mm256_add_epi32(_mm256_cmpgt_epi32(prev_a, t0), _mm256_cmpgt_epi32(prev_a, t1)),
                                      _mm256_cmpgt_epi32(prev_a, t2));
        __m256i cb = _mm256_add_epi32(_mm256_add_epi32(_mm256_cmpgt_epi32(prev_b, t0), _mm256_cmpgt_epi32(prev_b, t1)),
                                      _mm256_cmpgt_epi32(prev_b, t2));
        /* ca, cb hold minus the context */
        __m256i ia = _mm256_sub_epi32(_mm256_and_si256(xa, m12), _mm256_slli_epi32(ca, TP_RANS_SCALE_BITS));
        __m256i ib = _mm256_sub_epi32(_mm256_and_si256(xb, m12), _mm256_slli_epi32(cb, TP_RANS_SCALE_BITS));
        __m256i ga = _mm256_i32gather_epi32(tab, ia, 4);
        __m256i gb = _mm256_i32gather_epi32(tab, ib, 4);
        __m256i sa = _mm256_and_si256(ga, m8), sb = _mm256_and_si256(gb, m8);
        xa = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_and_si256(_mm256_srli_epi32(ga, 8), m12),
                                                 _mm256_srli_epi32(xa, TP_RANS_SCALE_BITS)),
                              _mm256_srli_epi32(ga, 20));
        xb = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_and_si256(_mm256_srli_epi32(gb, 8), m12),
                                                 _mm256_srli_epi32(xb, TP_RANS_SCALE_BITS)),
                              _mm256_srli_epi32(gb, 20));
        __m256i ra = _mm256_cmpgt_epi32(lim, xa), rb = _mm256_cmpgt_epi32(lim, xb);
        int ma = _mm256_movemask_ps(_mm256_castsi256_ps(ra)), mb = _mm256_movemask_ps(_mm256_castsi256_ps(rb));
        __m256i wa = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)a));
        __m256i wb = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)b));
        wa = _mm256_permutevar8x32_epi32(wa, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)perm[ma])));
        wb = _mm256_permutevar8x32_epi32(wb, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)perm[mb])));
        xa = _mm256_blendv_epi8(xa, _mm256_or_si256(_mm256_slli_epi32(xa, 16), wa), ra);
        xb = _mm256_blendv_epi8(xb, _mm256_or_si256(_mm256_slli_epi32(xb, 16), wb), rb);
        a += 2 * __builtin_popcount((unsigned)ma);
        b += 2 * __builtin_popcount((unsigned)mb);
        __m256i s16 = _mm256_packus_epi32(sa, sb);  /* a0-3 b0-3 | a4-7 b4-7 */
        __m256i s8 = _mm256_packus_epi16(s16, s16); /* dwords: a0-3 b0-3 .. | a4-7 b4-7 .. */
        s8 = _mm256_permutevar8x32_epi32(s8, order);
        _mm_storeu_si128((__m128i *)(sym + i), _mm256_castsi256_si128(s8));
        prev_a = sa;
        prev_b = sb;
        i += TP_RANS_LANES;
    }
    _mm256_storeu_si256((__m256i *)x, xa);
    _mm256_storeu_si256((__m256i *)(x + 8), xb);
    *pa = a;
    *pb = b;
    return i;
}
#endif
