/* Internals of the codebook quantizers exposed for tests and fuzzers. */
#ifndef TP_CODECS_QUANT_FAMILY_H
#define TP_CODECS_QUANT_FAMILY_H

#include <stdint.h>

enum { TP_FP8_E4M3 = 0, TP_FP8_E5M2 = 1 };

/* f32 -> fp8, round to nearest even. saturate: finite values beyond the
 * largest finite fp8 become it (and so does +-Inf); otherwise overflow gives
 * NaN (E4M3) or Inf (E5M2). NaN gives a quiet NaN code. */
uint8_t tp_fp8_from_f32(int format, float f, int saturate);
/* fp8 -> f32, exact. */
float tp_fp8_to_f32(int format, uint8_t c);

/* nf levels for 2..8 bits in code order (ascending), see nf.c. */
void tp_nf_levels(unsigned bits, double *lv);

/* log levels (value of each code at scale 1) for bits and step, as the
 * encoder writes them (bits=2: the four levels {±1, ±2^-step}), see log.c. */
void tp_log_levels(unsigned bits, float step, float *lut);

#endif
