/* Chunk kind 2, bf16 merge with AVX-512 VBMI: one 64-value block per
 * iteration in zmm registers, byte permutes (vpermb) doing the exponent
 * window lookup, the gathering of the packed remainder's top bits and the
 * interleave into elements. Same result as tp_ll_em_merge_bf16_sse2 and
 * the scalar reference (lossless_em.c), compared in tests. */
#include <string.h>

#include "codecs/lossless/lossless.h"
#include "core/error.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TV __attribute__((target("avx512f,avx512bw,avx512vbmi,popcnt")))

/* Bytes idx[t] = t + a for t < 64 (vpermb uses the low 6 bits). */
static inline TV __m512i iota_plus(int a)
{
    int8_t v[64];
    for (int t = 0; t < 64; t++) v[t] = (int8_t)(t + a);
    return _mm512_loadu_si512(v);
}

TV size_t tp_ll_em_merge_bf16_avx512(const uint8_t *j, const uint8_t *low, const uint8_t *r, const uint8_t *esc,
                                     size_t n_esc, size_t m, unsigned base, uint8_t *dst, size_t *used)
{
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i iota = iota_plus(0);
    /* exponent of window index w: 0 for w = 0, base + w - 1 (w = 63: an
     * escape, patched below) */
    const __m512i etab = _mm512_maskz_add_epi8(~1ull, iota, _mm512_set1_epi8((char)(base - 1)));
    const __m512i from48 = iota_plus(-48), from32 = iota_plus(-32), from16 = iota_plus(-16);
    const __m512i c63 = _mm512_set1_epi8(63), c3 = _mm512_set1_epi8(3), c12 = _mm512_set1_epi8(12);
    const __m512i c48 = _mm512_set1_epi8(48), c192 = _mm512_set1_epi8((char)192);
    int8_t il[2][64];
    for (int t = 0; t < 64; t++) /* elements 32h + t/2: q (low byte) then e */
        for (int h = 0; h < 2; h++) il[h][t] = (int8_t)(32 * h + t / 2 + (t & 1) * 64);
    const __m512i inter0 = _mm512_loadu_si512(il[0]), inter1 = _mm512_loadu_si512(il[1]);
    size_t k = 0;
    for (size_t i = 0; i + 64 <= m; i += 64) {
        const uint8_t *r48 = r + i / 64 * 48;
        _mm_prefetch((const char *)(r48 + 1024), _MM_HINT_T0); /* the remainder comes from a cold payload */
        __builtin_prefetch(dst + 2 * i + 2048, 1);              /* and the output lines are cold too */
        __builtin_prefetch(dst + 2 * i + 2048 + 64, 1);
        __m512i sv = _mm512_loadu_si512(j + i);
        if (low) { /* symbols stored without their low bit (tp_ll_insert_low_bits) */
            __mmask64 bits;
            memcpy(&bits, low + i / 8, 8);
            sv = _mm512_add_epi8(sv, sv);
            sv = _mm512_mask_add_epi8(sv, bits, sv, one);
        }
        __m512i p = _mm512_maskz_loadu_epi8(0xffffffffffffull, r48);
        /* six remainder bits: bytes 0..47 hold them in their low bits, the
         * top two bits of bytes t-48, t-32, t-16 make those of t >= 48 */
        __m512i hi = _mm512_or_si512(
            _mm512_or_si512(_mm512_permutexvar_epi8(from48, _mm512_and_si512(_mm512_srli_epi16(p, 6), c3)),
                            _mm512_permutexvar_epi8(from32, _mm512_and_si512(_mm512_srli_epi16(p, 4), c12))),
            _mm512_permutexvar_epi8(from16, _mm512_and_si512(_mm512_srli_epi16(p, 2), c48)));
        __m512i six = _mm512_mask_blend_epi8(0xffff000000000000ull, _mm512_and_si512(p, c63), hi);
        __m512i qv = _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi16(sv, 6), c192), six);
        __m512i ev = _mm512_permutexvar_epi8(_mm512_srli_epi16(sv, 2), etab); /* index: low 6 bits = w */
        uint64_t escapes = _mm512_cmpge_epu8_mask(sv, _mm512_set1_epi8((char)(TP_LL_EM_ESC << 2)));
        for (int h = 0; h < 2; h++) {
            __m512i v = _mm512_permutex2var_epi8(qv, h ? inter1 : inter0, ev);
            v = _mm512_or_si512(_mm512_srli_epi16(v, 1), _mm512_slli_epi16(v, 15)); /* sign back from bit 0 */
            _mm512_storeu_si512(dst + 2 * i + 64 * h, v);
        }
        for (; escapes; escapes &= escapes - 1) { /* rare: patch the exponent byte */
            if (k == n_esc) return tp_fail(TP_ERR_CORRUPT, "more escapes than stored");
            size_t x = i + (size_t)__builtin_ctzll(escapes);
            uint16_t v, q;
            memcpy(&v, dst + 2 * x, 2);
            q = (uint8_t)(v << 1 | v >> 15); /* the low byte of v rotated left */
            v = (uint16_t)(esc[k++] << 8 | q);
            v = (uint16_t)(v >> 1 | v << 15);
            memcpy(dst + 2 * x, &v, 2);
        }
    }
    *used = k;
    return 0;
}
#endif
