/* x86 rANS decoders (the loop: rans_dec_x86.h, one copy per instruction
 * set) and the AVX2 encoder; the scalar references in rans.c define the
 * result. */
#include "core/rans.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define TP_RANS_DEC_NAME tp_rans_decode_avx2
#define TP_RANS_DEC_KERNEL decode_avx2
#define TP_RANS_DEC_GATHER gather8_avx2
#define TP_RANS_DEC_TARGET "avx2,popcnt"
#define TP_RANS_DEC_VL 0
#include "core/rans_dec_x86.h"
#undef TP_RANS_DEC_NAME
#undef TP_RANS_DEC_KERNEL
#undef TP_RANS_DEC_GATHER
#undef TP_RANS_DEC_TARGET
#undef TP_RANS_DEC_VL

/* AVX-512VL: ~7 % faster on Zen 4 (0.465 against 0.50 ns per symbol) */
#define TP_RANS_DEC_NAME tp_rans_decode_avx512vl
#define TP_RANS_DEC_KERNEL decode_avx512vl
#define TP_RANS_DEC_GATHER gather8_avx512vl
#define TP_RANS_DEC_TARGET "avx2,avx512f,avx512vl,popcnt"
#define TP_RANS_DEC_VL 1
#include "core/rans_dec_x86.h"
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
