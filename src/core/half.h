/* Exact scalar f16/bf16 <-> f32 conversions (round-to-nearest-even, NaN
 * payload top bits and Inf kept) plus batch versions that use F16C when the
 * CPU has it (checked at run time, compared with the scalar ones in tests). */
#ifndef TP_CORE_HALF_H
#define TP_CORE_HALF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t tp_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float tp_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline uint16_t tp_half_from_float(float f)
{
    uint32_t x = tp_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) /* Inf, or NaN made quiet with its top payload bits */
        return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0u));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to Inf */
    if (a < 0x38800000u) {
        /* Result is subnormal or zero: adding 0.5f aligns the value so the
         * FPU's own round-to-nearest-even leaves the 10 half mantissa bits
         * at the bottom of the sum. */
        float s = tp_bits_f32(a) + 0.5f;
        return (uint16_t)(sign | (tp_f32_bits(s) - 0x3f000000u));
    }
    uint32_t odd = (a >> 13) & 1u;
    a += 0xc8000fffu + odd; /* rebias exponent 127 -> 15, round half to even */
    return (uint16_t)(sign | (a >> 13));
}

static inline float tp_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        float v = (float)m * (1.0f / 16777216.0f); /* m * 2^-24, exact */
        return tp_bits_f32(sign | tp_f32_bits(v));
    }
    if (e == 31) /* Inf, or NaN made quiet (as F16C does) with its payload */
        return tp_bits_f32(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u));
    return tp_bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}

static inline uint16_t tp_bf16_from_float(float f)
{
    uint32_t x = tp_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

static inline float tp_bf16_to_float(uint16_t h) { return tp_bits_f32((uint32_t)h << 16); }

/* Batch conversions (F16C when available). */
void tp_half_to_float_n(float *dst, const uint16_t *src, size_t n);
void tp_half_from_float_n(uint16_t *dst, const float *src, size_t n);

#endif
