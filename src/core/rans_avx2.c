/* AVX2 rANS decoder: four 8-lane state vectors (lanes 0-7 read stream 0,
 * 8-15 stream 1, ...), one table lookup per lane and step; the scalar
 * reference in rans.c defines the result. */
#include "core/rans.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

/* The table lookups of one 8-lane step as eight scalar loads: on Zen 4
 * this decodes ~8 % faster than vpgatherdd (0.60 against 0.65 ns per
 * symbol on MiniLM exponents); the encoder's 64-bit gathers stay (scalar
 * loads were 4 % slower there). An AVX-512 variant (two 16-lane vectors)
 * was slower on Zen 4: 0.68 ns per symbol with scalar loads, 0.93 with
 * vpgatherdd zmm, against 0.50 here; two dependency chains instead of
 * four do not hide the lookup latency. */
static inline __attribute__((always_inline, target("avx2"))) __m256i gather8(const int *tab, __m256i idx)
{
    __m128i lo = _mm256_castsi256_si128(idx), hi = _mm256_extracti128_si256(idx, 1);
    uint64_t a = (uint64_t)_mm_cvtsi128_si64(lo), b = (uint64_t)_mm_extract_epi64(lo, 1);
    uint64_t c = (uint64_t)_mm_cvtsi128_si64(hi), d = (uint64_t)_mm_extract_epi64(hi, 1);
    return _mm256_setr_epi32(tab[(uint32_t)a], tab[a >> 32], tab[(uint32_t)b], tab[b >> 32], tab[(uint32_t)c],
                             tab[c >> 32], tab[(uint32_t)d], tab[d >> 32]);
}

#define STEP(k)                                                                                        \
    do {                                                                                               \
        __m256i i_ = _mm256_and_si256(x[k], m12);                                                      \
        if (ctx) {                                                                                     \
            __m256i c_ = _mm256_add_epi32(_mm256_add_epi32(_mm256_cmpgt_epi32(prev[k], t0),            \
                                                           _mm256_cmpgt_epi32(prev[k], t1)),           \
                                          _mm256_cmpgt_epi32(prev[k], t2)); /* minus the context */    \
            i_ = _mm256_sub_epi32(i_, _mm256_slli_epi32(c_, TP_RANS_SCALE_BITS));                      \
        }                                                                                              \
        __m256i g_ = gather8(tab, i_);                                                                 \
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

/* ctx is a constant in each caller: order-0 planes (all of kind 2's
 * symbol planes) skip the context arithmetic. */
static inline __attribute__((always_inline, target("avx2,popcnt"))) size_t
decode_avx2(const tp_rans_dtable *t, const uint16_t *thr, int ctx, uint32_t xs[TP_RANS_LANES], const uint8_t **p,
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
        for (int k = 0; k < 4; k++) _mm_prefetch((const char *)(q[k] + 512), _MM_HINT_T0); /* cold payload */
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        __m256i s01 = _mm256_packus_epi32(s[0], s[1]), s23 = _mm256_packus_epi32(s[2], s[3]);
        __m256i s8 = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(s01, s23), order);
        _mm256_storeu_si256((__m256i *)(sym + i), s8);
        if (ctx)
            for (int k = 0; k < 4; k++) prev[k] = s[k];
        i += TP_RANS_LANES;
    }
    for (int k = 0; k < 4; k++) {
        _mm256_storeu_si256((__m256i *)(xs + 8 * k), x[k]);
        p[k] = q[k];
    }
    return i;
}

__attribute__((target("avx2,popcnt"))) size_t tp_rans_decode_avx2(const tp_rans_dtable *t, const uint16_t *thr,
                                                                   int nctx, uint32_t xs[TP_RANS_LANES],
                                                                   const uint8_t **p, const uint8_t *const *end,
                                                                   uint8_t *sym, size_t n)
{
    return nctx > 1 ? decode_avx2(t, thr, 1, xs, p, end, sym, n) : decode_avx2(t, thr, 0, xs, p, end, sym, n);
}
#endif

/* AVX2 rANS encoder: the four 8-lane streams of one 32-symbol group at a
 * time (independent chains), two 4-element 64-bit gathers per vector
 * (reciprocal, packed frequency/bias/shift). The renormalising lanes' low 16-bit words are
 * compacted in lane order to the top of a 16-byte store that ends at the
 * stream cursor, which then moves down by two bytes per word: the same
 * bytes as the scalar reference in rans.c. */
#if defined(__x86_64__)
#define ESTEP(k)                                                                                       \
    do {                                                                                               \
        __m256i i_ = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(sym + b + 8 * (k))));      \
        if (ctx) {                                                                                     \
            __m256i v_ = b ? _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(sym + b - TP_RANS_LANES + 8 * (k)))) \
                           : _mm256_setzero_si256();                                                   \
            __m256i c_ = _mm256_add_epi32(_mm256_add_epi32(_mm256_cmpgt_epi32(v_, t0), _mm256_cmpgt_epi32(v_, t1)), \
                                          _mm256_cmpgt_epi32(v_, t2));                                 \
            i_ = _mm256_sub_epi32(i_, _mm256_slli_epi32(c_, 8));                                       \
        }                                                                                              \
        __m256i ga_ = _mm256_i32gather_epi64(tab, _mm256_castsi256_si128(i_), 8);                      \
        __m256i gb_ = _mm256_i32gather_epi64(tab, _mm256_extracti128_si256(i_, 1), 8);                 \
        __m256i r_ = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(                   \
            _mm256_castsi256_ps(ga_), _mm256_castsi256_ps(gb_), 0x88)), 0xd8);                         \
        __m256i k_ = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(                   \
            _mm256_castsi256_ps(ga_), _mm256_castsi256_ps(gb_), 0xdd)), 0xd8);                         \
        __m256i f_ = _mm256_and_si256(k_, m12);                                                        \
        __m256i n_ = _mm256_cmpgt_epi32(x[k], _mm256_sub_epi32(_mm256_slli_epi32(f_, 31 - TP_RANS_SCALE_BITS), one)); \
        int m_ = _mm256_movemask_ps(_mm256_castsi256_ps(n_));                                          \
        __m256i w_ = _mm256_permutevar8x32_epi32(_mm256_and_si256(x[k], m16),                          \
                                                 _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)cperm[m_]))); \
        w_ = _mm256_permute4x64_epi64(_mm256_packus_epi32(w_, w_), 0x08);                              \
        _mm_storeu_si128((__m128i *)(q[k] - 16), _mm256_castsi256_si128(w_));                          \
        q[k] -= 2 * __builtin_popcount((unsigned)m_);                                                  \
        x[k] = _mm256_blendv_epi8(x[k], _mm256_srli_epi32(x[k], 16), n_);                              \
        __m256i s_ = _mm256_add_epi32(_mm256_srli_epi32(k_, 25), c32);                                 \
        __m256i pe_ = _mm256_mul_epu32(x[k], r_);                                                      \
        __m256i po_ = _mm256_mul_epu32(_mm256_srli_epi64(x[k], 32), _mm256_srli_epi64(r_, 32));        \
        pe_ = _mm256_srlv_epi64(pe_, _mm256_and_si256(s_, lo32));                                      \
        po_ = _mm256_srlv_epi64(po_, _mm256_srli_epi64(s_, 32));                                       \
        __m256i d_ = _mm256_blend_epi32(pe_, _mm256_slli_epi64(po_, 32), 0xaa);                        \
        __m256i b_ = _mm256_and_si256(_mm256_srli_epi32(k_, 12), m13);                                 \
        x[k] = _mm256_add_epi32(_mm256_add_epi32(x[k], b_),                                            \
                                _mm256_mullo_epi32(d_, _mm256_sub_epi32(mM, f_)));                     \
    } while (0)

__attribute__((target("avx2,popcnt"))) void tp_rans_encode_avx2(const tp_rans_etable *t, const uint16_t *thr,
                                                                 int nctx, uint32_t xs[TP_RANS_LANES], uint8_t **p,
                                                                 const uint8_t *sym, size_t full)
{
    /* cperm[m][j]: the lane whose word goes to slot j when lanes m renormalise
     * (the popcount(m) words fill the top slots, in lane order) */
    uint8_t cperm[256][8];
    for (int m = 0; m < 256; m++) {
        int c = __builtin_popcount((unsigned)m), k = 8 - c;
        memset(cperm[m], 0, 8);
        for (int j = 0; j < 8; j++)
            if ((m >> j) & 1) cperm[m][k++] = (uint8_t)j;
    }
    const long long *tab = (const long long *)t->e;
    const __m256i m12 = _mm256_set1_epi32(0xfff), m13 = _mm256_set1_epi32(0x1fff), m16 = _mm256_set1_epi32(0xffff);
    const __m256i one = _mm256_set1_epi32(1), c32 = _mm256_set1_epi32(32), mM = _mm256_set1_epi32(TP_RANS_M);
    const __m256i lo32 = _mm256_set1_epi64x(0xffffffff);
    const __m256i t0 = _mm256_set1_epi32(thr[0] - 1), t1 = _mm256_set1_epi32(thr[1] - 1),
                  t2 = _mm256_set1_epi32(thr[2] - 1);
    const int ctx = nctx > 1;
    __m256i x[4];
    uint8_t *q[4];
    for (int k = 0; k < 4; k++) {
        x[k] = _mm256_loadu_si256((const __m256i *)(xs + 8 * k));
        q[k] = p[k];
    }
    for (size_t g = full; g > 0; g -= TP_RANS_LANES) {
        size_t b = g - TP_RANS_LANES;
        ESTEP(0);
        ESTEP(1);
        ESTEP(2);
        ESTEP(3);
    }
    for (int k = 0; k < 4; k++) {
        _mm256_storeu_si256((__m256i *)(xs + 8 * k), x[k]);
        p[k] = q[k];
    }
}
#endif
