/* Kernels of the vq codec, each with a portable scalar reference and an
 * AVX2 version picked at run time (TP_CPU_MASK=0 forces the reference).
 * Both versions perform the same float operations in the same order (no
 * FMA contraction), so they return bit-identical results; the tests check it.
 *
 * Codebooks for assignment are stored transposed ("SoA"): cbT[j*kpad + k] is
 * coordinate j of entry k, kpad = K rounded up to 8, padding entries have
 * norm +Inf so they are never chosen. Distances are ||c||^2 - 2 y.c, ties go
 * to the lowest index. */
#ifndef TP_CODECS_VQ_KERNELS_H
#define TP_CODECS_VQ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Nearest entry for n vectors y[v*dim .. v*dim+dim) (dim 1..8). */
typedef void (*tp_vq_assign_fn)(const float *y, size_t n, unsigned dim, const float *cbT, const float *cnorm,
                                uint32_t kpad, uint32_t *idx);
void tp_vq_assign_ref(const float *y, size_t n, unsigned dim, const float *cbT, const float *cnorm, uint32_t kpad,
                      uint32_t *idx);
tp_vq_assign_fn tp_vq_assign_best(void);

/* Table gather: out[v*dim + j] = s * cb[idx[v]*dim + j] for v < n. */
typedef void (*tp_vq_gather_fn)(const uint32_t *idx, size_t n, unsigned dim, const float *cb, float s, float *out);
void tp_vq_gather_ref(const uint32_t *idx, size_t n, unsigned dim, const float *cb, float s, float *out);
tp_vq_gather_fn tp_vq_gather_best(void);

#endif
