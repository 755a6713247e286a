/* Kernels of the int codec, each a portable scalar reference plus an AVX2
 * version picked at run time (tp_cpu_features, honouring TP_CPU_MASK).
 *
 * They work on runs of whole groups: `group` values per group (a multiple
 * of 8), groups one after another, and their codes byte-aligned one group
 * after another (8 codes of b bits fill exactly b bytes).
 *
 * The encode kernels are exact: the AVX2 versions return the same bits as
 * the references (the frame format depends on them). The AVX2 dequant uses
 * FMA, so it may differ from the reference in the last bit of a value. */
#ifndef TP_CODECS_INT_KERNELS_H
#define TP_CODECS_INT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* out = code * s[g] + off[g] for each group g. */
typedef void (*tp_dequant_fn)(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits,
                              const float *s, const float *off, float *out);

void tp_dequant_ref(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *s,
                    const float *off, float *out);
/* Best kernel for this CPU (honours TP_CPU_MASK). */
tp_dequant_fn tp_dequant_best(void);
/* Best kernel to write out_bytes at out: with non-temporal (streaming)
 * stores when the output is at least tp_cpu_stream_bytes() and out is
 * 16-byte aligned, else tp_dequant_best().
 * Groups must then start 16-byte aligned too (group % 8 == 0 does it). */
tp_dequant_fn tp_dequant_for(const float *out, size_t out_bytes);

/* Quantizes n values: code = clamp(round((x - off) * inv), 0, qmax). */
void tp_quant_run(const float *x, size_t n, float inv, float off, unsigned qmax, uint8_t *codes);

/* Statistics of each group g, as the reference loop defines them: lo[g] =
 * min and hi[g] = max (of equal values the first one, which matters only
 * for the sign of a zero), big[g] = the value of largest magnitude (the
 * first one on ties; +0 for a group of zeros). Returns 1 if a value is NaN
 * or Inf (the outputs are then unspecified), else 0. */
typedef int (*tp_group_stats_fn)(const float *x, size_t n_groups, size_t group, float *lo, float *hi, float *big);

int tp_group_stats_ref(const float *x, size_t n_groups, size_t group, float *lo, float *hi, float *big);
tp_group_stats_fn tp_group_stats_best(void);

/* Quantizes group g with tp_quant_run(x, group, inv[g], off[g], 2^bits - 1)
 * and bit-packs the codes: group g's codes start at codes + g*group*bits/8. */
typedef void (*tp_quant_fn)(const float *x, size_t n_groups, size_t group, unsigned bits, const float *inv,
                            const float *off, uint8_t *codes);

void tp_quant_groups_ref(const float *x, size_t n_groups, size_t group, unsigned bits, const float *inv,
                         const float *off, uint8_t *codes);
tp_quant_fn tp_quant_best(void);

#endif
