#include "codecs/quant/lut_kernels.h"

#include <math.h>
#include <stdlib.h>

#include "core/bitpack.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/parallel.h"
#include "codecs/quant/quant_family.h"

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

/* 8-bit codes with AVX-512 VBMI: the table is split into 4 byte planes
 * (byte p of every entry), each 256 bytes = 4 zmm. vpermt2b looks up 64
 * codes in 128 entries at once, so byte p of 64 results costs two permutes
 * and a blend on the code's top bit; the four planes are then interleaved
 * back into floats with unpacks. The unpacks work inside 128-bit lanes,
 * which transposes 4x4 blocks of dwords; permuting the codes by the same
 * transpose first puts the 64 results in order: about 0.5 instruction per
 * value instead of 1.4 for lut8_avx512. The planes are rebuilt only when
 * the table changes (stride 0: once per call). */
#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi,avx2,fma")))
VBMI static void planes_build(const float *t, __m512i P[16])
{
    uint8_t b[4][256];
    for (int k = 0; k < 16; k++) {
        __m512i v = _mm512_castps_si512(_mm512_loadu_ps(t + 16 * k));
        for (int p = 0; p < 4; p++)
            _mm_storeu_si128((__m128i *)(b[p] + 16 * k), _mm512_cvtepi32_epi8(_mm512_srli_epi32(v, 8 * p)));
    }
    for (int p = 0; p < 4; p++)
        for (int q = 0; q < 4; q++) P[4 * p + q] = _mm512_loadu_si512(b[p] + 64 * q);
}

/* 64 floats from four vectors; nt: streaming stores (out 64-byte aligned). */
VBMI __attribute__((always_inline)) static inline void store64(float *out, __m512 d0, __m512 d1, __m512 d2, __m512 d3,
                                                               int nt)
{
    if (nt) {
        _mm512_stream_ps(out, d0); _mm512_stream_ps(out + 16, d1);
        _mm512_stream_ps(out + 32, d2); _mm512_stream_ps(out + 48, d3);
    } else {
        _mm512_storeu_ps(out, d0); _mm512_storeu_ps(out + 16, d1);
        _mm512_storeu_ps(out + 32, d2); _mm512_storeu_ps(out + 48, d3);
    }
}

/* nt: non-temporal stores (out 64-byte aligned, then every 64-value block
 * is): for outputs beyond the last-level cache. */
VBMI __attribute__((always_inline)) static inline void lut8_vbmi_run(const uint8_t *codes, size_t n_groups, size_t group, const float *lut,
                                      const float *s, float *out, int nt)
{
    __m512i P[16];
    planes_build(lut, P);
    const __m512i P0 = P[0], P1 = P[1], P2 = P[2], P3 = P[3], P4 = P[4], P5 = P[5], P6 = P[6], P7 = P[7];
    const __m512i P8 = P[8], P9 = P[9], P10 = P[10], P11 = P[11], P12 = P[12], P13 = P[13], P14 = P[14], P15 = P[15];
    const __m512i transpose = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const size_t n = n_groups * group;
    size_t g = 0, left = group, i = 0; /* group of the next 16 values, and its values still to come */
    for (; i + 64 <= n; i += 64) {
        __m512i c = _mm512_permutexvar_epi32(transpose, _mm512_loadu_si512(codes + i));
        __mmask64 top = _mm512_movepi8_mask(c);
        __m512i b0 = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(P0, c, P1), _mm512_permutex2var_epi8(P2, c, P3));
        __m512i b1 = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(P4, c, P5), _mm512_permutex2var_epi8(P6, c, P7));
        __m512i b2 = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(P8, c, P9), _mm512_permutex2var_epi8(P10, c, P11));
        __m512i b3 = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(P12, c, P13), _mm512_permutex2var_epi8(P14, c, P15));
        __m512i wl = _mm512_unpacklo_epi8(b0, b1), wh = _mm512_unpackhi_epi8(b0, b1);
        __m512i ul = _mm512_unpacklo_epi8(b2, b3), uh = _mm512_unpackhi_epi8(b2, b3);
        __m512 d0 = _mm512_castsi512_ps(_mm512_unpacklo_epi16(wl, ul)), d1 = _mm512_castsi512_ps(_mm512_unpackhi_epi16(wl, ul));
        __m512 d2 = _mm512_castsi512_ps(_mm512_unpacklo_epi16(wh, uh)), d3 = _mm512_castsi512_ps(_mm512_unpackhi_epi16(wh, uh));
        if (s && left >= 64) { /* one group's scale for the block */
            const __m512 vs = _mm512_set1_ps(s[g]);
            d0 = _mm512_mul_ps(d0, vs); d1 = _mm512_mul_ps(d1, vs);
            d2 = _mm512_mul_ps(d2, vs); d3 = _mm512_mul_ps(d3, vs);
        } else if (s) { /* the block crosses groups (group 16, 32, 48): vector j's group */
            size_t g1 = g + (left <= 16), g2 = g + (left <= 32) + (left + group <= 32);
            size_t g3 = g + (left <= 48) + (left + group <= 48) + (left + 2 * group <= 48);
            d0 = _mm512_mul_ps(d0, _mm512_set1_ps(s[g]));
            d1 = _mm512_mul_ps(d1, _mm512_set1_ps(s[g1]));
            d2 = _mm512_mul_ps(d2, _mm512_set1_ps(s[g2]));
            d3 = _mm512_mul_ps(d3, _mm512_set1_ps(s[g3]));
        } /* no scale: x * 1.0f is x, the reference's product */
        store64(out + i, d0, d1, d2, d3, nt);
        if (left > 64) left -= 64;
        else { /* left was a multiple of 16 */
            size_t step = 64;
            while (step >= left) { step -= left; g++; left = group; }
            left -= step;
        }
    }
    if (nt) _mm_sfence();
    for (; i < n; i++) {
        out[i] = lut[codes[i]] * (s ? s[g] : 1.0f);
        if (!--left) { g++; left = group; }
    }
}

VBMI static void lut8_vbmi(const uint8_t *codes, size_t n_groups, size_t group, const float *lut, size_t lut_stride,
                           const float *s, float *out, int nt)
{
    if (lut_stride || group % 16) /* one table per group, or groups that split a vector */
        lut8_avx512(codes, n_groups, group, lut, lut_stride, s, out);
    else if (nt && (uintptr_t)out % 64 == 0)
        lut8_vbmi_run(codes, n_groups, group, lut, s, out, 1);
    else
        lut8_vbmi_run(codes, n_groups, group, lut, s, out, 0);
}

/* 4-bit codes with VBMI: the group's scaled 16-entry table is one zmm.
 * vpermb copies code byte d/2 into dword d of 16 values, a shift by 4 on
 * the odd dwords brings their high nibble down, and vpermps, which reads
 * only the low 4 bits of each index, looks the 16 values up: 3 instructions
 * per 16 values against 5 per 8 in lut_avx2. Groups of a multiple of 16
 * values (others go to lut_avx2); nt as lut8_vbmi_run. */
VBMI __attribute__((always_inline)) static inline void lut4_vbmi_run(const uint8_t *codes, size_t n_groups,
                                                                     size_t group, const float *lut,
                                                                     size_t lut_stride, const float *s, float *out,
                                                                     int nt)
{
    const __m512i sh = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
    const __m512i c0 = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i c8 = _mm512_add_epi32(c0, _mm512_set1_epi32(8)), c16 = _mm512_add_epi32(c0, _mm512_set1_epi32(16));
    const __m512i c24 = _mm512_add_epi32(c0, _mm512_set1_epi32(24));
    for (size_t g = 0; g < n_groups; g++, codes += group / 2, out += group) {
        const __m512 T = _mm512_mul_ps(_mm512_loadu_ps(lut + g * lut_stride), _mm512_set1_ps(s ? s[g] : 1.0f));
        size_t i = 0;
        for (; i + 64 <= group; i += 64) {
            __m512i c = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(codes + i / 2)));
            __m512 d0 = _mm512_permutexvar_ps(_mm512_srlv_epi32(_mm512_permutexvar_epi8(c0, c), sh), T);
            __m512 d1 = _mm512_permutexvar_ps(_mm512_srlv_epi32(_mm512_permutexvar_epi8(c8, c), sh), T);
            __m512 d2 = _mm512_permutexvar_ps(_mm512_srlv_epi32(_mm512_permutexvar_epi8(c16, c), sh), T);
            __m512 d3 = _mm512_permutexvar_ps(_mm512_srlv_epi32(_mm512_permutexvar_epi8(c24, c), sh), T);
            store64(out + i, d0, d1, d2, d3, nt);
        }
        for (; i < group; i += 16) {
            __m512i c = _mm512_castsi128_si512(_mm_loadl_epi64((const __m128i *)(codes + i / 2)));
            __m512 d = _mm512_permutexvar_ps(_mm512_srlv_epi32(_mm512_permutexvar_epi8(c0, c), sh), T);
            if (nt) _mm512_stream_ps(out + i, d);
            else _mm512_storeu_ps(out + i, d);
        }
    }
    if (nt) _mm_sfence();
}

VBMI static void lut4_vbmi(const uint8_t *codes, size_t n_groups, size_t group, const float *lut, size_t lut_stride,
                           const float *s, float *out, int nt)
{
    if (group % 16) lut_avx2(codes, n_groups, group, 4, lut, lut_stride, s, out);
    else if (nt && (uintptr_t)out % 64 == 0) lut4_vbmi_run(codes, n_groups, group, lut, lut_stride, s, out, 1);
    else lut4_vbmi_run(codes, n_groups, group, lut, lut_stride, s, out, 0);
}

VBMI static void lut_vbmi(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                          size_t lut_stride, const float *s, float *out)
{
    if (bits == 8) lut8_vbmi(codes, n_groups, group, lut, lut_stride, s, out, 0);
    else if (bits == 4) lut4_vbmi(codes, n_groups, group, lut, lut_stride, s, out, 0);
    else lut_avx2(codes, n_groups, group, bits, lut, lut_stride, s, out);
}

VBMI static void lut_vbmi_nt(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                             size_t lut_stride, const float *s, float *out)
{
    if (bits == 8) lut8_vbmi(codes, n_groups, group, lut, lut_stride, s, out, 1);
    else if (bits == 4) lut4_vbmi(codes, n_groups, group, lut, lut_stride, s, out, 1);
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

/* Values i.. of one group (group - i a multiple of 8), 16 then 8 at a time. */
F16C __attribute__((always_inline)) static inline void fp8_rest(const uint8_t *codes, size_t group, size_t i,
                                                                __m256 vs, float *out, int e4m3, int nt)
{
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
        fp8_rest(codes, group, 0, _mm256_set1_ps(ss), out, e4m3, nt);
    }
    if (nt) _mm_sfence();
}

/* AVX-512: 32 codes -> 32 f16 (fp8_to_h16 on 512 bits) -> two float
 * vectors per step, half the instructions per value of fp8_groups; the
 * rest of a group (group % 32) goes through fp8_rest. nt: streaming stores
 * when out is 64-byte aligned and groups keep it so (group % 16 == 0). */
#define FP8_512 __attribute__((target("avx512f,avx512bw,avx2,f16c")))
FP8_512 __attribute__((always_inline)) static inline void fp8_group512(const uint8_t *codes, size_t group, float ss,
                                                                       float *out, int e4m3, int nt)
{
    const __m512i c7f = _mm512_set1_epi16(0x7f), c7fff = _mm512_set1_epi16(0x7fff), c7c00 = _mm512_set1_epi16(0x7c00);
    const __m512i qnan = _mm512_set1_epi16(0x7e00), csign = _mm512_set1_epi16((short)0x8000);
    const __m512 vs = _mm512_set1_ps(ss);
    size_t i = 0;
    for (; i + 32 <= group; i += 32) {
        __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(codes + i)));
        __m512i sign = _mm512_and_si512(_mm512_slli_epi16(x, 8), csign), h;
        __mmask32 nan;
        if (e4m3) {
            __m512i mag = _mm512_and_si512(x, c7f);
            h = _mm512_or_si512(sign, _mm512_slli_epi16(mag, 7));
            nan = _mm512_cmpeq_epi16_mask(mag, c7f);
        } else {
            h = _mm512_slli_epi16(x, 8);
            nan = _mm512_cmpgt_epi16_mask(_mm512_and_si512(h, c7fff), c7c00);
        }
        h = _mm512_mask_blend_epi16(nan, h, _mm512_or_si512(sign, qnan));
        __m512 a = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(h)), vs);
        __m512 b = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1)), vs);
        if (nt) { _mm512_stream_ps(out + i, a); _mm512_stream_ps(out + i + 16, b); }
        else { _mm512_storeu_ps(out + i, a); _mm512_storeu_ps(out + i + 16, b); }
    }
    if (i < group) fp8_rest(codes, group, i, _mm256_set1_ps(ss), out, e4m3, nt);
}

/* Scales 16 groups at a time: their products and finiteness in one vector;
 * a batch without a non-finite product runs without the reference's
 * fallback (a call, which would make the loop reload its constants). */
FP8_512 __attribute__((always_inline)) static inline void fp8_groups512(const uint8_t *codes, size_t n_groups,
                                                                        size_t group, const float *lut,
                                                                        const float *s, float *out, int e4m3, int nt)
{
    nt = nt && ((uintptr_t)out & 63) == 0 && group % 16 == 0;
    const __m512 vpre = _mm512_set1_ps(e4m3 ? 256.0f : 1.0f);
    const __m512i cexp = _mm512_set1_epi32(0x7f800000);
    for (size_t g0 = 0; g0 < n_groups; g0 += 16) {
        size_t ng = n_groups - g0 < 16 ? n_groups - g0 : 16;
        __mmask16 live = (__mmask16)((1u << ng) - 1);
        __m512 sv = s ? _mm512_maskz_loadu_ps(live, s + g0) : _mm512_set1_ps(1.0f);
        float ss[16];
        _mm512_storeu_ps(ss, _mm512_mul_ps(sv, vpre));
        /* not finite: exponent field all ones */
        __mmask16 inf = _mm512_mask_cmpeq_epi32_mask(live, _mm512_and_si512(_mm512_loadu_si512(ss), cexp), cexp);
        if (!inf) {
            for (size_t k = 0; k < ng; k++, codes += group, out += group) fp8_group512(codes, group, ss[k], out, e4m3, nt);
            continue;
        }
        for (size_t k = 0; k < ng; k++, codes += group, out += group) {
            if (inf >> k & 1) tp_lut_ref(codes, 1, group, 8, lut, 0, s ? s + g0 + k : NULL, out);
            else fp8_group512(codes, group, ss[k], out, e4m3, nt);
        }
    }
    if (nt) _mm_sfence();
}

/* The kernel table's signature over the two fp8 group loops: format and
 * store kind fixed per entry. */
#define FP8_ENTRY(attr, name, loop, e4m3, nt)                                                                      \
    attr static void name(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut, \
                          size_t lut_stride, const float *s, float *out)                                       \
    {                                                                                                           \
        (void)bits; (void)lut_stride;                                                                           \
        loop(codes, n_groups, group, lut, s, out, e4m3, nt);                                                    \
    }

FP8_ENTRY(FP8_512, fp8_e4m3_512, fp8_groups512, 1, 0)
FP8_ENTRY(FP8_512, fp8_e4m3_512_nt, fp8_groups512, 1, 1)
FP8_ENTRY(FP8_512, fp8_e5m2_512, fp8_groups512, 0, 0)
FP8_ENTRY(FP8_512, fp8_e5m2_512_nt, fp8_groups512, 0, 1)

FP8_ENTRY(F16C, fp8_e4m3_f16c, fp8_groups, 1, 0)
FP8_ENTRY(F16C, fp8_e4m3_f16c_nt, fp8_groups, 1, 1)
FP8_ENTRY(F16C, fp8_e5m2_f16c, fp8_groups, 0, 0)
FP8_ENTRY(F16C, fp8_e5m2_f16c_nt, fp8_groups, 0, 1)
#undef FP8_ENTRY
#endif

tp_lut_fn tp_lut_variant(int i)
{
    if (i == 0) return tp_lut_ref;
#if defined(__x86_64__)
    unsigned f = tp_cpu_features(), need = TP_CPU_AVX2 | TP_CPU_FMA;
    if ((f & need) != need) return NULL;
    if (i == 1) return lut_avx2;
    if (i == 2) return (f & TP_CPU_AVX512) ? lut_avx512 : NULL;
    if (i == 3) return (f & TP_CPU_AVX512VBMI) ? lut_vbmi : NULL;
    if (i == 4) return (f & TP_CPU_AVX512VBMI) ? lut_vbmi_nt : NULL;
#endif
    return NULL;
}


tp_lut_fn tp_lut_for(uint64_t out_bytes)
{
    tp_lut_fn k = out_bytes >= tp_cpu_stream_bytes() ? tp_lut_variant(4) : NULL;
    return k ? k : tp_lut_best();
}

tp_lut_fn tp_lut_best(void)
{
    for (int i = 3; i > 0; i--)
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
    if (!(tp_cpu_features() & TP_CPU_AVX512VBMI)) return NULL; /* the flag includes AVX-512BW */
    if (i == 3) return format == TP_FP8_E4M3 ? fp8_e4m3_512 : fp8_e5m2_512;
    if (i == 4) return format == TP_FP8_E4M3 ? fp8_e4m3_512_nt : fp8_e5m2_512_nt;
#endif
    return NULL;
}

tp_lut_fn tp_fp8_kernel_best(int format, uint64_t out_bytes)
{
    int nt = out_bytes >= tp_cpu_stream_bytes();
    for (int i = 3 + nt; i > 0; i -= 2)
        if (tp_fp8_kernel_variant(format, i)) return tp_fp8_kernel_variant(format, i);
    return tp_lut_ref;
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
    const uint8_t *stored; /* scales in stored form (s NULL), f32 or f16 */
    int f32;
} lut_job;

#define RANGE_VALUES 65536 /* values per parallel range: 256 KiB of output */

static size_t lut_groups(void *ctx, uint64_t lo, uint64_t hi)
{
    const lut_job *J = ctx;
    size_t g = (size_t)J->G->group;
    if (!J->stored) {
        J->k(J->codes + lo * g / 8 * J->bits, (size_t)(hi - lo), g, J->bits, J->lut + lo * J->lut_stride,
             J->lut_stride, J->s ? J->s + lo : NULL, J->out + lo * g);
        return 0;
    }
    float sb[RANGE_VALUES / 8]; /* the scales of up to RANGE_VALUES values, group >= 8 */
    const uint64_t step = RANGE_VALUES / g;
    for (uint64_t a = lo; a < hi; a += step) {
        uint64_t b = hi - a < step ? hi : a + step;
        tp_scales_get_n(J->f32, J->stored + a * (J->f32 ? 4 : 2), b - a, sb);
        J->k(J->codes + a * g / 8 * J->bits, (size_t)(b - a), g, J->bits, J->lut, 0, sb, J->out + a * g);
    }
    return 0;
}

static size_t lut_values(void *ctx, uint64_t lo, uint64_t hi)
{
    const lut_job *J = ctx;
    J->k(J->codes + lo / 8 * J->bits, 1, (size_t)(hi - lo), J->bits, J->lut, 0, J->s, J->out + lo);
    return 0;
}

/* Groups of one size that tile the rows: whole groups per range. */
static int whole_groups(const tp_grouping *G)
{
    return G->mode == TP_GROUPING_GROUP && G->group % 8 == 0 && G->row_len % G->group == 0;
}

size_t tp_lut_decode_stored(tp_lut_fn k, const tp_grouping *G, const uint8_t *codes, unsigned bits, const float *lut,
                            int f32, const uint8_t *scales, float *out)
{
    if (whole_groups(G)) {
        lut_job J = {k, G, codes, bits, lut, NULL, 0, out, scales, f32};
        uint64_t per = RANGE_VALUES / G->group;
        tp_parallel_ranges(G->n_groups, per ? per : 1, lut_groups, &J);
        return 0;
    }
    float *s = malloc((G->n_groups ? G->n_groups : 1) * sizeof *s);
    if (!s) return tp_fail(TP_ERR_NOMEM, "scale table");
    tp_scales_get_n(f32, scales, G->n_groups, s);
    tp_lut_decode(k, G, codes, bits, lut, 0, s, out);
    free(s);
    return 0;
}

void tp_lut_decode(tp_lut_fn k, const tp_grouping *G, const uint8_t *codes, unsigned bits, const float *lut,
                   size_t lut_stride, const float *s, float *out)
{
    lut_job J = {k, G, codes, bits, lut, s, lut_stride, out, NULL, 0};
    if (whole_groups(G)) {
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
