#include "codecs/lut_kernels.h"

#include "core/bitpack.h"
#include "core/cpu.h"

void tp_lut_ref(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                size_t lut_stride, const float *s, float *out)
{
    uint8_t q[256];
    size_t gbytes = group / 8 * bits;
    for (size_t g = 0; g < n_groups; g++, codes += gbytes, out += group) {
        const float *t = lut + g * lut_stride;
        float sc = s ? s[g] : 1.0f;
        for (size_t i = 0; i < group; i += 256) {
            size_t m = group - i < 256 ? group - i : 256;
            tp_unpack8(q, codes + i / 8 * bits, m, bits);
            for (size_t j = 0; j < m; j++) out[i + j] = t[q[j]] * sc;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

/* 8 values from 8 byte codes < 16 through the scaled table (lo, hi). */
AVX2 static inline void look16(float *out, __m128i bytes8, __m256 lo, __m256 hi)
{
    __m256i idx = _mm256_cvtepu8_epi32(bytes8);
    __m256 a = _mm256_permutevar8x32_ps(lo, idx), b = _mm256_permutevar8x32_ps(hi, idx);
    _mm256_storeu_ps(out, _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28))));
}

AVX2 static inline void look256(float *out, __m128i bytes8, const float *t, __m256 vs)
{
    __m256 v = _mm256_i32gather_ps(t, _mm256_cvtepu8_epi32(bytes8), 4);
    _mm256_storeu_ps(out, _mm256_mul_ps(v, vs));
}

AVX2 static void lut_avx2(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                          size_t lut_stride, const float *s, float *out)
{
    const __m128i nib = _mm_set1_epi8(0x0f);
    uint8_t q[256];
    size_t gbytes = group / 8 * bits;
    for (size_t g = 0; g < n_groups; g++, codes += gbytes, out += group) {
        const float *t = lut + g * lut_stride;
        float sc = s ? s[g] : 1.0f;
        const uint8_t *c = codes;
        float *o = out;
        if (bits <= 4) {
            /* The scaled table fits two registers: products computed once
             * per group are the same floats the reference computes. */
            __m256 vs = _mm256_set1_ps(sc), lo, hi;
            if (bits == 4) {
                lo = _mm256_mul_ps(_mm256_loadu_ps(t), vs);
                hi = _mm256_mul_ps(_mm256_loadu_ps(t + 8), vs);
            } else {
                float ts[16] = {0};
                for (unsigned k = 0; k < (1u << bits); k++) ts[k] = t[k];
                lo = _mm256_mul_ps(_mm256_loadu_ps(ts), vs);
                hi = _mm256_mul_ps(_mm256_loadu_ps(ts + 8), vs);
            }
            size_t i = 0;
            if (bits == 4) {
                for (; i + 32 <= group; i += 32, c += 16, o += 32) {
                    __m128i b = _mm_loadu_si128((const __m128i *)c);
                    __m128i l = _mm_and_si128(b, nib), h = _mm_and_si128(_mm_srli_epi16(b, 4), nib);
                    __m128i x = _mm_unpacklo_epi8(l, h), y = _mm_unpackhi_epi8(l, h);
                    look16(o, x, lo, hi);
                    look16(o + 8, _mm_srli_si128(x, 8), lo, hi);
                    look16(o + 16, y, lo, hi);
                    look16(o + 24, _mm_srli_si128(y, 8), lo, hi);
                }
            }
            for (; i < group; i += 256) {
                size_t m = group - i < 256 ? group - i : 256;
                tp_unpack8(q, codes + i / 8 * bits, m, bits);
                for (size_t j = 0; j < m; j += 8) look16(out + i + j, _mm_loadl_epi64((const __m128i *)(q + j)), lo, hi);
            }
        } else {
            __m256 vs = _mm256_set1_ps(sc);
            size_t i = 0;
            if (bits == 8) {
                for (; i + 16 <= group; i += 16, c += 16, o += 16) {
                    __m128i b = _mm_loadu_si128((const __m128i *)c);
                    look256(o, b, t, vs);
                    look256(o + 8, _mm_srli_si128(b, 8), t, vs);
                }
            }
            for (; i < group; i += 256) {
                size_t m = group - i < 256 ? group - i : 256;
                tp_unpack8(q, codes + i / 8 * bits, m, bits);
                for (size_t j = 0; j < m; j += 8) look256(out + i + j, _mm_loadl_epi64((const __m128i *)(q + j)), t, vs);
            }
        }
    }
}
#endif

tp_lut_fn tp_lut_best(void)
{
#if defined(__x86_64__)
    unsigned need = TP_CPU_AVX2 | TP_CPU_FMA;
    if ((tp_cpu_features() & need) == need) return lut_avx2;
#endif
    return tp_lut_ref;
}

static void lut_bits(const uint8_t *codes, uint64_t k0, uint64_t n, unsigned bits, const float *t, float sc,
                     float *out)
{
    for (uint64_t k = 0; k < n; k++) out[k] = t[tp_bits_get(codes, k0 + k, bits)] * sc;
}

void tp_lut_decode(tp_lut_fn k, const tp_grouping *G, const uint8_t *codes, unsigned bits, const float *lut,
                   size_t lut_stride, const float *s, float *out)
{
    if (G->mode == TP_GROUPING_GROUP && G->group % 8 == 0 && G->row_len % G->group == 0) {
        k(codes, (size_t)G->n_groups, (size_t)G->group, bits, lut, lut_stride, s, out);
        return;
    }
    if (G->mode == TP_GROUPING_TENSOR) {
        uint64_t n8 = G->numel & ~(uint64_t)7;
        if (n8) k(codes, 1, (size_t)n8, bits, lut, 0, s, out);
        lut_bits(codes, n8, G->numel - n8, bits, lut, s ? s[0] : 1.0f, out + n8);
        return;
    }
    tp_run it = {0};
    while (tp_grouping_next(G, &it)) {
        const float *t = lut + it.gid * lut_stride;
        const float *sg = s ? s + it.gid : NULL;
        if (it.start % 8 == 0 && it.len % 8 == 0)
            k(codes + it.start / 8 * bits, 1, (size_t)it.len, bits, t, 0, sg, out + it.start);
        else
            lut_bits(codes, it.start, it.len, bits, t, sg ? *sg : 1.0f, out + it.start);
    }
}
