/* Body of the x86 rANS decoders (rans_avx2.c includes it once per
 * instruction set): four 8-lane state vectors (lanes 0-7 read stream 0,
 * 8-15 stream 1, ...), one table lookup per lane and step. Parameters:
 * TP_RANS_DEC_NAME (the exported function), TP_RANS_DEC_KERNEL and
 * TP_RANS_DEC_GATHER (its helpers), TP_RANS_DEC_TARGET (target attribute
 * string), TP_RANS_DEC_VL (1: AVX-512VL renormalisation, a mask compare
 * and vpexpandd of the next words; 0: AVX2, movemask and a permutation
 * table). */

/* Refill of the renormalising lanes of vector k from stream k. */
#undef RENORM
#if TP_RANS_DEC_VL
#define RENORM(k)                                                                                      \
    do {                                                                                               \
        __mmask8 m_ = _mm256_cmplt_epu32_mask(x[k], lim);                                              \
        __m256i w_ = _mm256_maskz_expand_epi32(m_, _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)q[k]))); \
        x[k] = _mm256_mask_or_epi32(x[k], m_, _mm256_slli_epi32(x[k], 16), w_);                        \
        q[k] += 2 * __builtin_popcount((unsigned)m_);                                                  \
    } while (0)
#else
#define RENORM(k)                                                                                      \
    do {                                                                                               \
        __m256i r_ = _mm256_cmpgt_epi32(lim, x[k]);                                                    \
        int m_ = _mm256_movemask_ps(_mm256_castsi256_ps(r_));                                          \
        __m256i w_ = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)q[k]));                    \
        w_ = _mm256_permutevar8x32_epi32(w_, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)perm[m_]))); \
        x[k] = _mm256_blendv_epi8(x[k], _mm256_or_si256(_mm256_slli_epi32(x[k], 16), w_), r_);         \
        q[k] += 2 * __builtin_popcount((unsigned)m_);                                                  \
    } while (0)
#endif

/* The table lookups of one 8-lane step as eight scalar loads: on Zen 4
 * this decodes ~8 % faster than vpgatherdd (0.60 against 0.65 ns per
 * symbol on MiniLM exponents); the encoder's 64-bit gathers stay (scalar
 * loads were 4 % slower there). An AVX-512 variant (two 16-lane vectors)
 * was slower on Zen 4: 0.68 ns per symbol with scalar loads, 0.93 with
 * vpgatherdd zmm, against 0.50 here; two dependency chains instead of
 * four do not hide the lookup latency. */
static inline __attribute__((always_inline, target(TP_RANS_DEC_TARGET))) __m256i TP_RANS_DEC_GATHER(const int *tab, __m256i idx)
{
    __m128i lo = _mm256_castsi256_si128(idx), hi = _mm256_extracti128_si256(idx, 1);
    uint64_t a = (uint64_t)_mm_cvtsi128_si64(lo), b = (uint64_t)_mm_extract_epi64(lo, 1);
    uint64_t c = (uint64_t)_mm_cvtsi128_si64(hi), d = (uint64_t)_mm_extract_epi64(hi, 1);
    return _mm256_setr_epi32(tab[(uint32_t)a], tab[a >> 32], tab[(uint32_t)b], tab[b >> 32], tab[(uint32_t)c],
                             tab[c >> 32], tab[(uint32_t)d], tab[d >> 32]);
}

#undef STEP
#define STEP(k)                                                                                        \
    do {                                                                                               \
        __m256i i_ = _mm256_and_si256(x[k], m12);                                                      \
        if (ctx) {                                                                                     \
            __m256i c_ = _mm256_add_epi32(_mm256_add_epi32(_mm256_cmpgt_epi32(prev[k], t0),            \
                                                           _mm256_cmpgt_epi32(prev[k], t1)),           \
                                          _mm256_cmpgt_epi32(prev[k], t2)); /* minus the context */    \
            i_ = _mm256_sub_epi32(i_, _mm256_slli_epi32(c_, TP_RANS_SCALE_BITS));                      \
        }                                                                                              \
        __m256i g_ = TP_RANS_DEC_GATHER(tab, i_);                                                                 \
        s[k] = _mm256_and_si256(g_, m8);                                                               \
        x[k] = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_and_si256(_mm256_srli_epi32(g_, 8), m12),    \
                                                   _mm256_srli_epi32(x[k], TP_RANS_SCALE_BITS)),       \
                                _mm256_srli_epi32(g_, 20));                                            \
        RENORM(k);                                                                                     \
    } while (0)

/* ctx is a constant in each caller: order-0 planes (all of kind 2's
 * symbol planes) skip the context arithmetic. */
static inline __attribute__((always_inline, target(TP_RANS_DEC_TARGET))) size_t
TP_RANS_DEC_KERNEL(const tp_rans_dtable *t, const uint16_t *thr, int ctx, uint32_t xs[TP_RANS_LANES], const uint8_t **p,
            const uint8_t *const *end, uint8_t *sym, size_t n, const uint8_t *next)
{
#if !TP_RANS_DEC_VL
    /* perm[m][j]: which of the next words lane j takes when lanes m renormalise */
    uint8_t perm[256][8];
    for (int m = 0; m < 256; m++)
        for (int j = 0, k = 0; j < 8; j++) perm[m][j] = (uint8_t)((m >> j) & 1 ? k++ : 0);
#endif
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
        if (next) __builtin_prefetch(next + 2 * i, 1);
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

__attribute__((target(TP_RANS_DEC_TARGET))) size_t TP_RANS_DEC_NAME(const tp_rans_dtable *t, const uint16_t *thr,
                                                                   int nctx, uint32_t xs[TP_RANS_LANES],
                                                                   const uint8_t **p, const uint8_t *const *end,
                                                                   uint8_t *sym, size_t n, const uint8_t *next)
{
    return nctx > 1 ? TP_RANS_DEC_KERNEL(t, thr, 1, xs, p, end, sym, n, next)
                    : TP_RANS_DEC_KERNEL(t, thr, 0, xs, p, end, sym, n, next);
}
