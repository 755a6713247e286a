#include "codecs/int_kernels.h"

#include "core/bitpack.h"
#include "core/cpu.h"

void tp_dequant_ref(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *s,
                    const float *off, float *out)
{
    uint8_t q[256];
    size_t gbytes = group * bits / 8;
    for (size_t g = 0; g < n_groups; g++, codes += gbytes, out += group) {
        for (size_t i = 0; i < group; i += 256) {
            size_t m = group - i < 256 ? group - i : 256;
            tp_unpack8(q, codes + i * bits / 8, m, bits);
            for (size_t j = 0; j < m; j++) out[i + j] = (float)q[j] * s[g] + off[g];
        }
    }
}

void tp_quant_run(const float *x, size_t n, float inv, float off, unsigned qmax, uint8_t *codes)
{
    const float top = (float)qmax;
    for (size_t i = 0; i < n; i++) {
        float v = (x[i] - off) * inv;
        v = v < 0.0f ? 0.0f : (v > top ? top : v);
        codes[i] = (uint8_t)(v + 0.5f);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static inline void store8(float *out, __m128i bytes8, __m256 s, __m256 o)
{
    __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes8));
    _mm256_storeu_ps(out, _mm256_fmadd_ps(f, s, o));
}

__attribute__((target("avx2,fma"))) static void dequant_avx2(const uint8_t *codes, size_t n_groups, size_t group,
                                                           unsigned bits, const float *s, const float *off,
                                                           float *out)
{
    if (bits != 8 && bits != 4) { tp_dequant_ref(codes, n_groups, group, bits, s, off, out); return; }
    const __m128i lo_mask = _mm_set1_epi8(0x0f);
    for (size_t g = 0; g < n_groups; g++) {
        __m256 vs = _mm256_set1_ps(s[g]), vo = _mm256_set1_ps(off[g]);
        size_t i = 0;
        if (bits == 8) {
            for (; i + 16 <= group; i += 16, codes += 16, out += 16) {
                __m128i b = _mm_loadu_si128((const __m128i *)codes);
                store8(out, b, vs, vo);
                store8(out + 8, _mm_srli_si128(b, 8), vs, vo);
            }
            for (; i < group; i += 8, codes += 8, out += 8) store8(out, _mm_loadl_epi64((const __m128i *)codes), vs, vo);
        } else {
            for (; i + 32 <= group; i += 32, codes += 16, out += 32) {
                __m128i b = _mm_loadu_si128((const __m128i *)codes);
                __m128i lo = _mm_and_si128(b, lo_mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), lo_mask);
                __m128i a = _mm_unpacklo_epi8(lo, hi), c = _mm_unpackhi_epi8(lo, hi);
                store8(out, a, vs, vo);
                store8(out + 8, _mm_srli_si128(a, 8), vs, vo);
                store8(out + 16, c, vs, vo);
                store8(out + 24, _mm_srli_si128(c, 8), vs, vo);
            }
            for (; i < group; i += 8, codes += 4, out += 8) {
                uint32_t w;
                __builtin_memcpy(&w, codes, 4);
                __m128i b = _mm_cvtsi32_si128((int)w);
                __m128i lo = _mm_and_si128(b, lo_mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), lo_mask);
                store8(out, _mm_unpacklo_epi8(lo, hi), vs, vo);
            }
        }
    }
}
#endif

tp_dequant_fn tp_dequant_best(void)
{
#if defined(__x86_64__)
    unsigned need = TP_CPU_AVX2 | TP_CPU_FMA;
    if ((tp_cpu_features() & need) == need) return dequant_avx2;
#endif
    return tp_dequant_ref;
}
