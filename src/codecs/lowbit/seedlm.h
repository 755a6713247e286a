/* Internals of the seedlm codec shared with its tests: the LFSR, the
 * state-to-value mapping, and the seed search (SIMD and scalar reference). */
#ifndef TP_CODECS_SEEDLM_H
#define TP_CODECS_SEEDLM_H

#include <stddef.h>
#include <stdint.h>

#define TP_SEEDLM_MIN_S 8
#define TP_SEEDLM_MAX_S 20
#define TP_SEEDLM_MAX_C 32
#define TP_SEEDLM_MAX_P 8

/* Feedback taps (exponents of the primitive polynomial, highest first,
 * 0-terminated) of the S-bit Fibonacci LFSR. */
const uint8_t *tp_seedlm_taps(unsigned S);

/* One step: b = XOR of bits (S - t) of x over the taps t;
 * x' = (x >> 1) | (b << (S - 1)). Period 2^S - 1 on nonzero states. */
static inline uint32_t tp_seedlm_step(uint32_t x, unsigned S)
{
    const uint8_t *t = tp_seedlm_taps(S);
    uint32_t b = 0;
    for (; *t; t++) b ^= x >> (S - *t);
    return (x >> 1) | ((b & 1u) << (S - 1));
}

/* Matrix entry of a state: (x - 2^(S-1)) / 2^(S-1), exact in f32. */
static inline float tp_seedlm_value(uint32_t x, unsigned S)
{
    return (float)((int32_t)x - (int32_t)(1u << (S - 1))) / (float)(1u << (S - 1));
}

/* Search result of one block. */
typedef struct {
    uint32_t seed; /* 1 .. 2^S - 1                      */
    uint8_t e;     /* exponent code 0..15                */
    int8_t q[TP_SEEDLM_MAX_P];
    float err;     /* the search's squared-error estimate */
} tp_seedlm_pick;

/* Searches every seed for nb blocks of C values w. ref=1 uses the scalar
 * reference; the result is identical either way and for any thread count. */
size_t tp_seedlm_search(const float *w, size_t nb, unsigned C, unsigned P, unsigned S, unsigned Q, int ebase,
                        unsigned threads, int ref, tp_seedlm_pick *out);

#endif
