/* Table-lookup dequantization shared by the codebook quantizers (kmeans,
 * nf, log, fp8): out = lut_g[code] * s_g. Group g's codes start
 * byte-aligned `group` values after group g-1's (group a multiple of 8), its
 * table is lut + g * lut_stride (stride 0: one table for all) and s may be
 * NULL (scale 1). The portable reference is chosen at run time against the
 * AVX2 version (permute lookup for <= 4-bit codes, gather above); both give
 * bit-identical results. */
#ifndef TP_CODECS_LUT_KERNELS_H
#define TP_CODECS_LUT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "codecs/groups.h"

typedef void (*tp_lut_fn)(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                          size_t lut_stride, const float *s, float *out);

void tp_lut_ref(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                size_t lut_stride, const float *s, float *out);
/* Best kernel for this CPU (honours TP_CPU_MASK). */
tp_lut_fn tp_lut_best(void);

/* Decodes every value of grouping G with kernel k (fast paths for aligned
 * groups, per-tensor and aligned channels; bit-by-bit elsewhere). Group
 * gid's table is lut + gid * lut_stride, its scale s[gid] (s may be NULL). */
void tp_lut_decode(tp_lut_fn k, const tp_grouping *G, const uint8_t *codes, unsigned bits, const float *lut,
                   size_t lut_stride, const float *s, float *out);

#endif
