#include "runtime/kv_rotate.h"

#include <math.h>

#include "core/rng.h"

void kv_rotation_signs(float *signs, uint32_t d, uint64_t seed)
{
    tp_rng r;
    tp_rng_seed(&r, seed);
    for (uint32_t i = 0; i < d; i++) signs[i] = (tp_rng_next(&r) >> 63) ? -1.0f : 1.0f;
}

/* Unnormalized fast Walsh-Hadamard transform: H x with H H = d I. */
static void hadamard(float *x, uint32_t d)
{
    for (uint32_t len = 1; len < d; len <<= 1)
        for (uint32_t i = 0; i < d; i += len << 1)
            for (uint32_t j = i; j < i + len; j++) {
                float a = x[j], b = x[j + len];
                x[j] = a + b;
                x[j + len] = a - b;
            }
}

void kv_rotate(float *x, const float *signs, uint32_t d)
{
    const float norm = 1.0f / sqrtf((float)d);
    for (uint32_t i = 0; i < d; i++) x[i] *= signs[i];
    hadamard(x, d);
    for (uint32_t i = 0; i < d; i++) x[i] *= norm;
}

void kv_unrotate(float *x, const float *signs, uint32_t d)
{
    const float norm = 1.0f / sqrtf((float)d);
    hadamard(x, d);
    for (uint32_t i = 0; i < d; i++) x[i] *= norm * signs[i];
}
