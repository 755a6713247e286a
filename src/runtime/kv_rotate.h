/* A randomized Hadamard rotation of head vectors, R = H D / sqrt(d) with
 * D random signs from a seed (QuaRot, Ashkboos et al. 2024; QuIP#, Tseng
 * et al. 2024): orthogonal, so q.k is unchanged when both are rotated,
 * and it spreads outlier channels over all of them before quantization. */
#ifndef TP_RUNTIME_KV_ROTATE_H
#define TP_RUNTIME_KV_ROTATE_H

#include <stdint.h>

/* Signs for d values (d a power of two) from seed: +1 or -1 each. */
void kv_rotation_signs(float *signs, uint32_t d, uint64_t seed);
/* x <- R x and x <- R^T x, in place, for one vector of d values. */
void kv_rotate(float *x, const float *signs, uint32_t d);
void kv_unrotate(float *x, const float *signs, uint32_t d);

#endif
