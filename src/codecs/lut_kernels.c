#include "codecs/lut_kernels.h"

#include <math.h>

#include "core/bitpack.h"
#include "core/cpu.h"
#include "core/parallel.h"
#include "codecs/quant_family.h"

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

/* 8-bit codes: the 256-entry table lives in 16 zmm registers; each pair is
 * a 32-entry table for vpermt2ps (low 5 code bits), and the top 3 bits pick
 * one of the 8 results through 7 blends. Gathers are slower on the CPUs we
 * measured (docs/BENCHMARKS.md, quant section). The table is reloaded only
 * when the group's table changes. */
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
AVX512 static void lut8_avx512(const uint8_t *codes, size_t n_groups, size_t group, const float *lut,
                               size_t lut_stride, const float *s, float *out)
{
    __m512 T[16];
    const float *loaded = NULL;
    const __m512i b5 = _mm512_set1_epi32(32), b6 = _mm512_set1_epi32(64), b7 = _mm512_set1_epi32(128);
    for (size_t g = 0; g < n_groups; g++, codes += group, out += group) {
        const float *t = lut + g * lut_stride;
        if (t != loaded) {
            for (int k = 0; k < 16; k++) T[k] = _mm512_loadu_ps(t + 16 * k);
            loaded = t;
        }
        float sc = s ? s[g] : 1.0f;
        const __m512 vs = _mm512_set1_ps(sc);
        size_t i = 0;
        for (; i + 16 <= group; i += 16) {
            __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + i)));
            __m512 r0 = _mm512_permutex2var_ps(T[0], idx, T[1]), r1 = _mm512_permutex2var_ps(T[2], idx, T[3]);
            __m512 r2 = _mm512_permutex2var_ps(T[4], idx, T[5]), r3 = _mm512_permutex2var_ps(T[6], idx, T[7]);
            __m512 r4 = _mm512_permutex2var_ps(T[8], idx, T[9]), r5 = _mm512_permutex2var_ps(T[10], idx, T[11]);
            __m512 r6 = _mm512_permutex2var_ps(T[12], idx, T[13]), r7 = _mm512_permutex2var_ps(T[14], idx, T[15]);
            __mmask16 m5 = _mm512_test_epi32_mask(idx, b5), m6 = _mm512_test_epi32_mask(idx, b6);
            __mmask16 m7 = _mm512_test_epi32_mask(idx, b7);
            r0 = _mm512_mask_blend_ps(m5, r0, r1);
            r2 = _mm512_mask_blend_ps(m5, r2, r3);
            r4 = _mm512_mask_blend_ps(m5, r4, r5);
            r6 = _mm512_mask_blend_ps(m5, r6, r7);
            r0 = _mm512_mask_blend_ps(m6, r0, r2);
            r4 = _mm512_mask_blend_ps(m6, r4, r6);
            _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mask_blend_ps(m7, r0, r4), vs));
        }
        if (i < group) look256(out + i, _mm_loadl_epi64((const __m128i *)(codes + i)), t, _mm256_set1_ps(sc));
    }
}

AVX512 static void lut_avx512(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                              size_t lut_stride, const float *s, float *out)
{
    if (bits == 8) lut8_avx512(codes, n_groups, group, lut, lut_stride, s, out);
    else lut_avx2(codes, n_groups, group, bits, lut, lut_stride, s, out);
}

/* ---- fp8 through F16C ---------------------------------------------------- */

#define F16C __attribute__((target("avx2,f16c")))

/* 16 codes -> 16 f16 bit patterns (e4m3: value / 2^8). NaN codes become
 * the quiet f16 NaN 0x7e00 with the code's sign, which F16C widens to the
 * quiet f32 NaN 0x7fc00000, the value the reference table holds. */
F16C static inline __m256i fp8_to_h16(__m128i b, int e4m3)
{
    __m256i x = _mm256_cvtepu8_epi16(b);
    __m256i sign = _mm256_and_si256(_mm256_slli_epi16(x, 8), _mm256_set1_epi16((short)0x8000));
    __m256i h, nan;
    if (e4m3) {
        __m256i mag = _mm256_and_si256(x, _mm256_set1_epi16(0x7f));
        h = _mm256_or_si256(sign, _mm256_slli_epi16(mag, 7));
        nan = _mm256_cmpeq_epi16(mag, _mm256_set1_epi16(0x7f));
    } else {
        h = _mm256_slli_epi16(x, 8);
        nan = _mm256_cmpgt_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7fff)), _mm256_set1_epi16(0x7c00));
    }
    return _mm256_blendv_epi8(h, _mm256_or_si256(sign, _mm256_set1_epi16(0x7e00)), nan);
}

/* nt: non-temporal stores when out is 32-byte aligned (then every group
 * start is, groups being multiples of 8 values): for outputs beyond the
 * last-level cache they skip the read-for-ownership of each line. */
F16C static inline void fp8_groups(const uint8_t *codes, size_t n_groups, size_t group, const float *lut,
                                   const float *s, float *out, int e4m3, int nt)
{
    nt = nt && ((uintptr_t)out & 31) == 0;
    const float pre = e4m3 ? 256.0f : 1.0f;
    for (size_t g = 0; g < n_groups; g++, codes += group, out += group) {
        float sc = s ? s[g] : 1.0f, ss = sc * pre;
        if (!isfinite(ss)) { /* non-finite or 2^8 * s overflows: the reference's rounding */
            tp_lut_ref(codes, 1, group, 8, lut, 0, s ? s + g : NULL, out);
            continue;
        }
        const __m256 vs = _mm256_set1_ps(ss);
        size_t i = 0;
        for (; i + 16 <= group; i += 16) {
            __m256i h = fp8_to_h16(_mm_loadu_si128((const __m128i *)(codes + i)), e4m3);
            __m256 a = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h)), vs);
            __m256 b = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)), vs);
            if (nt) { _mm256_stream_ps(out + i, a); _mm256_stream_ps(out + i + 8, b); }
            else { _mm256_storeu_ps(out + i, a); _mm256_storeu_ps(out + i + 8, b); }
        }
        if (i < group) {
            __m256i h = fp8_to_h16(_mm_loadl_epi64((const __m128i *)(codes + i)), e4m3);
            _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h)), vs));
        }
    }
    if (nt) _mm_sfence();
}

F16C static void fp8_e4m3_f16c(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                               size_t lut_stride, const float *s, float *out)
{
    (void)bits; (void)lut_stride;
    fp8_groups(codes, n_groups, group, lut, s, out, 1, 0);
}

F16C static void fp8_e4m3_f16c_nt(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits,
                                  const float *lut, size_t lut_stride, const float *s, float *out)
{
    (void)bits; (void)lut_stride;
    fp8_groups(codes, n_groups, group, lut, s, out, 1, 1);
}

F16C static void fp8_e5m2_f16c(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                               size_t lut_stride, const float *s, float *out)
{
    (void)bits; (void)lut_stride;
    fp8_groups(codes, n_groups, group, lut, s, out, 0, 0);
}

F16C static void fp8_e5m2_f16c_nt(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits,
                                  const float *lut, size_t lut_stride, const float *s, float *out)
{
    (void)bits; (void)lut_stride;
    fp8_groups(codes, n_groups, group, lut, s, out, 0, 1);
}
#endif

tp_lut_fn tp_lut_variant(int i)
{
    if (i == 0) return tp_lut_ref;
#if defined(__x86_64__)
    unsigned f = tp_cpu_features(), need = TP_CPU_AVX2 | TP_CPU_FMA;
    if ((f & need) != need) return NULL;
    if (i == 1) return lut_avx2;
    if (i == 2) return (f & TP_CPU_AVX512) ? lut_avx512 : NULL;
#endif
    return NULL;
}


tp_lut_fn tp_lut_best(void)
{
    for (int i = 2; i > 0; i--)
        if (tp_lut_variant(i)) return tp_lut_variant(i);
    return tp_lut_ref;
}

tp_lut_fn tp_fp8_kernel_variant(int format, int i)
{
    if (i == 0) return tp_lut_ref;
#if defined(__x86_64__)
    unsigned need = TP_CPU_AVX2 | TP_CPU_F16C;
    if ((tp_cpu_features() & need) != need) return NULL;
    if (i == 1) return format == TP_FP8_E4M3 ? fp8_e4m3_f16c : fp8_e5m2_f16c;
    if (i == 2) return format == TP_FP8_E4M3 ? fp8_e4m3_f16c_nt : fp8_e5m2_f16c_nt;
#endif
    return NULL;
}

tp_lut_fn tp_fp8_kernel_best(int format, uint64_t out_bytes)
{
    tp_lut_fn k = tp_fp8_kernel_variant(format, out_bytes >= TP_STREAM_BYTES ? 2 : 1);
    return k ? k : tp_lut_ref;
}

static void lut_bits(const uint8_t *codes, uint64_t k0, uint64_t n, unsigned bits, const float *t, float sc,
                     float *out)
{
    for (uint64_t k = 0; k < n; k++) out[k] = t[tp_bits_get(codes, k0 + k, bits)] * sc;
}

/* Ranges of whole groups (GROUP mode) or of values (TENSOR mode, multiples
 * of 8) decoded by the worker threads of tp_threads_set(). */
typedef struct {
    tp_lut_fn k;
    const tp_grouping *G;
    const uint8_t *codes;
    unsigned bits;
    const float *lut, *s;
    size_t lut_stride;
    float *out;
} lut_job;

#define RANGE_VALUES 65536 /* values per parallel range: 256 KiB of output */

static size_t lut_groups(void *ctx, uint64_t lo, uint64_t hi)
{
    const lut_job *J = ctx;
    size_t g = (size_t)J->G->group;
    J->k(J->codes + lo * g / 8 * J->bits, (size_t)(hi - lo), g, J->bits, J->lut + lo * J->lut_stride, J->lut_stride,
         J->s ? J->s + lo : NULL, J->out + lo * g);
    return 0;
}

static size_t lut_values(void *ctx, uint64_t lo, uint64_t hi)
{
    const lut_job *J = ctx;
    J->k(J->codes + lo / 8 * J->bits, 1, (size_t)(hi - lo), J->bits, J->lut, 0, J->s, J->out + lo);
    return 0;
}

void tp_lut_decode(tp_lut_fn k, const tp_grouping *G, const uint8_t *codes, unsigned bits, const float *lut,
                   size_t lut_stride, const float *s, float *out)
{
    lut_job J = {k, G, codes, bits, lut, s, lut_stride, out};
    if (G->mode == TP_GROUPING_GROUP && G->group % 8 == 0 && G->row_len % G->group == 0) {
        uint64_t per = RANGE_VALUES / G->group;
        tp_parallel_ranges(G->n_groups, per ? per : 1, lut_groups, &J);
        return;
    }
    if (G->mode == TP_GROUPING_TENSOR) {
        uint64_t n8 = G->numel & ~(uint64_t)7;
        tp_parallel_ranges(n8, RANGE_VALUES, lut_values, &J);
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
