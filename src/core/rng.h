/* Seeded, platform-independent random numbers for the learned codecs
 * (sparsecode, autoenc): xorshift64 (Marsaglia 2003) and Box-Muller
 * normals. Same seed, same sequence on every machine. */
#ifndef TP_CORE_RNG_H
#define TP_CORE_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct { uint64_t s; } tp_rng;

static inline void tp_rng_seed(tp_rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (!r->s) r->s = 1;
}

static inline uint64_t tp_rng_next(tp_rng *r)
{
    r->s ^= r->s << 13; r->s ^= r->s >> 7; r->s ^= r->s << 17;
    return r->s;
}

/* Uniform in (0, 1). */
static inline double tp_rng_uniform(tp_rng *r) { return ((double)(tp_rng_next(r) >> 11) + 0.5) / 9007199254740992.0; }

/* Uniform integer in [0, n) (n > 0; the modulo bias is below 2^-40 for n < 2^24). */
static inline uint64_t tp_rng_below(tp_rng *r, uint64_t n) { return tp_rng_next(r) % n; }

static inline double tp_rng_normal(tp_rng *r)
{
    double u1 = tp_rng_uniform(r), u2 = tp_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
