/* Dequantization kernels of the int codec: out = code * s + off per group.
 * Groups are `group` values long (a multiple of 8) and their codes start
 * byte-aligned, one group after another. The reference version is portable
 * C; the AVX2 version is picked at run time and tested against it. */
#ifndef TP_CODECS_INT_KERNELS_H
#define TP_CODECS_INT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef void (*tp_dequant_fn)(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits,
                              const float *s, const float *off, float *out);

void tp_dequant_ref(const uint8_t *codes, size_t n_groups, size_t group, unsigned bits, const float *s,
                    const float *off, float *out);
/* Best kernel for this CPU (honours TP_CPU_MASK). */
tp_dequant_fn tp_dequant_best(void);

/* Quantizes n values: code = clamp(round((x - off) * inv), 0, qmax). */
void tp_quant_run(const float *x, size_t n, float inv, float off, unsigned qmax, uint8_t *codes);

#endif
