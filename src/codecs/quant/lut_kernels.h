/* Table-lookup dequantization shared by the codebook quantizers (kmeans,
 * nf, log, fp8): out = lut_g[code] * s_g. Group g's codes start
 * byte-aligned `group` values after group g-1's (group a multiple of 8), its
 * table is lut + g * lut_stride (stride 0: one table for all) and s may be
 * NULL (scale 1). The portable reference is chosen at run time against the
 * AVX2 version (permute lookup for <= 4-bit codes, gather above) and, for
 * 8-bit codes with AVX-512F, a 256-entry lookup in registers (8 two-table
 * permutes of 32 floats, merged by the top 3 code bits) or, with AVX-512
 * VBMI, a byte-plane lookup of 64 codes at a time (vpermt2b); all give
 * bit-identical results. fp8 has its own conversion kernels (F16C) with the
 * same signature, whose reference is tp_lut_ref over the fp8 table. */
#ifndef TP_CODECS_LUT_KERNELS_H
#define TP_CODECS_LUT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "codecs/quant/groups.h"

typedef void (*tp_lut_fn)(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                          size_t lut_stride, const float *s, float *out);

void tp_lut_ref(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *lut,
                size_t lut_stride, const float *s, float *out);
/* Best kernel for this CPU (honours TP_CPU_MASK). */
tp_lut_fn tp_lut_best(void);
/* Every kernel this CPU can run, for tests: variant 0 is the reference,
 * then AVX2, AVX-512, AVX-512 VBMI, and 4 the VBMI kernel with
 * non-temporal stores (64-byte aligned outputs; plain stores otherwise);
 * NULL past the last or when the CPU lacks one. */
tp_lut_fn tp_lut_variant(int i);
/* tp_lut_best(), or the streaming variant for outputs of at least
 * tp_cpu_stream_bytes(). */
tp_lut_fn tp_lut_for(uint64_t out_bytes);

/* fp8 decode without a table: kernels of the tp_lut_fn signature for codes
 * of `format` (TP_FP8_E4M3/E5M2, bits 8) that convert each code through
 * F16C (e5m2 is the top byte of an f16; e4m3 is an f16 bit pattern shifted
 * by 7 and rescaled by 2^8, folded into the group scale) and so ignore lut.
 * The result equals tp_lut_ref over lut[c] = tp_fp8_to_f32(format, c), bit
 * for bit, NaN codes included (they give the quiet NaN with the code's sign).
 * tp_fp8_kernel_best returns tp_lut_ref where the CPU lacks AVX2+F16C. */
tp_lut_fn tp_fp8_kernel_best(int format, uint64_t out_bytes);
/* For tests: variant 0 is tp_lut_ref, 1 the F16C kernel, 2 the F16C kernel
 * with non-temporal stores, 3 and 4 the same on AVX-512BW (NULL if
 * absent). */
tp_lut_fn tp_fp8_kernel_variant(int format, int i);

/* Decodes every value of grouping G with kernel k (fast paths for aligned
 * groups, per-tensor and aligned channels; bit-by-bit elsewhere). Group
 * gid's table is lut + gid * lut_stride, its scale s[gid] (s may be NULL). */
void tp_lut_decode(tp_lut_fn k, const tp_grouping *G, const uint8_t *codes, unsigned bits, const float *lut,
                   size_t lut_stride, const float *s, float *out);
/* tp_lut_decode (lut_stride 0) with the group scales in their stored form
 * (tp_scales_get_n: f32 or f16 at scales), converted range by range as the
 * ranges are decoded rather than into a whole-tensor table first (for
 * 32-value groups that table was a 2 MiB allocation, page faults included,
 * per 64 MiB decode). Returns 0 or a TP_ERR_NOMEM error. */
size_t tp_lut_decode_stored(tp_lut_fn k, const tp_grouping *G, const uint8_t *codes, unsigned bits, const float *lut,
                            int f32, const uint8_t *scales, float *out);

#endif
