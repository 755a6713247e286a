#include "codecs/quant/int_kernels.h"

#include <math.h>

#include "core/bitpack.h"
#include "core/cpu.h"

/* ---- portable references ----------------------------------------------- */

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
        /* NaN (inv = Inf for a subnormal f32 scale, times 0) must become
         * code 0 explicitly: converting NaN to an integer is undefined, and
         * gave 0 with SSE but 0xFF with AVX-512's unsigned conversions,
         * so frames depended on -march. */
        v = !(v >= 0.0f) ? 0.0f : (v > top ? top : v);
        codes[i] = (uint8_t)(v + 0.5f);
    }
}

/* The rules the AVX2 version must reproduce bit for bit. */
static float first_min(const float *x, size_t n)
{
    float lo = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] < lo) lo = x[i];
    return lo;
}

static float first_max(const float *x, size_t n)
{
    float hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > hi) hi = x[i];
    return hi;
}

int tp_group_stats_ref(const float *x, size_t n_groups, size_t group, float *lo, float *hi, float *big)
{
    for (size_t g = 0; g < n_groups; g++, x += group) {
        float b = 0.0f;
        for (size_t i = 0; i < group; i++) {
            if (!isfinite(x[i])) return 1;
            if (fabsf(x[i]) > fabsf(b)) b = x[i];
        }
        lo[g] = first_min(x, group);
        hi[g] = first_max(x, group);
        big[g] = b;
    }
    return 0;
}

void tp_quant_groups_ref(const float *x, size_t n_groups, size_t group, unsigned bits, const float *inv,
                         const float *off, uint8_t *codes)
{
    uint8_t q[256];
    const unsigned qmax = (1u << bits) - 1;
    for (size_t g = 0; g < n_groups; g++, x += group) {
        for (size_t i = 0; i < group; i += 256) {
            size_t m = group - i < 256 ? group - i : 256;
            tp_quant_run(x + i, m, inv[g], off[g], qmax, q);
            tp_pack8(codes, q, m, bits);
            codes += m * bits / 8;
        }
    }
}

/* ---- AVX2 -------------------------------------------------------------- */

#if defined(__x86_64__)
#include <immintrin.h>

/* Decode. Stores are ordinary, or non-temporal for outputs too large to
 * stay in the last-level cache (they skip the read-for-ownership of every
 * destination line and do not evict the codes); 256-bit streaming stores
 * need 32-byte aligned addresses, 128-bit ones 16-byte aligned. */
enum { ST_PLAIN, ST_STREAM256, ST_STREAM128 };

__attribute__((target("avx2,fma"), always_inline)) static inline void store8(float *out, __m128i bytes8, __m256 s,
                                                                            __m256 o, int mode)
{
    __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes8)), s, o);
    if (mode == ST_STREAM256) _mm256_stream_ps(out, v);
    else if (mode == ST_STREAM128) {
        _mm_stream_ps(out, _mm256_castps256_ps128(v));
        _mm_stream_ps(out + 4, _mm256_extractf128_ps(v, 1));
    } else _mm256_storeu_ps(out, v);
}

/* 8 codes of 8 bits at c -> 8 floats. */
__attribute__((target("avx2,fma"), always_inline)) static inline void dq8x8(float *out, const uint8_t *c, __m256 s,
                                                                           __m256 o, int mode)
{
    store8(out, _mm_loadl_epi64((const __m128i *)c), s, o, mode);
}

/* 32 codes of 4 bits (16 bytes) at c -> 32 floats. */
__attribute__((target("avx2,fma"), always_inline)) static inline void dq4x32(float *out, const uint8_t *c, __m256 s,
                                                                            __m256 o, int mode)
{
    const __m128i lo_mask = _mm_set1_epi8(0x0f);
    __m128i b = _mm_loadu_si128((const __m128i *)c);
    __m128i lo = _mm_and_si128(b, lo_mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), lo_mask);
    __m128i a = _mm_unpacklo_epi8(lo, hi), d = _mm_unpackhi_epi8(lo, hi);
    store8(out, a, s, o, mode);
    store8(out + 8, _mm_srli_si128(a, 8), s, o, mode);
    store8(out + 16, d, s, o, mode);
    store8(out + 24, _mm_srli_si128(d, 8), s, o, mode);
}

/* 8 codes of 4 bits (4 bytes) at c -> 8 floats. */
__attribute__((target("avx2,fma"), always_inline)) static inline void dq4x8(float *out, const uint8_t *c, __m256 s,
                                                                           __m256 o, int mode)
{
    const __m128i lo_mask = _mm_set1_epi8(0x0f);
    uint32_t w;
    __builtin_memcpy(&w, c, 4);
    __m128i b = _mm_cvtsi32_si128((int)w);
    __m128i lo = _mm_and_si128(b, lo_mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), lo_mask);
    store8(out, _mm_unpacklo_epi8(lo, hi), s, o, mode);
}

/* Returns 0 if bits has no AVX2 path (the caller uses the reference). */
__attribute__((target("avx2,fma"), always_inline)) static inline int dequant_avx2_body(
    const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *s, const float *off, float *out,
    int mode)
{
    if (bits == 8 && group == 32) { /* the common case, unrolled */
        for (size_t g = 0; g < n_groups; g++, codes += 32, out += 32) {
            __m256 vs = _mm256_broadcast_ss(s + g), vo = _mm256_broadcast_ss(off + g);
            dq8x8(out, codes, vs, vo, mode);
            dq8x8(out + 8, codes + 8, vs, vo, mode);
            dq8x8(out + 16, codes + 16, vs, vo, mode);
            dq8x8(out + 24, codes + 24, vs, vo, mode);
        }
    } else if (bits == 4 && group == 32) {
        for (size_t g = 0; g < n_groups; g++, codes += 16, out += 32)
            dq4x32(out, codes, _mm256_broadcast_ss(s + g), _mm256_broadcast_ss(off + g), mode);
    } else if (bits == 8) {
        for (size_t g = 0; g < n_groups; g++) {
            __m256 vs = _mm256_broadcast_ss(s + g), vo = _mm256_broadcast_ss(off + g);
            for (size_t i = 0; i < group; i += 8, codes += 8, out += 8) dq8x8(out, codes, vs, vo, mode);
        }
    } else if (bits == 4) {
        for (size_t g = 0; g < n_groups; g++) {
            __m256 vs = _mm256_broadcast_ss(s + g), vo = _mm256_broadcast_ss(off + g);
            size_t i = 0;
            for (; i + 32 <= group; i += 32, codes += 16, out += 32) dq4x32(out, codes, vs, vo, mode);
            for (; i < group; i += 8, codes += 4, out += 8) dq4x8(out, codes, vs, vo, mode);
        }
    } else {
        return 0;
    }
    return 1;
}

__attribute__((target("avx2,fma"))) static void dequant_avx2(const uint8_t *codes, size_t n_groups, size_t group,
                                                           unsigned bits, const float *s, const float *off,
                                                           float *out)
{
    if (!dequant_avx2_body(codes, n_groups, group, bits, s, off, out, ST_PLAIN))
        tp_dequant_ref(codes, n_groups, group, bits, s, off, out);
}

__attribute__((target("avx2,fma"))) static void dequant_avx2_stream256(const uint8_t *codes, size_t n_groups,
                                                                     size_t group, unsigned bits, const float *s,
                                                                     const float *off, float *out)
{
    if (!dequant_avx2_body(codes, n_groups, group, bits, s, off, out, ST_STREAM256))
        tp_dequant_ref(codes, n_groups, group, bits, s, off, out);
    _mm_sfence(); /* order the streaming stores before whatever follows */
}

__attribute__((target("avx2,fma"))) static void dequant_avx2_stream128(const uint8_t *codes, size_t n_groups,
                                                                     size_t group, unsigned bits, const float *s,
                                                                     const float *off, float *out)
{
    if (!dequant_avx2_body(codes, n_groups, group, bits, s, off, out, ST_STREAM128))
        tp_dequant_ref(codes, n_groups, group, bits, s, off, out);
    _mm_sfence();
}

/* AVX-512F: 16 codes of 8 bits per step (one widening load, a convert,
 * the same fused multiply-add as the AVX2 path, one store): half the
 * instructions per value; other widths and groups that are not a multiple
 * of 16 take the AVX2 path. nt: streaming stores (out 64-byte aligned). */
#define INT512 __attribute__((target("avx512f,avx2,fma")))
INT512 __attribute__((always_inline)) static inline void dq8_groups512(const uint8_t *codes, size_t n_groups,
                                                                       const size_t group, const float *s,
                                                                       const float *off, float *out, int nt)
{
    for (size_t g = 0; g < n_groups; g++, codes += group, out += group) {
        const __m512 vs = _mm512_set1_ps(s[g]), vo = _mm512_set1_ps(off[g]);
        for (size_t i = 0; i < group; i += 16) {
            __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + i))));
            v = _mm512_fmadd_ps(v, vs, vo);
            if (nt) _mm512_stream_ps(out + i, v);
            else _mm512_storeu_ps(out + i, v);
        }
    }
}

INT512 static inline void dequant_avx512_any(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits,
                                             const float *s, const float *off, float *out, int nt)
{
    if (bits == 8 && group == 32) dq8_groups512(codes, n_groups, 32, s, off, out, nt); /* unrolled */
    else if (bits == 8 && group % 16 == 0) dq8_groups512(codes, n_groups, group, s, off, out, nt);
    else if (!dequant_avx2_body(codes, n_groups, group, bits, s, off, out, nt ? ST_STREAM256 : ST_PLAIN))
        tp_dequant_ref(codes, n_groups, group, bits, s, off, out);
}

INT512 static void dequant_avx512(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *s,
                                  const float *off, float *out)
{
    dequant_avx512_any(codes, n_groups, group, bits, s, off, out, 0);
}

INT512 static void dequant_avx512_stream(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits,
                                         const float *s, const float *off, float *out)
{
    dequant_avx512_any(codes, n_groups, group, bits, s, off, out, 1);
    _mm_sfence();
}

/* Encode: statistics. Only min/max/abs, compares and loads: exact. */

__attribute__((target("avx2"))) static inline float hmin8(__m256 v)
{
    __m128 a = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_min_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_min_ss(a, _mm_movehdup_ps(a)));
}

__attribute__((target("avx2"))) static inline float hmax8(__m256 v)
{
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_max_ss(a, _mm_movehdup_ps(a)));
}

__attribute__((target("avx2"))) static int group_stats_avx2(const float *x, size_t n_groups, size_t group, float *lo,
                                                          float *hi, float *big)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 inf = _mm256_set1_ps(INFINITY);
    for (size_t g = 0; g < n_groups; g++, x += group) {
        __m256 v = _mm256_loadu_ps(x);
        __m256 mn = v, mx = v, am = _mm256_and_ps(v, absmask);
        __m256 bad = _mm256_cmp_ps(am, inf, _CMP_NLT_UQ); /* |v| >= Inf or NaN */
        for (size_t i = 8; i < group; i += 8) {
            v = _mm256_loadu_ps(x + i);
            __m256 a = _mm256_and_ps(v, absmask);
            mn = _mm256_min_ps(mn, v);
            mx = _mm256_max_ps(mx, v);
            am = _mm256_max_ps(am, a);
            bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, inf, _CMP_NLT_UQ));
        }
        if (_mm256_movemask_ps(bad)) return 1;
        float l = hmin8(mn), h = hmax8(mx), a = hmax8(am);
        /* Equal floats differ only as +0/-0: the reference keeps the first
         * one, min/max instructions do not, so ask the reference then. */
        lo[g] = l == 0.0f ? first_min(x, group) : l;
        hi[g] = h == 0.0f ? first_max(x, group) : h;
        float b = 0.0f;
        if (a != 0.0f) {
            __m256 va = _mm256_set1_ps(a);
            for (size_t i = 0; i < group; i += 8) {
                __m256 w = _mm256_loadu_ps(x + i);
                int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(w, absmask), va, _CMP_EQ_OQ));
                if (m) { b = x[i + (size_t)__builtin_ctz((unsigned)m)]; break; }
            }
        }
        big[g] = b;
    }
    return 0;
}

/* Encode: quantization. sub, mul, max, min, add and truncation in the
 * order of tp_quant_run, no FMA (target avx2 only): exact. */

__attribute__((target("avx2"))) static inline __m256i quant8(const float *x, __m256 inv, __m256 off, __m256 top)
{
    __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x), off), inv);
    /* max(v, 0) turns -0 and NaN into +0: both give code 0 in the reference too */
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), top);
    return _mm256_cvttps_epi32(_mm256_add_ps(v, _mm256_set1_ps(0.5f)));
}

/* 32 values -> 32 byte codes in order. */
__attribute__((target("avx2"))) static inline __m256i quant32(const float *x, __m256 inv, __m256 off, __m256 top)
{
    __m256i a = _mm256_packus_epi32(quant8(x, inv, off, top), quant8(x + 8, inv, off, top));
    __m256i b = _mm256_packus_epi32(quant8(x + 16, inv, off, top), quant8(x + 24, inv, off, top));
    return _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

__attribute__((target("avx2"))) static void quant_groups_avx2(const float *x, size_t n_groups, size_t group,
                                                            unsigned bits, const float *inv, const float *off,
                                                            uint8_t *codes)
{
    const __m256 top = _mm256_set1_ps((float)((1u << bits) - 1));
    const __m256i nib = _mm256_set1_epi16(0x1001); /* byte pairs (a, b) -> a + 16 b */
    uint8_t q[256];
    for (size_t g = 0; g < n_groups; g++, x += group) {
        __m256 vi = _mm256_broadcast_ss(inv + g), vo = _mm256_broadcast_ss(off + g);
        size_t i = 0;
        if (bits == 8) {
            for (; i + 32 <= group; i += 32, codes += 32)
                _mm256_storeu_si256((__m256i *)codes, quant32(x + i, vi, vo, top));
        } else if (bits == 4) {
            for (; i + 32 <= group; i += 32, codes += 16) {
                __m256i p = _mm256_maddubs_epi16(quant32(x + i, vi, vo, top), nib);
                p = _mm256_permute4x64_epi64(_mm256_packus_epi16(p, p), 0x08);
                _mm_storeu_si128((__m128i *)codes, _mm256_castsi256_si128(p));
            }
        }
        /* other widths, and the tail of a group that is not a multiple of 32 */
        while (i < group) {
            size_t m = group - i < 256 ? group - i : 256, j = 0;
            for (; j + 32 <= m; j += 32) _mm256_storeu_si256((__m256i *)(q + j), quant32(x + i + j, vi, vo, top));
            tp_quant_run(x + i + j, m - j, inv[g], off[g], (1u << bits) - 1, q + j);
            tp_pack8(codes, q, m, bits);
            codes += m * bits / 8;
            i += m;
        }
    }
}
#endif

/* ---- dispatch ---------------------------------------------------------- */

tp_dequant_fn tp_dequant_best(void)
{
#if defined(__x86_64__)
    unsigned need = TP_CPU_AVX2 | TP_CPU_FMA, f = tp_cpu_features();
    if ((f & need) == need) return (f & TP_CPU_AVX512) ? dequant_avx512 : dequant_avx2;
#endif
    return tp_dequant_ref;
}

tp_dequant_fn tp_dequant_for(const float *out, size_t out_bytes)
{
#if defined(__x86_64__)
    unsigned need = TP_CPU_AVX2 | TP_CPU_FMA;
    if ((tp_cpu_features() & need) == need && out_bytes >= tp_cpu_stream_bytes()) {
        if ((uintptr_t)out % 64 == 0 && (tp_cpu_features() & TP_CPU_AVX512)) return dequant_avx512_stream;
        if ((uintptr_t)out % 32 == 0) return dequant_avx2_stream256;
        if ((uintptr_t)out % 16 == 0) return dequant_avx2_stream128;
    }
#endif
    (void)out;
    (void)out_bytes;
    return tp_dequant_best();
}

tp_group_stats_fn tp_group_stats_best(void)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_AVX2) return group_stats_avx2;
#endif
    return tp_group_stats_ref;
}

tp_quant_fn tp_quant_best(void)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_AVX2) return quant_groups_avx2;
#endif
    return tp_quant_groups_ref;
}
